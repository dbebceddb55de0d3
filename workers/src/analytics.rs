//! The analytics processor (`analytics` queue): adds committed transactions
//! and app usage into the daily aggregates, each event once (the store records
//! the event id in the same database transaction), and writes business reports
//! (JSON and CSV) through the object port.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use stampede_domain::analytics::{AnalyticsQuery, DailyAggregate, DailyDelta, TransactionEvent, UsageCount};
use stampede_domain::ids::BusinessId;
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::messages::UsageEvent;
use stampede_domain::ports::{ObjectStore, QueueMessage, Store};

use crate::failure::Failure;

pub struct AnalyticsProcessor {
    pub store: Arc<dyn Store>,
    pub objects: Arc<dyn ObjectStore>,
}

/// A business's report for a period: day rows, totals, usage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub business_id: BusinessId,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<DailyAggregate>,
    pub totals: Totals,
    pub usage: Vec<UsageCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub stamps_issued: i64,
    pub points_earned: i64,
    pub rewards_redeemed: i64,
    /// Sum of each day's active customers (a customer active on two days counts twice).
    pub active_customer_days: i64,
    pub new_customers: i64,
    /// Redemptions per active customer-day, 0 when nobody was active.
    pub redemption_rate: f64,
}

impl AnalyticsProcessor {
    /// One message: a committed transaction or a usage event. `Ok(false)` when
    /// the event had been counted before.
    pub async fn handle(&self, msg: &QueueMessage) -> Result<bool, Failure> {
        if msg.message_type == UsageEvent::MESSAGE_TYPE {
            let e: UsageEvent =
                serde_json::from_str(&msg.body).map_err(|e| Failure::Permanent(format!("not a usage event: {e}")))?;
            if !matches!(e.event.as_str(), "login" | "card_view") {
                return Err(Failure::Permanent(format!("unknown usage event {:?}", e.event)));
            }
            return Ok(self.store.apply_usage(e.event_id, e.at.date_naive(), &e.event, e.business_id).await?);
        }
        let tx: TransactionMessage = serde_json::from_str(&msg.body)
            .map_err(|e| Failure::Permanent(format!("not a transaction message: {e}")))?;
        if tx.schema_version != TransactionMessage::SCHEMA_VERSION {
            return Err(Failure::Permanent(format!("unknown schema version {}", tx.schema_version)));
        }
        let delta = DailyDelta::of(&tx);
        Ok(self.store.apply_transaction(tx.transaction_id, &delta, DailyDelta::counts_as_visit(&tx)).await?)
    }

    /// A batch at once: the committed transactions go in one database
    /// transaction, usage events one by one. Returns each message's outcome, in
    /// order (a store failure fails every transaction of the batch, retryably).
    pub async fn handle_batch(&self, msgs: &[QueueMessage]) -> Vec<Result<bool, Failure>> {
        let mut outcomes: Vec<Option<Result<bool, Failure>>> = msgs.iter().map(|_| None).collect();
        let mut batch = Vec::new();
        let mut positions = Vec::new();
        for (i, msg) in msgs.iter().enumerate() {
            if msg.message_type == UsageEvent::MESSAGE_TYPE {
                outcomes[i] = Some(self.handle(msg).await);
                continue;
            }
            match serde_json::from_str::<TransactionMessage>(&msg.body) {
                Ok(tx) if tx.schema_version == TransactionMessage::SCHEMA_VERSION => {
                    batch.push(TransactionEvent::of(&tx));
                    positions.push(i);
                }
                Ok(tx) => {
                    outcomes[i] = Some(Err(Failure::Permanent(format!("unknown schema version {}", tx.schema_version))))
                }
                Err(e) => outcomes[i] = Some(Err(Failure::Permanent(format!("not a transaction message: {e}")))),
            }
        }
        if !batch.is_empty() {
            let result = self.store.apply_transactions(&batch).await.map_err(Failure::from);
            for i in positions {
                outcomes[i] = Some(result.clone().map(|_| true));
            }
        }
        outcomes.into_iter().map(|o| o.unwrap_or(Ok(false))).collect()
    }

    pub async fn report(&self, q: &AnalyticsQuery) -> Result<Report, Failure> {
        let days = self.store.daily_aggregates(q).await?;
        let usage = self.store.usage_counts(Some(q.business_id), q.from, q.to).await?;
        Ok(build_report(q, days, usage))
    }

    /// Write a business's report for a period as JSON and CSV under
    /// `private/reports/<business>/`; returns the two keys.
    pub async fn store_report(&self, q: &AnalyticsQuery) -> Result<(String, String), Failure> {
        let report = self.report(q).await?;
        let base = format!("private/reports/{}/{}_{}", q.business_id.0, q.from, q.to);
        let json = serde_json::to_vec_pretty(&report).map_err(|e| Failure::Permanent(e.to_string()))?;
        let (json_key, csv_key) = (format!("{base}.json"), format!("{base}.csv"));
        self.objects.put(&json_key, &json, "application/json").await.map_err(Failure::from)?;
        self.objects.put(&csv_key, report_csv(&report).as_bytes(), "text/csv").await.map_err(Failure::from)?;
        Ok((json_key, csv_key))
    }
}

pub fn build_report(q: &AnalyticsQuery, days: Vec<DailyAggregate>, usage: Vec<UsageCount>) -> Report {
    let sum = |f: fn(&DailyAggregate) -> i64| days.iter().map(f).sum::<i64>();
    let active = sum(|d| d.active_customers);
    let redeemed = sum(|d| d.rewards_redeemed);
    let totals = Totals {
        stamps_issued: sum(|d| d.stamps_issued),
        points_earned: sum(|d| d.points_earned),
        rewards_redeemed: redeemed,
        active_customer_days: active,
        new_customers: sum(|d| d.new_customers),
        redemption_rate: if active == 0 { 0.0 } else { redeemed as f64 / active as f64 },
    };
    Report { business_id: q.business_id, from: q.from, to: q.to, days, totals, usage }
}

/// One line per day, store and program, as spreadsheets read it.
pub fn report_csv(r: &Report) -> String {
    let mut out = String::from(
        "day,store_id,program_id,stamps_issued,points_earned,rewards_redeemed,active_customers,new_customers\n",
    );
    for d in &r.days {
        let store = d.store_id.map(|s| s.0.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            d.day,
            store,
            d.program_id,
            d.stamps_issued,
            d.points_earned,
            d.rewards_redeemed,
            d.active_customers,
            d.new_customers
        );
    }
    out
}
