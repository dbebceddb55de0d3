//! Addresses and names people type: parsing never panics, and what is
//! accepted is normalised (an address lower-case and trimmed; a name
//! trimmed, with no control characters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampede_domain::email::Email;
use stampede_domain::text::Name;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(email) = Email::parse(text) {
        let e = email.as_str();
        assert_eq!(e, e.trim());
        assert_eq!(e, e.to_lowercase());
        assert_eq!(Email::parse(e).map(|again| again.as_str().to_owned()).ok().as_deref(), Some(e));
    }
    if let Ok(name) = Name::parse(text) {
        let n = name.as_str();
        assert_eq!(n, n.trim());
        assert!(!n.is_empty());
        assert!(!n.chars().any(char::is_control), "{n:?}");
    }
});
