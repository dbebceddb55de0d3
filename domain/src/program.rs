//! Loyalty programs: the rules of earning and rewarding, and the arithmetic that
//! applies them. Pure; the card state machine and the admin API both use it.
//!
//! - A **stamp program** gives stamps per visit (at most `max_stamps_per_visit`,
//!   only above `min_purchase_minor` if set, not twice at one store within
//!   `min_interval_secs`, at most `daily_cap` a day) that expire after
//!   `expiry_days`.
//! - A **points program** gives `points_per_unit` points per `unit_minor` minor
//!   units of a purchase (per-store overrides), rounded by an explicit rule, at
//!   most `daily_cap` a day, expiring `expiry_days` after earning, spent oldest
//!   first.
//! - **Campaigns** (time windows in the store's time zone, for some brands or
//!   stores) multiply points (the highest multiplier applies, never compounding)
//!   or add bonus stamps (these add up), each at most `max_per_card` times per card.
//!
//! Days (for daily caps) are calendar days in the store's time zone.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::Place;
use crate::ids::{BrandId, StoreId};

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be a three-letter ISO 4217 code such as EUR".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.0
    }
}

/// How fractional points round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    Down,
    HalfUp,
    Up,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampRules {
    /// Stamps that make a full card (the usual reward cost).
    pub stamps_per_reward: u32,
    pub max_stamps_per_visit: u32,
    /// A visit below this purchase (minor units of `currency`) earns nothing.
    #[serde(default)]
    pub min_purchase_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Minimum time between two stamp visits of one card at one store; 0 = none.
    #[serde(default)]
    pub min_interval_secs: u32,
    #[serde(default)]
    pub daily_cap: Option<u32>,
    #[serde(default)]
    pub expiry_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsRules {
    pub currency: Currency,
    /// Points for every `unit_minor` minor units spent.
    pub points_per_unit: u32,
    /// The unit, in minor units: 100 means "per 1.00".
    pub unit_minor: u32,
    pub rounding: Rounding,
    /// `points_per_unit` for particular stores.
    #[serde(default)]
    pub store_overrides: BTreeMap<StoreId, u32>,
    #[serde(default)]
    pub daily_cap: Option<u64>,
    #[serde(default)]
    pub expiry_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgramRules {
    Stamps(StampRules),
    Points(PointsRules),
}

/// A rule that does not hold: (field path, message).
pub type RuleError = (String, String);

impl ProgramRules {
    pub fn kind(&self) -> &'static str {
        match self {
            ProgramRules::Stamps(_) => "stamps",
            ProgramRules::Points(_) => "points",
        }
    }

    pub fn expiry_days(&self) -> Option<u32> {
        match self {
            ProgramRules::Stamps(r) => r.expiry_days,
            ProgramRules::Points(r) => r.expiry_days,
        }
    }

    /// Every rule that does not hold, with the field it concerns.
    pub fn validate(&self) -> Vec<RuleError> {
        let mut e = Vec::new();
        let mut bad = |f: &str, m: &str| e.push((format!("rules.{f}"), m.to_owned()));
        match self {
            ProgramRules::Stamps(r) => {
                if !(1..=1000).contains(&r.stamps_per_reward) {
                    bad("stamps_per_reward", "must be between 1 and 1000");
                }
                if !(1..=100).contains(&r.max_stamps_per_visit) {
                    bad("max_stamps_per_visit", "must be between 1 and 100");
                }
                if let Some(m) = r.min_purchase_minor {
                    if !(0..=crate::card::MAX_AMOUNT_MINOR).contains(&m) {
                        bad("min_purchase_minor", "must be between 0 and 10^12");
                    }
                    if r.currency.is_none() {
                        bad("currency", "is required with min_purchase_minor");
                    }
                }
                if r.min_interval_secs > 7 * 86400 {
                    bad("min_interval_secs", "must be at most a week");
                }
                if r.daily_cap == Some(0) {
                    bad("daily_cap", "must be at least 1 (leave it out for no cap)");
                }
                if r.expiry_days.is_some_and(|d| d == 0 || d > 3650) {
                    bad("expiry_days", "must be between 1 and 3650");
                }
            }
            ProgramRules::Points(r) => {
                if !(1..=100_000).contains(&r.points_per_unit) {
                    bad("points_per_unit", "must be between 1 and 100000");
                }
                if !(1..=1_000_000).contains(&r.unit_minor) {
                    bad("unit_minor", "must be between 1 and 1000000");
                }
                if r.store_overrides.values().any(|v| !(1..=100_000).contains(v)) {
                    bad("store_overrides", "rates must be between 1 and 100000");
                }
                if r.daily_cap == Some(0) {
                    bad("daily_cap", "must be at least 1 (leave it out for no cap)");
                }
                if r.daily_cap.is_some_and(|c| c > crate::card::MAX_BALANCE.unsigned_abs()) {
                    bad("daily_cap", "must be at most the largest balance, 10^18");
                }
                if r.expiry_days.is_some_and(|d| d == 0 || d > 3650) {
                    bad("expiry_days", "must be between 1 and 3650");
                }
            }
        }
        e
    }
}

/// `amount * rate * pct / (unit * 100)`, rounded once, in 128-bit arithmetic.
pub fn scaled_points(amount_minor: i64, rate: u32, unit_minor: u32, pct: u32, rounding: Rounding) -> i64 {
    if amount_minor <= 0 {
        return 0;
    }
    let num = i128::from(amount_minor) * i128::from(rate) * i128::from(pct);
    let den = i128::from(unit_minor.max(1)) * 100;
    let q = match rounding {
        Rounding::Down => num / den,
        Rounding::Up => (num + den - 1) / den,
        Rounding::HalfUp => (2 * num + den) / (2 * den),
    };
    i64::try_from(q).unwrap_or(i64::MAX)
}

impl PointsRules {
    pub fn rate_at(&self, store: StoreId) -> u32 {
        self.store_overrides.get(&store).copied().unwrap_or(self.points_per_unit)
    }

    /// Points for a purchase at `store`, with a campaign multiplier in percent.
    pub fn points_for(&self, store: StoreId, amount_minor: i64, multiplier_pct: u32) -> i64 {
        scaled_points(amount_minor, self.rate_at(store), self.unit_minor, multiplier_pct, self.rounding)
    }
}

/// The rules a program had from one version on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramVersion {
    pub version: i64,
    pub rules: ProgramRules,
    pub created_at: DateTime<Utc>,
}

/// A campaign: a window in local time (evaluated in each store's time zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    pub id: Uuid,
    pub program_id: Uuid,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$"))]
    pub starts_local: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$"))]
    pub ends_local: NaiveDateTime,
    /// Where it applies; both empty = every store of the program.
    #[serde(default)]
    pub brand_ids: Vec<BrandId>,
    #[serde(default)]
    pub store_ids: Vec<StoreId>,
    /// 100 = no change, 200 = double points.
    pub multiplier_pct: u32,
    pub bonus_stamps: u32,
    pub max_per_card: Option<u32>,
    pub is_active: bool,
    /// Bumped on every change (kept beside the body in storage).
    #[serde(default)]
    pub version: i64,
}

impl Campaign {
    pub fn validate(&self) -> Vec<RuleError> {
        let mut e = Vec::new();
        if self.ends_local <= self.starts_local {
            e.push(("ends_local".into(), "must be after starts_local".into()));
        }
        if !(100..=1000).contains(&self.multiplier_pct) {
            e.push(("multiplier_pct".into(), "must be between 100 and 1000".into()));
        }
        if self.bonus_stamps > 100 {
            e.push(("bonus_stamps".into(), "must be at most 100".into()));
        }
        if self.multiplier_pct == 100 && self.bonus_stamps == 0 {
            e.push(("multiplier_pct".into(), "a campaign must multiply points or add stamps".into()));
        }
        if self.max_per_card == Some(0) {
            e.push(("max_per_card".into(), "must be at least 1 (leave it out for no limit)".into()));
        }
        e
    }

    /// Whether it applies at `place` (a store) at instant `at`, given the
    /// store's time zone.
    pub fn applies(&self, place: &Place, tz: Tz, at: DateTime<Utc>) -> bool {
        if !self.is_active {
            return false;
        }
        let local = at.with_timezone(&tz).naive_local();
        if local < self.starts_local || local >= self.ends_local {
            return false;
        }
        let everywhere = self.brand_ids.is_empty() && self.store_ids.is_empty();
        everywhere
            || place.store_id.is_some_and(|s| self.store_ids.contains(&s))
            || place.brand_id.is_some_and(|b| self.brand_ids.contains(&b))
    }
}

/// The campaigns that apply to one operation, and what they add up to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CampaignEffect {
    pub multiplier_pct: u32,
    pub bonus_stamps: u32,
    /// Campaigns that gave something (each counts one use for the card).
    pub applied: Vec<Uuid>,
}

/// Combine the campaigns applying now, skipping those the card has used up.
/// `uses(id)` is how often the card already benefited from campaign `id`.
pub fn campaign_effect<'a>(
    applying: impl IntoIterator<Item = &'a Campaign>,
    uses: impl Fn(Uuid) -> u32,
    wants_points: bool,
) -> CampaignEffect {
    let mut effect = CampaignEffect { multiplier_pct: 100, ..Default::default() };
    let mut best: Option<(u32, Uuid)> = None;
    for c in applying {
        if c.max_per_card.is_some_and(|max| uses(c.id) >= max) {
            continue;
        }
        if wants_points {
            if c.multiplier_pct > 100 && best.is_none_or(|(m, _)| c.multiplier_pct > m) {
                best = Some((c.multiplier_pct, c.id));
            }
        } else if c.bonus_stamps > 0 {
            effect.bonus_stamps += c.bonus_stamps;
            effect.applied.push(c.id);
        }
    }
    if let Some((m, id)) = best {
        effect.multiplier_pct = m;
        effect.applied.push(id);
    }
    effect
}

/// The store-local calendar day of an instant, for daily caps.
pub fn local_day(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// How much of `requested` fits under a daily cap given what was earned today.
pub fn within_cap(requested: i64, earned_today: i64, cap: Option<i64>) -> i64 {
    match cap {
        None => requested.max(0),
        Some(cap) => requested.clamp(0, (cap - earned_today).max(0)),
    }
}

/// Where a program can be used; both empty = at every store of the business.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    #[serde(default)]
    pub brand_ids: Vec<BrandId>,
    #[serde(default)]
    pub store_ids: Vec<StoreId>,
}

impl Availability {
    pub fn includes(&self, place: &Place) -> bool {
        (self.brand_ids.is_empty() && self.store_ids.is_empty())
            || place.store_id.is_some_and(|s| self.store_ids.contains(&s))
            || place.brand_id.is_some_and(|b| self.brand_ids.contains(&b))
    }
}

/// A loyalty program of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub id: Uuid,
    pub business_id: crate::ids::BusinessId,
    pub name: String,
    pub description: Option<String>,
    pub rules: ProgramRules,
    pub availability: Availability,
    /// The rules version: bumped on every change; transactions record it.
    pub version: i64,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A reward in a program's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reward {
    pub id: Uuid,
    pub program_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub image_url: Option<String>,
    /// In stamps or points, as the program counts.
    pub cost: i64,
    /// `None` = unlimited.
    pub stock: Option<i64>,
    pub active_from: Option<DateTime<Utc>>,
    pub active_until: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub version: i64,
}

impl Reward {
    /// Whether an operation newly lets the card afford this reward: one that
    /// earns (stamps, points, a positive adjustment) and took the balance from
    /// below the cost to at least the cost. What the "reward earned" notice is
    /// sent for.
    pub fn newly_covered(cost: i64, kind: crate::card::TxKind, delta: i64, balance_after: i64) -> bool {
        Self::may_be_earned(kind, delta) && balance_after.saturating_sub(delta) < cost && cost <= balance_after
    }

    /// Whether an operation of this kind and change can earn any reward.
    pub fn may_be_earned(kind: crate::card::TxKind, delta: i64) -> bool {
        use crate::card::TxKind;
        matches!(kind, TxKind::StampIssuance | TxKind::PointsAddition | TxKind::Adjustment) && delta > 0
    }

    pub fn available_at(&self, at: DateTime<Utc>) -> bool {
        self.is_active
            && self.active_from.is_none_or(|f| at >= f)
            && self.active_until.is_none_or(|u| at < u)
            && self.stock.is_none_or(|s| s > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn points(rounding: Rounding) -> PointsRules {
        PointsRules {
            currency: Currency::parse("EUR").expect("EUR"),
            points_per_unit: 1,
            unit_minor: 100,
            rounding,
            store_overrides: BTreeMap::new(),
            daily_cap: None,
            expiry_days: None,
        }
    }

    #[test]
    fn rounding_rules() {
        let s = StoreId::new();
        assert_eq!(points(Rounding::Down).points_for(s, 1_999, 100), 19);
        assert_eq!(points(Rounding::HalfUp).points_for(s, 1_949, 100), 19);
        assert_eq!(points(Rounding::HalfUp).points_for(s, 1_950, 100), 20);
        assert_eq!(points(Rounding::Up).points_for(s, 1_901, 100), 20);
        assert_eq!(points(Rounding::Up).points_for(s, 0, 100), 0);
        assert_eq!(points(Rounding::Down).points_for(s, -500, 100), 0, "refunds earn nothing");
        assert_eq!(points(Rounding::Down).points_for(s, 1_999, 250), 49, "2.5x of 19.99 is 49.975");
    }

    #[test]
    fn store_overrides_apply() {
        let s = StoreId::new();
        let mut r = points(Rounding::Down);
        r.store_overrides.insert(s, 3);
        assert_eq!(r.points_for(s, 1_000, 100), 30);
        assert_eq!(r.points_for(StoreId::new(), 1_000, 100), 10);
    }

    #[test]
    fn currency_codes() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    fn campaign(mult: u32, bonus: u32, max: Option<u32>) -> Campaign {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
        Campaign {
            id: Uuid::now_v7(),
            program_id: Uuid::now_v7(),
            name: "Saturday".into(),
            starts_local: day.and_hms_opt(10, 0, 0).expect("t"),
            ends_local: day.and_hms_opt(14, 0, 0).expect("t"),
            brand_ids: vec![],
            store_ids: vec![],
            multiplier_pct: mult,
            bonus_stamps: bonus,
            max_per_card: max,
            is_active: true,
            version: 1,
        }
    }

    #[test]
    fn campaign_windows_are_in_store_time() {
        let c = campaign(200, 0, None);
        let place = Place::store(crate::ids::BusinessId::new(), None, StoreId::new());
        let berlin: Tz = "Europe/Berlin".parse().expect("tz");
        // 09:30 UTC is 10:30 in Berlin (CET, UTC+1): inside. 13:30 UTC is 14:30: outside.
        let inside = "2026-11-28T09:30:00Z".parse::<DateTime<Utc>>().expect("t");
        let outside = "2026-11-28T13:30:00Z".parse::<DateTime<Utc>>().expect("t");
        assert!(c.applies(&place, berlin, inside));
        assert!(!c.applies(&place, berlin, outside));
        assert!(c.applies(&place, Tz::UTC, outside), "13:30 UTC is inside in a UTC store");
        let mut targeted = c.clone();
        targeted.store_ids = vec![StoreId::new()];
        assert!(!targeted.applies(&place, berlin, inside), "another store's campaign");
        targeted.store_ids.push(place.store_id.expect("store"));
        assert!(targeted.applies(&place, berlin, inside));
    }

    #[test]
    fn highest_multiplier_wins_bonuses_add_and_caps_hold() {
        let a = campaign(150, 0, None);
        let b = campaign(300, 0, Some(1));
        let e = campaign_effect([&a, &b], |_| 0, true);
        assert_eq!(e.multiplier_pct, 300);
        assert_eq!(e.applied, vec![b.id]);
        let e = campaign_effect([&a, &b], |id| if id == b.id { 1 } else { 0 }, true);
        assert_eq!(e.multiplier_pct, 150, "b is used up for this card");
        let s1 = campaign(100, 2, None);
        let s2 = campaign(100, 1, None);
        let e = campaign_effect([&s1, &s2], |_| 0, false);
        assert_eq!(e.bonus_stamps, 3);
        assert_eq!(e.applied.len(), 2);
    }

    #[test]
    fn rule_validation_names_fields() {
        let r = ProgramRules::Stamps(StampRules {
            stamps_per_reward: 0,
            max_stamps_per_visit: 500,
            min_purchase_minor: Some(100),
            currency: None,
            min_interval_secs: 0,
            daily_cap: Some(0),
            expiry_days: Some(0),
        });
        let fields: Vec<String> = r.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "rules.stamps_per_reward",
                "rules.max_stamps_per_visit",
                "rules.currency",
                "rules.daily_cap",
                "rules.expiry_days"
            ]
        );
    }

    proptest! {
        #[test]
        fn rounding_brackets_the_exact_value(amount in 0i64..10_000_000, rate in 1u32..1000, unit in 1u32..10_000, pct in 100u32..1000) {
            let down = scaled_points(amount, rate, unit, pct, Rounding::Down);
            let half = scaled_points(amount, rate, unit, pct, Rounding::HalfUp);
            let up = scaled_points(amount, rate, unit, pct, Rounding::Up);
            prop_assert!(down <= half && half <= up);
            prop_assert!(up - down <= 1);
            let exact = amount as f64 * rate as f64 * pct as f64 / (unit as f64 * 100.0);
            prop_assert!((down as f64) <= exact + 1e-6 && exact - 1e-6 <= up as f64);
        }

        #[test]
        fn more_spend_or_a_bigger_multiplier_never_earns_less(amount in 0i64..1_000_000, extra in 0i64..100_000, pct in 100u32..1000, more in 0u32..500, r in 0usize..3) {
            let rounding = [Rounding::Down, Rounding::HalfUp, Rounding::Up][r];
            let base = scaled_points(amount, 7, 100, pct, rounding);
            prop_assert!(scaled_points(amount + extra, 7, 100, pct, rounding) >= base);
            prop_assert!(scaled_points(amount, 7, 100, pct + more, rounding) >= base);
            prop_assert_eq!(scaled_points(amount, 7, 100, 100, rounding), scaled_points(amount, 7, 100, 100, rounding));
        }

        #[test]
        fn a_daily_cap_is_never_exceeded(requests in proptest::collection::vec(0i64..500, 0..50), cap in 1i64..2000) {
            let mut today = 0;
            for r in requests {
                let got = within_cap(r, today, Some(cap));
                prop_assert!(got >= 0 && got <= r);
                today += got;
                prop_assert!(today <= cap);
            }
        }

        #[test]
        fn capped_campaign_uses_are_respected(uses in 0u32..5, max in 1u32..5) {
            let c = campaign(200, 0, Some(max));
            let e = campaign_effect([&c], |_| uses, true);
            prop_assert_eq!(e.multiplier_pct == 200, uses < max);
        }
    }
}
