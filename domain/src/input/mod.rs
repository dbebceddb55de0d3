//! What arrives from outside, checked before anything trusts it: the counter
//! code a cashier types or scans, the `Idempotency-Key` of a POS write, a
//! terminal's API key, the bodies of POS writes ([`pos`]) and how JSON
//! bodies are read ([`json`]), a bearer token's claims ([`claims`]). Pure
//! and total (no input panics), so they are fuzzed (`fuzz/`) as well as
//! tested.

use uuid::Uuid;

pub mod claims;
pub mod json;
pub mod phone;
pub mod pos;

/// Whether `code` could be a counter code at all (16 letters and digits are
/// issued; the printed ones may differ in case and come with spaces around):
/// anything else is refused before it reaches a database (a NUL byte, say,
/// which PostgreSQL cannot even compare).
pub fn plausible_code(code: &str) -> bool {
    let code = code.trim();
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The `Idempotency-Key` a request sent, trimmed, if it is 1 to 255 visible
/// ASCII characters.
pub fn idempotency_key(raw: &[u8]) -> Option<&str> {
    let key = std::str::from_utf8(raw).ok()?.trim();
    (!key.is_empty() && key.len() <= 255 && key.chars().all(|c| c.is_ascii_graphic())).then_some(key)
}

/// The prefix of every terminal API key.
pub const TERMINAL_KEY_PREFIX: &str = "stp_";

/// A presented terminal key `stp_<terminal id, 32 hex>_<secret, 43
/// characters>` split into the terminal's id and the secret.
pub fn terminal_key(key: &str) -> Option<(Uuid, &str)> {
    let rest = key.strip_prefix(TERMINAL_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.len() != 43 {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_letters_and_digits() {
        assert!(plausible_code(" AB12cd34EF56gh78 "));
        for bad in ["", "AB\u{0}CD", "AB CD", "AB-CD", &"A".repeat(65), "ÄBC"] {
            assert!(!plausible_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert_eq!(idempotency_key(b" order-17 "), Some("order-17"));
        for bad in [&b""[..], b"   ", b"a b", b"\xff", b"caf\xc3\xa9", &[b'k'; 256]] {
            assert_eq!(idempotency_key(bad), None, "{bad:?}");
        }
        assert!(idempotency_key(&[b'k'; 255]).is_some());
    }

    #[test]
    fn terminal_keys_split_only_in_their_shape() {
        let id = Uuid::now_v7();
        let secret = "s".repeat(43);
        let key = format!("stp_{}_{secret}", id.simple());
        assert_eq!(terminal_key(&key), Some((id, secret.as_str())));
        assert!(terminal_key("stp_nothing").is_none());
        assert!(terminal_key(&key[..key.len() - 1]).is_none());
        assert!(terminal_key(&key.replace("stp_", "xyz_")).is_none());
        assert!(terminal_key(&format!("stp_{}_{secret}", "g".repeat(32))).is_none());
    }
}
