//! The analytics processor (`analytics` queue): adds committed transactions
//! and app usage into the daily aggregates, each event once (the store records
//! the event id in the same database transaction), and writes business reports
//! (JSON and CSV) through the object port.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use stampede_domain::analytics::{AnalyticsQuery, DailyAggregate, TransactionEvent, UsageCount, UsageTally};
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
        let mut outcomes = self.handle_batch(std::slice::from_ref(msg)).await;
        outcomes.pop().unwrap_or(Ok(false))
    }

    /// A batch at once: the committed transactions in one database
    /// transaction, the usage events in another. Returns each message's
    /// outcome, in order (a store failure fails every message of its kind in
    /// the batch, retryably).
    pub async fn handle_batch(&self, msgs: &[QueueMessage]) -> Vec<Result<bool, Failure>> {
        let mut outcomes: Vec<Option<Result<bool, Failure>>> = msgs.iter().map(|_| None).collect();
        let (mut txs, mut tx_at) = (Vec::new(), Vec::new());
        let (mut usage, mut usage_at) = (Vec::new(), Vec::new());
        for (i, msg) in msgs.iter().enumerate() {
            if msg.message_type == UsageEvent::MESSAGE_TYPE {
                match usage_tally(&msg.body) {
                    Ok(t) => {
                        usage.push(t);
                        usage_at.push(i);
                    }
                    Err(f) => outcomes[i] = Some(Err(f)),
                }
                continue;
            }
            match serde_json::from_str::<TransactionMessage>(&msg.body) {
                Ok(tx) if tx.schema_version == TransactionMessage::SCHEMA_VERSION => {
                    txs.push(TransactionEvent::of(&tx));
                    tx_at.push(i);
                }
                Ok(tx) => {
                    outcomes[i] = Some(Err(Failure::Permanent(format!("unknown schema version {}", tx.schema_version))))
                }
                Err(e) => outcomes[i] = Some(Err(Failure::Permanent(format!("not a transaction message: {e}")))),
            }
        }
        // Which events were new is not told apart within a batch: each
        // message of an applied batch counts as handled.
        if !txs.is_empty() {
            let result = self.store.apply_transactions(&txs).await.map_err(Failure::from);
            for i in tx_at {
                outcomes[i] = Some(result.clone().map(|n| n > 0));
            }
        }
        if !usage.is_empty() {
            let result = self.store.apply_usages(&usage).await.map_err(Failure::from);
            for i in usage_at {
                outcomes[i] = Some(result.clone().map(|n| n > 0));
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

/// A usage message's tally, or why it is not one.
fn usage_tally(body: &str) -> Result<UsageTally, Failure> {
    let e: UsageEvent =
        serde_json::from_str(body).map_err(|e| Failure::Permanent(format!("not a usage event: {e}")))?;
    if !matches!(e.event.as_str(), "login" | "card_view") {
        return Err(Failure::Permanent(format!("unknown usage event {:?}", e.event)));
    }
    Ok(UsageTally { event_id: e.event_id, day: e.at.date_naive(), event: e.event, business_id: e.business_id })
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
