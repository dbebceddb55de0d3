//! Unsubscribe links: `<customer id>.<MAC>` with an HMAC-SHA256 key kept in
//! `<data_dir>/keys/unsubscribe.key` (made at first start; hosts that serve one
//! deployment share it, like the signing keys). A link keeps working as long
//! as the key does: marketing emails are read long after they are sent, so a
//! short-lived token would not do. It can only turn consent off.

use std::path::Path;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use stampede_domain::ids::CustomerId;
use uuid::Uuid;

pub struct UnsubscribeKey {
    key: hmac::Key,
}

const MAC_BYTES: usize = 16;

impl UnsubscribeKey {
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = dir.join("unsubscribe.key");
        let secret = match std::fs::read(&file) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            _ => {
                let mut bytes = vec![0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let tmp = dir.join("unsubscribe.key.tmp");
                std::fs::write(&tmp, &bytes)?;
                std::fs::rename(&tmp, &file)?;
                bytes
            }
        };
        Ok(Self { key: hmac::Key::new(hmac::HMAC_SHA256, &secret) })
    }

    fn mac(&self, id: Uuid) -> Vec<u8> {
        let tag = hmac::sign(&self.key, &[b"unsubscribe:".as_slice(), id.as_bytes()].concat());
        tag.as_ref()[..MAC_BYTES].to_vec()
    }

    pub fn token(&self, customer: CustomerId) -> String {
        format!("{}.{}", customer.0.simple(), URL_SAFE_NO_PAD.encode(self.mac(customer.0)))
    }

    /// The customer a token names, if it is genuine.
    pub fn verify(&self, token: &str) -> Option<CustomerId> {
        let (id, mac) = token.split_once('.')?;
        let id = Uuid::try_parse(id).ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        super::secret::same(&mac, &self.mac(id)).then_some(CustomerId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_forgeries_do_not() {
        let dir = tempfile::tempdir().expect("dir");
        let key = UnsubscribeKey::load_or_create(dir.path()).expect("key");
        let who = CustomerId(Uuid::now_v7());
        let t = key.token(who);
        assert_eq!(key.verify(&t), Some(who));
        // The same key after a restart.
        assert_eq!(UnsubscribeKey::load_or_create(dir.path()).expect("key").verify(&t), Some(who));
        let other = CustomerId(Uuid::now_v7());
        let forged = format!("{}.{}", other.0.simple(), t.split_once('.').map(|(_, m)| m).unwrap_or_default());
        assert_eq!(key.verify(&forged), None);
        assert_eq!(key.verify("nonsense"), None);
        let elsewhere = tempfile::tempdir().expect("dir");
        assert_eq!(UnsubscribeKey::load_or_create(elsewhere.path()).expect("key").verify(&t), None);
    }
}
