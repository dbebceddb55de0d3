//! Versioned message contracts of the queues other than `transaction` (whose
//! contract, [`crate::ledger::TransactionMessage`], lives with the ledger).
//! Bodies are JSON; consumers de-duplicate by the message's event id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::CustomerId;

/// The `email` queue: one email to render and send. The email worker renders
/// `template` with `values` (plus the recipient's `name` and, for marketing,
/// an `unsubscribe_link`) and sends it at most once per `event_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub schema_version: u32,
    /// De-duplication key: one email per event id, however often delivered.
    pub event_id: Uuid,
    /// A template name: `reward_earned`, `points_expiring`, `marketing`,
    /// `export_ready`, ...
    pub template: String,
    /// The customer it goes to (looked up at send time: an erased customer gets
    /// nothing, and marketing needs consent at send time).
    pub customer_id: Option<CustomerId>,
    /// An address, for mail that is not to a customer (staff, export requester).
    pub to: Option<String>,
    /// The business the mail is from. Marketing needs it: the customer's
    /// consent to that business is checked at send time, and the unsubscribe
    /// link withdraws it.
    #[serde(default)]
    pub business_id: Option<crate::ids::BusinessId>,
    pub values: BTreeMap<String, String>,
    pub request_id: Option<String>,
    /// The marketing mailing this mail is one of: the worker records its
    /// outcome there (sent, or skipped for want of consent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailing_id: Option<Uuid>,
}

impl EmailMessage {
    pub const SCHEMA_VERSION: u32 = 1;
    pub const MESSAGE_TYPE: &'static str = "email.requested";
}

/// The `analytics` queue also carries app usage the API reports: sign-ins and
/// card views. Best effort: a lost usage event skews a count, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub schema_version: u32,
    pub event_id: Uuid,
    /// `login` or `card_view`.
    pub event: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub business_id: Option<crate::ids::BusinessId>,
    pub customer_id: Option<CustomerId>,
}

impl UsageEvent {
    pub const SCHEMA_VERSION: u32 = 1;
    pub const MESSAGE_TYPE: &'static str = "usage.recorded";
}

/// A deterministic id for an event derived from another (say "the reward-earned
/// email of transaction T for reward R"), so re-processing the source produces
/// the same event id and consumers skip it: UUID v5 in a fixed namespace.
pub fn derived_id(parts: &[&str]) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x5d1f_3a2e_8c4b_4e7a_9f10_6b2d_7c3e_1a05);
    Uuid::new_v5(&NAMESPACE, parts.join("/").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let t = Uuid::now_v7().to_string();
        assert_eq!(derived_id(&["reward_earned", &t, "r1"]), derived_id(&["reward_earned", &t, "r1"]));
        assert_ne!(derived_id(&["reward_earned", &t, "r1"]), derived_id(&["reward_earned", &t, "r2"]));
    }

    #[test]
    fn email_messages_round_trip() {
        let m = EmailMessage {
            schema_version: EmailMessage::SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            template: "reward_earned".into(),
            customer_id: Some(CustomerId(Uuid::now_v7())),
            to: None,
            business_id: None,
            values: BTreeMap::from([("reward".to_owned(), "Free coffee".to_owned())]),
            request_id: Some("r".into()),
            mailing_id: None,
        };
        let back: EmailMessage = serde_json::from_str(&serde_json::to_string(&m).expect("json")).expect("parse");
        assert_eq!(back, m);
    }
}
