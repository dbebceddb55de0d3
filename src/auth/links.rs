//! Signed links in emails, with an HMAC-SHA256 key kept in
//! `<data_dir>/keys/unsubscribe.key` (made at first start; hosts that serve one
//! deployment share it, like the signing keys):
//!
//! - unsubscribe: `<customer id>.<business id>.<MAC>`; works as long as the key does
//!   (marketing emails are read long after they are sent) and can only turn
//!   consent off;
//! - export downloads: `<export id>.<expiry>.<MAC>`; works until the expiry;
//! - upload slots: `<size>.<expiry>.<MAC>` over the customer, the upload and
//!   its size; lets that customer PUT exactly that file until the expiry;
//! - second-factor challenges (not in emails: the answer to a right password
//!   when the account has a second factor): `<kind>.<account>.<expiry>.<MAC>`;
//!   proves the password was right, for a few minutes.
//!
//! Keys for other uses (sealing second-factor secrets) are derived from it.

use std::path::Path;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use stampede_domain::identity::SubjectKind;
use stampede_domain::ids::{BusinessId, CustomerId};
use uuid::Uuid;

pub struct LinkKey {
    key: hmac::Key,
}

const MAC_BYTES: usize = 16;

impl LinkKey {
    /// The configured secret (`identity.link_secret`), else the key file.
    pub fn from_settings(settings: &crate::configuration::Settings) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        match &settings.identity.link_secret {
            Some(secret) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(secret.expose_secret().trim())
                    .map_err(|_| "identity.link_secret: is not base64".to_owned())?;
                if bytes.len() < 32 {
                    return Err("identity.link_secret: must hold at least 32 bytes".into());
                }
                Ok(Self { key: hmac::Key::new(hmac::HMAC_SHA256, &bytes) })
            }
            None => {
                let dir = settings.data_dir().join("keys");
                Self::load_or_create(&dir).map_err(|e| format!("{}: {e}", dir.display()))
            }
        }
    }

    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        stampede_store::private::dir(dir)?;
        let file = dir.join("unsubscribe.key");
        let secret = match std::fs::read(&file) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            _ => {
                let mut bytes = vec![0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let tmp = dir.join("unsubscribe.key.tmp");
                stampede_store::private::write_sync(&tmp, &bytes)?;
                std::fs::rename(&tmp, &file)?;
                bytes
            }
        };
        Ok(Self { key: hmac::Key::new(hmac::HMAC_SHA256, &secret) })
    }

    /// A key from raw bytes (tests).
    pub fn from_bytes(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    /// A 32-byte key of its own for `label`'s use.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&hmac::sign(&self.key, &[b"derive:".as_slice(), label].concat()).as_ref()[..32]);
        out
    }

    fn challenge_mac(&self, kind: SubjectKind, subject: Uuid, expires: i64) -> Vec<u8> {
        let data = [b"mfa-challenge:".as_slice(), kind.as_str().as_bytes(), subject.as_bytes(), &expires.to_be_bytes()]
            .concat();
        hmac::sign(&self.key, &data).as_ref()[..MAC_BYTES].to_vec()
    }

    /// A second-factor challenge: `subject`'s password was right; a code
    /// finishes the sign-in until `expires`.
    pub fn mfa_challenge(&self, kind: SubjectKind, subject: Uuid, expires: chrono::DateTime<chrono::Utc>) -> String {
        let at = expires.timestamp();
        let mac = URL_SAFE_NO_PAD.encode(self.challenge_mac(kind, subject, at));
        format!("{}.{}.{at}.{mac}", kind.as_str(), subject.simple())
    }

    /// Whose challenge this is, if genuine and not expired at `now`.
    pub fn verify_mfa_challenge(&self, token: &str, now: chrono::DateTime<chrono::Utc>) -> Option<(SubjectKind, Uuid)> {
        let mut parts = token.split('.');
        let (kind, subject, at, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let kind = SubjectKind::parse(kind)?;
        let subject = Uuid::try_parse(subject).ok()?;
        let at: i64 = at.parse().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let genuine = super::secret::same(&mac, &self.challenge_mac(kind, subject, at));
        (genuine && parts.next().is_none() && now.timestamp() < at).then_some((kind, subject))
    }

    fn mac(&self, customer: CustomerId, business: BusinessId) -> Vec<u8> {
        let data = [b"unsubscribe:".as_slice(), customer.0.as_bytes(), business.0.as_bytes()].concat();
        hmac::sign(&self.key, &data).as_ref()[..MAC_BYTES].to_vec()
    }

    fn download_mac(&self, id: Uuid, expires: i64) -> Vec<u8> {
        let data = [b"download:".as_slice(), id.as_bytes(), &expires.to_be_bytes()].concat();
        hmac::sign(&self.key, &data).as_ref()[..MAC_BYTES].to_vec()
    }

    /// A token that lets its holder download export `id` until `expires`.
    pub fn download_token(&self, id: Uuid, expires: chrono::DateTime<chrono::Utc>) -> String {
        let at = expires.timestamp();
        format!("{}.{at}.{}", id.simple(), URL_SAFE_NO_PAD.encode(self.download_mac(id, at)))
    }

    /// The export a download token names, if genuine and not expired at `now`.
    pub fn verify_download(&self, token: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Uuid> {
        let mut parts = token.split('.');
        let (id, at, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let id = Uuid::try_parse(id).ok()?;
        let at: i64 = at.parse().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        (super::secret::same(&mac, &self.download_mac(id, at)) && now.timestamp() < at).then_some(id)
    }

    fn upload_mac(&self, customer: CustomerId, upload: &str, size: u64, expires: i64) -> Vec<u8> {
        let data = [
            b"upload:".as_slice(),
            customer.0.as_bytes(),
            &size.to_be_bytes(),
            &expires.to_be_bytes(),
            upload.as_bytes(),
        ]
        .concat();
        hmac::sign(&self.key, &data).as_ref()[..MAC_BYTES].to_vec()
    }

    /// A slot: `customer` may PUT upload `upload` of exactly `size` bytes until `expires`.
    pub fn upload_slot(
        &self,
        customer: CustomerId,
        upload: &str,
        size: u64,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let at = expires.timestamp();
        format!("{size}.{at}.{}", URL_SAFE_NO_PAD.encode(self.upload_mac(customer, upload, size, at)))
    }

    /// The size a slot was issued for, if it is genuine, for this customer and
    /// upload, and not expired at `now`.
    pub fn verify_upload_slot(
        &self,
        slot: &str,
        customer: CustomerId,
        upload: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<u64> {
        let mut parts = slot.split('.');
        let (size, at, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let (size, at): (u64, i64) = (size.parse().ok()?, at.parse().ok()?);
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let genuine = super::secret::same(&mac, &self.upload_mac(customer, upload, size, at));
        (genuine && parts.next().is_none() && now.timestamp() < at).then_some(size)
    }

    /// The unsubscribe token of a customer's marketing from one business.
    pub fn token(&self, customer: CustomerId, business: BusinessId) -> String {
        let mac = URL_SAFE_NO_PAD.encode(self.mac(customer, business));
        format!("{}.{}.{mac}", customer.0.simple(), business.0.simple())
    }

    /// The customer and business a token names, if it is genuine.
    pub fn verify(&self, token: &str) -> Option<(CustomerId, BusinessId)> {
        let mut parts = token.split('.');
        let (customer, business, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let customer = CustomerId(Uuid::try_parse(customer).ok()?);
        let business = BusinessId(Uuid::try_parse(business).ok()?);
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let genuine = super::secret::same(&mac, &self.mac(customer, business));
        (genuine && parts.next().is_none()).then_some((customer, business))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_one_account_until_they_expire() {
        let key = LinkKey::from_bytes(&[3u8; 32]);
        let who = Uuid::now_v7();
        let now = chrono::Utc::now();
        let t = key.mfa_challenge(SubjectKind::Staff, who, now + chrono::Duration::minutes(5));
        assert_eq!(key.verify_mfa_challenge(&t, now), Some((SubjectKind::Staff, who)));
        assert_eq!(key.verify_mfa_challenge(&t, now + chrono::Duration::minutes(6)), None, "expired");
        let customer = t.replacen("staff", "customer", 1);
        assert_eq!(key.verify_mfa_challenge(&customer, now), None, "another kind");
        assert_eq!(key.verify_mfa_challenge(&format!("{t}.x"), now), None);
        assert_eq!(LinkKey::from_bytes(&[4u8; 32]).verify_mfa_challenge(&t, now), None, "another key");
        assert_ne!(key.derive(b"a"), key.derive(b"b"));
    }

    #[test]
    fn upload_slots_name_one_customer_one_upload_one_size_until_they_expire() {
        let dir = tempfile::tempdir().expect("dir");
        let key = LinkKey::load_or_create(dir.path()).expect("key");
        let (ada, bob) = (CustomerId(Uuid::now_v7()), CustomerId(Uuid::now_v7()));
        let now = chrono::Utc::now();
        let slot = key.upload_slot(ada, "u.pdf", 42, now + chrono::Duration::minutes(10));
        assert_eq!(key.verify_upload_slot(&slot, ada, "u.pdf", now), Some(42));
        assert_eq!(key.verify_upload_slot(&slot, bob, "u.pdf", now), None, "another customer");
        assert_eq!(key.verify_upload_slot(&slot, ada, "v.pdf", now), None, "another upload");
        assert_eq!(key.verify_upload_slot(&slot, ada, "u.pdf", now + chrono::Duration::minutes(11)), None, "expired");
        let bigger = slot.replacen("42.", "43.", 1);
        assert_eq!(key.verify_upload_slot(&bigger, ada, "u.pdf", now), None, "another size");
        assert_eq!(key.verify_upload_slot("", ada, "u.pdf", now), None);
    }

    #[test]
    fn download_tokens_expire() {
        let dir = tempfile::tempdir().expect("dir");
        let key = LinkKey::load_or_create(dir.path()).expect("key");
        let id = Uuid::now_v7();
        let now = chrono::Utc::now();
        let t = key.download_token(id, now + chrono::Duration::hours(1));
        assert_eq!(key.verify_download(&t, now), Some(id));
        assert_eq!(key.verify_download(&t, now + chrono::Duration::hours(2)), None, "expired");
        let longer = t.replacen(&format!(".{}.", (now + chrono::Duration::hours(1)).timestamp()), ".9999999999.", 1);
        assert_eq!(key.verify_download(&longer, now), None, "the expiry is signed");
    }

    #[test]
    fn tokens_verify_and_forgeries_do_not() {
        let dir = tempfile::tempdir().expect("dir");
        let key = LinkKey::load_or_create(dir.path()).expect("key");
        let who = (CustomerId(Uuid::now_v7()), BusinessId(Uuid::now_v7()));
        let t = key.token(who.0, who.1);
        assert_eq!(key.verify(&t), Some(who));
        // The same key after a restart.
        assert_eq!(LinkKey::load_or_create(dir.path()).expect("key").verify(&t), Some(who));
        let other = CustomerId(Uuid::now_v7());
        let forged = format!("{}.{}", other.0.simple(), t.split_once('.').map(|(_, m)| m).unwrap_or_default());
        assert_eq!(key.verify(&forged), None);
        // Nor for another business of the same customer.
        let (_, rest) = t.split_once('.').unwrap_or_default();
        let mac = rest.split_once('.').map(|(_, m)| m).unwrap_or_default();
        let elsewhere_too = format!("{}.{}.{mac}", who.0.0.simple(), Uuid::now_v7().simple());
        assert_eq!(key.verify(&elsewhere_too), None);
        assert_eq!(key.verify("nonsense"), None);
        let elsewhere = tempfile::tempdir().expect("dir");
        assert_eq!(LinkKey::load_or_create(elsewhere.path()).expect("key").verify(&t), None);
    }
}
