//! Random secrets and their hashes. Secrets with 256 bits of entropy (refresh
//! tokens, one-time tokens, terminal keys) are stored as SHA-256: a slow hash
//! adds nothing when guessing is hopeless, and lookups stay one index probe.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality, for comparing a presented secret's hash.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(same(&sha256(a.as_bytes()), &sha256(a.as_bytes())));
        assert!(!same(&sha256(b"a"), &sha256(b"b")));
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }
}
