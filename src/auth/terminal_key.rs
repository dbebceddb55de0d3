//! POS terminal API keys: `stp_<terminal id, 32 hex>_<secret, 43 base64url>`.
//! The id finds the terminal with one lookup; the secret's SHA-256 is compared
//! in constant time. The key is shown once, at creation.

use uuid::Uuid;

use super::secret::{random_token, sha256};

pub const PREFIX: &str = stampede_domain::input::TERMINAL_KEY_PREFIX;

pub struct NewKey {
    pub key: String,
    pub hash: Vec<u8>,
    /// What a list shows to recognise the key: `stp_` and the first 8 id digits.
    pub display_prefix: String,
}

pub fn generate(terminal_id: Uuid) -> NewKey {
    let secret = random_token();
    let id = terminal_id.simple().to_string();
    NewKey {
        key: format!("{PREFIX}{id}_{secret}"),
        hash: sha256(secret.as_bytes()),
        display_prefix: format!("{PREFIX}{}", &id[..8]),
    }
}

/// Split a presented key into the terminal id and the secret's hash.
pub fn parse(key: &str) -> Option<(Uuid, Vec<u8>)> {
    let (id, secret) = stampede_domain::input::terminal_key(key)?;
    Some((id, sha256(secret.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let id = Uuid::now_v7();
        let k = generate(id);
        assert!(k.key.starts_with("stp_"));
        assert_eq!(parse(&k.key), Some((id, k.hash.clone())));
        assert!(parse("stp_nothing").is_none());
        assert!(parse(&k.key[..k.key.len() - 1]).is_none());
        assert!(parse(&k.key.replace("stp_", "xyz_")).is_none());
    }
}
