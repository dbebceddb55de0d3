//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, six
//! digits, what every authenticator app reads from an `otpauth://` link),
//! the sealing of their secrets at rest, and recovery codes.
//!
//! A code is accepted for its own step and one step either side (a phone's
//! clock drifts, a person types slowly), and each step at most once per
//! account: the store keeps the last step used, so a code seen over a
//! shoulder is worthless once it has been typed.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use rand::RngCore;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Steps either side of now that are still accepted.
const WINDOW: i64 = 1;
const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
const SECRET_LEN: usize = 20;
/// Recovery codes given at once.
pub const RECOVERY_CODES: usize = 10;

/// A fresh secret.
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; SECRET_LEN];
    rand::rng().fill_bytes(&mut s);
    s
}

/// The step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The code of `step` (RFC 4226's HOTP with the step as counter).
pub fn code(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    format!("{:0width$}", bin % 10u32.pow(DIGITS), width = DIGITS as usize)
}

/// The step whose code `presented` is, within the window around `now_step`
/// and after `last_used` (`None`: not a valid code now). Compared in
/// constant time.
pub fn matching_step(secret: &[u8], presented: &str, now_step: i64, last_used: i64) -> Option<i64> {
    let presented: String = presented.chars().filter(|c| !c.is_whitespace()).collect();
    if presented.len() != DIGITS as usize || !presented.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (now_step - WINDOW..=now_step + WINDOW)
        .filter(|&s| s > last_used)
        .find(|&s| super::secret::same(code(secret, s).as_bytes(), presented.as_bytes()))
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding: how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Back from [`base32`] (what an app does with a typed secret); `None` for
/// anything else.
pub fn from_base32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = BASE32.iter().position(|&b| b == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The link an authenticator app reads (usually from a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// Seals secrets at rest (AES-256-GCM, a key of its own derived from the
/// server's link key), bound to the account they belong to: a sealed secret
/// copied to another account's row does not open.
pub struct Sealer {
    key: LessSafeKey,
    /// Keys recovery codes' hashes, so a copy of the table alone cannot be
    /// searched for them.
    pepper: hmac::Key,
}

impl Sealer {
    pub fn new(link_key: &super::links::LinkKey) -> Self {
        let seal_key = link_key.derive(b"stampede mfa secret seal v1");
        let pepper = link_key.derive(b"stampede mfa recovery codes v1");
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &seal_key).expect("a 32-byte key"));
        Self { key, pepper: hmac::Key::new(hmac::HMAC_SHA256, &pepper) }
    }

    pub fn seal(&self, subject: uuid::Uuid, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = secret.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(subject.as_bytes()), &mut out)
            .expect("sealing a short secret");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        sealed
    }

    /// `None` when it was not sealed by this key for this account.
    pub fn open(&self, subject: uuid::Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(subject.as_bytes()), &mut body).ok()?;
        Some(plain.to_vec())
    }

    /// What is stored of a recovery code: its keyed hash, spelling aside
    /// (case, dashes and spaces do not count).
    pub fn recovery_hash(&self, subject: uuid::Uuid, code: &str) -> Vec<u8> {
        let normal: String =
            code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
        let mut ctx = hmac::Context::with_key(&self.pepper);
        ctx.update(subject.as_bytes());
        ctx.update(normal.as_bytes());
        ctx.sign().as_ref().to_vec()
    }
}

/// Fresh recovery codes, as shown once: two groups of five base32
/// characters joined by a dash (50 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            let chars: String = bytes.iter().map(|b| BASE32[usize::from(b & 31)] as char).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the last six of its eight digits).
    #[test]
    fn codes_match_the_rfc_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(secret, step_at(time)), expected, "at {time}");
        }
    }

    #[test]
    fn a_code_counts_near_its_step_and_once() {
        let secret = new_secret();
        let now = step_at(1_700_000_000);
        let c = code(&secret, now);
        assert_eq!(matching_step(&secret, &c, now, 0), Some(now));
        assert_eq!(matching_step(&secret, &c, now + 1, 0), Some(now), "a step late");
        assert_eq!(matching_step(&secret, &c, now - 1, 0), Some(now), "a step early");
        assert_eq!(matching_step(&secret, &c, now + 2, 0), None, "too late");
        assert_eq!(matching_step(&secret, &c, now, now), None, "used already");
        assert_eq!(matching_step(&secret, &format!("{} {}", &c[..3], &c[3..]), now, 0), Some(now));
        assert_eq!(matching_step(&secret, "12345", now, 0), None);
        assert_eq!(matching_step(&secret, "abcdef", now, 0), None);
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let secret = new_secret();
        assert_eq!(from_base32(&base32(&secret)), Some(secret));
        assert_eq!(from_base32("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(from_base32("MZ1"), None);
    }

    #[test]
    fn the_link_names_issuer_account_and_secret() {
        let uri = otpauth_uri("Stampede", "ana+x@example.com", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Stampede:ana%2Bx@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Stampede\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn sealed_secrets_open_only_for_their_account() {
        let sealer = Sealer::new(&super::super::links::LinkKey::from_bytes(&[7u8; 32]));
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let sealed = sealer.seal(a, b"secret");
        assert_ne!(sealed[12..], b"secret"[..]);
        assert_eq!(sealer.open(a, &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(sealer.open(b, &sealed), None, "another account's row");
        let other = Sealer::new(&super::super::links::LinkKey::from_bytes(&[8u8; 32]));
        assert_eq!(other.open(a, &sealed), None, "another server key");
        assert_eq!(sealer.open(a, &sealed[..5]), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_whatever_their_spelling() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), RECOVERY_CODES);
        let sealer = Sealer::new(&super::super::links::LinkKey::from_bytes(&[7u8; 32]));
        let who = uuid::Uuid::now_v7();
        let h = sealer.recovery_hash(who, &codes[0]);
        assert_eq!(h, sealer.recovery_hash(who, &codes[0].to_lowercase().replace('-', " ")));
        assert_ne!(h, sealer.recovery_hash(uuid::Uuid::now_v7(), &codes[0]));
    }
}
