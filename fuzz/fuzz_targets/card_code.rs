//! A typed or scanned counter code: accepted only as 1 to 64 ASCII letters
//! and digits once trimmed, whatever bytes arrive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampede_domain::input::plausible_code;

fuzz_target!(|data: &[u8]| {
    let Ok(code) = std::str::from_utf8(data) else { return };
    if plausible_code(code) {
        let trimmed = code.trim();
        assert!(!trimmed.is_empty() && trimmed.len() <= 64);
        assert!(trimmed.bytes().all(|b| b.is_ascii_alphanumeric()), "{code:?}");
    }
});
