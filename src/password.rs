//! Password hashing with argon2id (m = 19 MiB, t = 2, p = 1, OWASP's minimum).
//! Hashing is CPU work: it runs on the blocking pool, and a semaphore bounds how
//! many hashes run at once so a login storm cannot take every core or all memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task was cancelled")]
    Cancelled,
}

fn argon2() -> Argon2<'static> {
    // 19 MiB, 2 passes, 1 lane; constants known to be valid.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    /// `concurrency` hashes at most run at once (each holds ~19 MiB).
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Cancelled)?;
        tokio::task::spawn_blocking(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
        .map_err(|_| PasswordError::Cancelled)?
    }

    /// Whether `password` matches `phc`. A malformed hash never matches.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Cancelled)?;
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(&phc) else {
                return false;
            };
            argon2().verify_password(password.as_bytes(), &parsed).is_ok()
        })
        .await
        .map_err(|_| PasswordError::Cancelled)
    }
}

/// A random password for one-time use: 20 characters from an alphabet without
/// look-alikes (~114 bits).
pub fn one_time_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PasswordHasher::new(2);
        let phc = h.hash("correct horse".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify("correct horse".into(), phc.clone()).await.expect("verify"));
        assert!(!h.verify("wrong horse".into(), phc).await.expect("verify"));
        assert!(!h.verify("x".into(), "not a hash".into()).await.expect("verify"));
    }

    #[test]
    fn one_time_passwords_differ() {
        let a = one_time_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, one_time_password());
    }
}
