//! The document's shape of a program's rules. The domain crate knows no
//! OpenAPI; these mirror its `ProgramRules` (a test checks that what the
//! document allows, the domain reads) with the bounds its validation puts
//! on each number, so a client (or a fuzzer) can tell a valid body from
//! the schema alone. Rules between fields (a minimum purchase needs a
//! currency; overrides name the business's own stores) are the
//! validation's and answer 422.

use serde::Deserialize;
use utoipa::ToSchema;

/// `{"kind": "stamps", …}` or `{"kind": "points", …}`.
// Each kind's schema names `kind` itself, so each can refuse fields it does
// not know: a closed schema combined with the tag in an `allOf` could be met
// by no object.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = ProgramRules)]
pub enum RulesDoc {
    Stamps(StampRulesDoc),
    Points(PointsRulesDoc),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StampRules)]
#[expect(dead_code, reason = "a schema: requests are read into the domain's StampRules")]
pub struct StampRulesDoc {
    kind: StampsKind,
    /// Stamps that make a full card (the usual reward cost).
    #[schema(minimum = 1, maximum = 1000)]
    stamps_per_reward: u32,
    #[schema(minimum = 1, maximum = 100)]
    max_stamps_per_visit: u32,
    /// A visit counts only from this purchase on (needs `currency`).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    min_purchase_minor: Option<i64>,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    /// Seconds between two stamped visits at one store.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604800)]
    min_interval_secs: u32,
    #[schema(minimum = 1)]
    daily_cap: Option<u32>,
    #[schema(minimum = 1, maximum = 3650)]
    expiry_days: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StampsKind {
    Stamps,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointsKind {
    Points,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Rounding)]
pub enum RoundingDoc {
    Down,
    HalfUp,
    Up,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PointsRules)]
#[expect(dead_code, reason = "a schema: requests are read into the domain's PointsRules")]
pub struct PointsRulesDoc {
    kind: PointsKind,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
    /// Points per `unit_minor` spent.
    #[schema(minimum = 1, maximum = 100000)]
    points_per_unit: u32,
    #[schema(minimum = 1, maximum = 1000000)]
    unit_minor: u32,
    rounding: RoundingDoc,
    /// Another rate at some stores: store id to points per unit.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<uuid::Uuid, u32>)]
    store_overrides: std::collections::BTreeMap<String, u32>,
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    daily_cap: Option<u64>,
    #[schema(minimum = 1, maximum = 3650)]
    expiry_days: Option<u32>,
}

/// Where a program runs: its brands' stores and these stores (both empty:
/// everywhere in the business).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Availability)]
#[expect(dead_code, reason = "a schema: requests are read into the domain's Availability")]
pub struct AvailabilityDoc {
    #[serde(default)]
    brand_ids: Vec<uuid::Uuid>,
    #[serde(default)]
    store_ids: Vec<uuid::Uuid>,
}

/// A program as the API answers it (the domain's `Program`, its rules and
/// availability in the shapes above).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Program)]
#[expect(dead_code, reason = "a schema: answers are the domain's Program")]
pub struct ProgramDoc {
    id: uuid::Uuid,
    business_id: uuid::Uuid,
    name: String,
    description: Option<String>,
    rules: RulesDoc,
    availability: AvailabilityDoc,
    /// The rules version: bumped on every change; transactions record it.
    version: i64,
    is_active: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// A business's programs.
#[derive(Deserialize, ToSchema)]
#[expect(dead_code, reason = "a schema: the answer is written from the domain's programs")]
pub struct ProgramList {
    items: Vec<ProgramDoc>,
}

/// A program with its reward catalog and campaigns.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "a schema: the answer is the cached bundle")]
pub struct ProgramBundleDoc {
    program: ProgramDoc,
    rewards: Vec<stampede_domain::program::Reward>,
    campaigns: Vec<stampede_domain::program::Campaign>,
}

#[cfg(test)]
mod tests {
    use stampede_domain::program::ProgramRules;
    use utoipa::OpenApi;

    /// A program as the API writes it reads as its documented shape (which
    /// refuses any field it does not name).
    #[test]
    fn a_served_program_has_the_documented_shape() {
        use stampede_domain::program::{Availability, Program, ProgramRules};
        let rules: ProgramRules = serde_json::from_value(
            serde_json::json!({"kind": "stamps", "stamps_per_reward": 10, "max_stamps_per_visit": 2}),
        )
        .expect("rules");
        let program = Program {
            id: uuid::Uuid::now_v7(),
            business_id: stampede_domain::ids::BusinessId::new(),
            name: "Coffee card".into(),
            description: None,
            rules,
            availability: Availability::default(),
            version: 1,
            is_active: true,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let served = serde_json::to_value(&program).expect("json");
        serde_json::from_value::<super::ProgramDoc>(served).expect("the documented shape");
    }

    /// A body of each kind with every field reads as the domain's rules and
    /// back, and the document's schema of that kind names exactly its fields.
    #[test]
    fn the_document_and_the_domain_agree() {
        let stamps = serde_json::json!({"kind": "stamps", "stamps_per_reward": 10, "max_stamps_per_visit": 2,
            "min_purchase_minor": 500, "currency": "EUR", "min_interval_secs": 60, "daily_cap": 3, "expiry_days": 90});
        let points = serde_json::json!({"kind": "points", "currency": "EUR", "points_per_unit": 1, "unit_minor": 100,
            "rounding": "half_up", "store_overrides": {}, "daily_cap": 1000, "expiry_days": 365});
        let doc = serde_json::to_value(crate::api::ops::openapi::ApiDoc::openapi()).expect("document");
        for (name, body) in [("StampRules", stamps), ("PointsRules", points)] {
            let rules: ProgramRules = serde_json::from_value(body.clone()).expect("the domain reads it");
            assert_eq!(serde_json::to_value(&rules).expect("json"), body, "every field round-trips");
            let mut fields: Vec<String> = body.as_object().expect("object").keys().cloned().collect();
            fields.sort();
            let schema = &doc["components"]["schemas"][name]["properties"];
            let mut documented: Vec<String> = schema.as_object().expect(name).keys().cloned().collect();
            documented.sort();
            assert_eq!(documented, fields, "{name}");
        }
    }
}
