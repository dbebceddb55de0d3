//! A bearer token's payload (its claims JSON), whoever wrote it: parsing and
//! every question asked of the claims never panic; `email_verified` is true
//! only as Google (`true`) or Apple (`"true"`) say it; an audience matches
//! only when it names a wanted client.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stampede_domain::input::claims::{Audience, TokenClaims, UnverifiedIssuer};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<UnverifiedIssuer>(data);
    let Ok(claims) = TokenClaims::parse(data) else { return };
    let _ = (claims.is_access(), claims.may_be_id(), claims.must_change_password(), claims.mfa_setup_required());
    if claims.email_verified() {
        // Only the one claim: serde_json skips an unknown claim without
        // checking its text, so the whole payload need not be valid UTF-8.
        #[derive(serde::Deserialize)]
        struct Said {
            email_verified: serde_json::Value,
        }
        let said = serde_json::from_slice::<Said>(data).expect("parsed once").email_verified;
        assert!(said == serde_json::Value::Bool(true) || said == "true", "{said}");
    }
    let wanted = ["client-a".to_owned()];
    if claims.for_any_of(&wanted) {
        assert!(match &claims.aud {
            Some(Audience::One(a)) => a == "client-a",
            Some(Audience::Many(all)) => all.iter().any(|a| a == "client-a"),
            None => false,
        });
    }
    assert!(!claims.for_any_of(&[]), "no audience is wanted by nobody");
});
