//! The document's shape of an analytics report. The report is built by the
//! workers crate, which knows no OpenAPI; these mirror its `Report` and
//! `Totals` (a test reads a built report back through them, refusing any
//! field they do not name).

use chrono::NaiveDate;
use serde::Deserialize;
use stampede_domain::analytics::{DailyAggregate, UsageCount};
use stampede_domain::ids::BusinessId;
use utoipa::ToSchema;

/// Day rows (one per day, store and program that saw activity), totals over
/// the period, and app usage per day (the whole business only).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsReport)]
#[expect(dead_code, reason = "a schema: the report is the workers crate's")]
pub struct ReportDoc {
    business_id: BusinessId,
    from: NaiveDate,
    to: NaiveDate,
    days: Vec<DailyAggregate>,
    totals: TotalsDoc,
    usage: Vec<UsageCount>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsTotals)]
#[expect(dead_code, reason = "a schema: the report is the workers crate's")]
pub struct TotalsDoc {
    stamps_issued: i64,
    points_earned: i64,
    rewards_redeemed: i64,
    /// Sum of each day's active customers (a customer active on two days counts twice).
    active_customer_days: i64,
    new_customers: i64,
    /// Redemptions per active customer-day, 0 when nobody was active.
    redemption_rate: f64,
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use stampede_domain::analytics::{AnalyticsQuery, DailyAggregate, UsageCount};
    use stampede_domain::ids::BusinessId;
    use stampede_workers::analytics::build_report;
    use uuid::Uuid;

    use super::ReportDoc;

    #[test]
    fn a_built_report_reads_as_its_documented_shape() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("a day");
        let q = AnalyticsQuery {
            business_id: BusinessId(Uuid::new_v4()),
            from: day,
            to: day,
            store_id: None,
            program_id: None,
        };
        let row = DailyAggregate {
            day,
            store_id: None,
            program_id: Uuid::new_v4(),
            stamps_issued: 3,
            points_earned: 0,
            rewards_redeemed: 1,
            active_customers: 2,
            new_customers: 1,
        };
        let usage = UsageCount { day, event: "app_open".into(), count: 4 };
        let report = build_report(&q, vec![row], vec![usage]);
        let json = serde_json::to_value(&report).expect("json");
        serde_json::from_value::<ReportDoc>(json).expect("the report matches its schema");
    }
}
