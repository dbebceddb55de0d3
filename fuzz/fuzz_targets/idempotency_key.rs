//! The `Idempotency-Key` header's bytes: a key is 1 to 255 visible ASCII
//! characters taken from the header, trimmed; anything else is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampede_domain::input::idempotency_key;

fuzz_target!(|data: &[u8]| {
    if let Some(key) = idempotency_key(data) {
        assert!((1..=255).contains(&key.len()));
        assert!(key.bytes().all(|b| b.is_ascii_graphic()));
        let text = std::str::from_utf8(data).expect("a key comes from UTF-8");
        assert_eq!(text.trim(), key);
    }
});
