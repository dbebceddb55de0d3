//! The body of a POS write (stamps, points, redemption, cancellation), read
//! as the API reads it (integral floats as integers): reading and checking
//! never panic, a body that passes its check holds only what the card may
//! act on (a card named by id or a plausible code, amounts within their
//! bounds, a reason the ledger can store), and a body read back after
//! writing is the same body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use stampede_domain::card::MAX_AMOUNT_MINOR;
use stampede_domain::input::json::read;
use stampede_domain::input::plausible_code;
use stampede_domain::input::pos::{CancelRequest, CardKey, CardRef, PointsRequest, RedeemRequest, StampRequest};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(body: &T) {
    let written = serde_json::to_string(body).expect("a body serialises");
    let back: T = read(&written).expect("a written body reads");
    assert_eq!(&back, body);
}

fn card_named(card: &CardRef) {
    match card.key().expect("checked") {
        CardKey::Id(id) => assert_eq!(card.card_id, Some(id.0)),
        CardKey::Code(code) => assert!(plausible_code(code) && card.card_id.is_none(), "{code:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(b) = read::<StampRequest>(text) {
        if b.check().is_ok() {
            card_named(&b.card);
            assert!(b.purchase_minor.is_none_or(|p| (0..=MAX_AMOUNT_MINOR).contains(&p)));
        }
        round_trip(&b);
    }
    if let Ok(b) = read::<PointsRequest>(text) {
        if b.check().is_ok() {
            card_named(&b.card);
            assert!(b.amount_minor <= MAX_AMOUNT_MINOR);
        }
        round_trip(&b);
    }
    if let Ok(b) = read::<RedeemRequest>(text) {
        if b.check().is_ok() {
            card_named(&b.card);
        }
        round_trip(&b);
    }
    if let Ok(b) = read::<CancelRequest>(text) {
        if let Ok(Some(note)) = b.reason() {
            let kept = note.as_str();
            assert!(!kept.is_empty() && kept.chars().count() <= 500);
            assert!(kept.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'), "{kept:?}");
        }
        round_trip(&b);
    }
});
