//! A presented terminal key splits into an id and a secret only in its
//! exact shape, and the parts put back together give the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampede_domain::input::{TERMINAL_KEY_PREFIX, terminal_key};

fuzz_target!(|data: &[u8]| {
    let Ok(key) = std::str::from_utf8(data) else { return };
    if let Some((id, secret)) = terminal_key(key) {
        assert_eq!(secret.len(), 43);
        let rebuilt = format!("{TERMINAL_KEY_PREFIX}{}_{secret}", id.simple());
        assert!(rebuilt.eq_ignore_ascii_case(key), "{key:?} came back as {rebuilt:?}");
    }
});
