//! The bodies of the POS writes (stamps, points, redemptions, cancellations)
//! and the checks each passes before anything acts on it: the card named by
//! id or by a plausible counter code, amounts with a sign and a bound, a
//! reason with no control character a database cannot store. The rules
//! (caps, minimums, balances) are the card's to apply, later.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::plausible_code;
use crate::card::MAX_AMOUNT_MINOR;
use crate::ids::CardId;
use crate::text::Note;

/// A field of a body that cannot be acted on, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {detail}")]
pub struct BadField {
    pub field: &'static str,
    pub detail: String,
}

impl BadField {
    fn new(field: &'static str, detail: impl Into<String>) -> Self {
        Self { field, detail: detail.into() }
    }
}

/// Which card: by id or by the code scanned at the counter.
// Always flattened into a POS body, whose own `deny_unknown_fields` refuses
// fields it does not know; one here as well would close this schema inside
// the body's `allOf`, which no object could then satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardRef {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub card_id: Option<Uuid>,
    pub card_code: Option<String>,
}

/// A card as a [`CardRef`] names it, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKey<'a> {
    Id(CardId),
    /// A plausible counter code (see [`plausible_code`]); it may name no card.
    Code(&'a str),
}

impl CardRef {
    pub fn by_id(id: CardId) -> Self {
        Self { card_id: Some(id.0), card_code: None }
    }

    pub fn by_code(code: impl Into<String>) -> Self {
        Self { card_id: None, card_code: Some(code.into()) }
    }

    /// The card named: its id if given (the code is then not read), else a
    /// plausible code. Anything else is refused before it reaches a database
    /// (a NUL byte, say, which PostgreSQL cannot even compare).
    pub fn key(&self) -> Result<CardKey<'_>, BadField> {
        match (self.card_id, self.card_code.as_deref()) {
            (Some(id), _) => Ok(CardKey::Id(CardId(id))),
            (None, Some(code)) if plausible_code(code) => Ok(CardKey::Code(code)),
            (None, Some(_)) => Err(BadField::new("card_code", "is not a card code: letters and digits only")),
            (None, None) => Err(BadField::new("card_id", "give card_id or card_code")),
        }
    }
}

fn within(field: &'static str, amount: i64, min: i64) -> Result<(), BadField> {
    if (min..=MAX_AMOUNT_MINOR).contains(&amount) {
        Ok(())
    } else if min == 0 {
        Err(BadField::new(field, format!("must be between 0 and {MAX_AMOUNT_MINOR}")))
    } else {
        Err(BadField::new(field, format!("must be at most {MAX_AMOUNT_MINOR}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StampRequest {
    #[serde(flatten)]
    pub card: CardRef,
    /// Stamps for this visit (at most the program's max per visit).
    #[serde(default = "one")]
    pub count: u32,
    /// The purchase, in minor units, where the program has a minimum (0 to 10^12).
    pub purchase_minor: Option<i64>,
}

fn one() -> u32 {
    1
}

impl StampRequest {
    /// Every field usable: the card named, the purchase within 0..=10^12.
    pub fn check(&self) -> Result<(), BadField> {
        self.card.key()?;
        self.purchase_minor.map_or(Ok(()), |p| within("purchase_minor", p, 0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PointsRequest {
    #[serde(flatten)]
    pub card: CardRef,
    /// The purchase in minor units of `currency` (at most 10^12).
    pub amount_minor: i64,
    /// Must be the program's currency.
    pub currency: String,
}

impl PointsRequest {
    /// Every field usable: the card named, the amount at most 10^12. Zero
    /// and below are the rules' refusal (`invalid_amount`), not a malformed
    /// request; the currency is compared with the program's.
    pub fn check(&self) -> Result<(), BadField> {
        self.card.key()?;
        within("amount_minor", self.amount_minor, i64::MIN)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    #[serde(flatten)]
    pub card: CardRef,
    pub reward_id: Uuid,
}

impl RedeemRequest {
    pub fn check(&self) -> Result<(), BadField> {
        self.card.key().map(|_| ())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, for the ledger.
    pub reason: Option<String>,
}

impl CancelRequest {
    /// The reason as the ledger keeps it: none for a blank one, refused
    /// past 500 characters or with a control character other than a line
    /// break or a tab.
    pub fn reason(&self) -> Result<Option<Note>, BadField> {
        match self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Note::parse(r).map(Some).map_err(|e| BadField::new("reason", e.to_string())),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::input::json::read;

    /// The card is named inline in each POS body, and a field the body does
    /// not have is refused, wherever it stands.
    #[test]
    fn pos_bodies_name_the_card_inline_and_refuse_strangers() {
        let id = Uuid::now_v7();
        let ok: StampRequest = serde_json::from_value(json!({"card_id": id, "count": 2})).expect("ok");
        assert_eq!((ok.card.card_id, ok.count), (Some(id), 2));
        let code: PointsRequest =
            serde_json::from_value(json!({"card_code": "AB12", "amount_minor": 500, "currency": "EUR"}))
                .expect("by code");
        assert_eq!(code.card.key(), Ok(CardKey::Code("AB12")));
        for stranger in [json!({"card_id": id, "count": 1, "bogus": true}), json!({"card_id": id, "cardid": id})] {
            assert!(serde_json::from_value::<StampRequest>(stranger.clone()).is_err(), "{stranger}");
        }
    }

    #[test]
    fn amounts_have_a_sign_and_a_bound_and_codes_a_shape() {
        let stamp = |body: &str| read::<StampRequest>(body).expect("parses").check().map_err(|e| e.field);
        assert_eq!(stamp(r#"{"card_code": "AB12", "purchase_minor": 500.0}"#), Ok(()));
        assert_eq!(stamp(r#"{"card_code": "AB12", "purchase_minor": -500}"#), Err("purchase_minor"));
        assert_eq!(stamp(r#"{"card_code": "AB12", "purchase_minor": 1000000000001}"#), Err("purchase_minor"));
        assert_eq!(stamp(r#"{"card_code": "AB\u0000CD"}"#), Err("card_code"));
        assert_eq!(stamp(r#"{"count": 1}"#), Err("card_id"));
        let points = |amount: i64| PointsRequest {
            card: CardRef::by_code("AB12"),
            amount_minor: amount,
            currency: "EUR".into(),
        };
        assert!(points(-5).check().is_ok(), "the rules refuse it, with their own code");
        assert_eq!(points(MAX_AMOUNT_MINOR + 1).check().map_err(|e| e.field), Err("amount_minor"));
    }

    #[test]
    fn a_blank_reason_is_none_and_a_nul_is_refused() {
        let cancel = |r: &str| CancelRequest { reason: Some(r.into()) }.reason();
        assert_eq!(cancel("  "), Ok(None));
        assert_eq!(cancel(" wrong card ").map(|n| n.map(|n| n.as_str().to_owned())), Ok(Some("wrong card".into())));
        assert_eq!(cancel("a\u{0}b").map_err(|e| e.field), Err("reason"));
    }
}
