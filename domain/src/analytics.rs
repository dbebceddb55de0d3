//! Usage analytics: what the analytics worker adds up per business, store,
//! program and day, and what a report shows.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::TxKind;
use crate::ids::{BusinessId, CustomerId, StoreId};
use crate::ledger::{LedgerEntry, TransactionMessage};

/// One transaction's contribution to a day's aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDelta {
    pub business_id: BusinessId,
    /// `None` for operations at no store (a manager's adjustment, an expiry).
    pub store_id: Option<StoreId>,
    pub program_id: Uuid,
    pub day: NaiveDate,
    pub customer_id: CustomerId,
    pub stamps_issued: i64,
    pub points_earned: i64,
    pub rewards_redeemed: i64,
}

impl DailyDelta {
    /// Gross counts: issued stamps and earned points as given, each redemption
    /// once; cancellations, adjustments and expiries count as activity only.
    pub fn of(tx: &TransactionMessage) -> Self {
        let (stamps_issued, points_earned, rewards_redeemed) = gross(tx.transaction_type, tx.amount);
        Self {
            business_id: tx.business_id,
            store_id: tx.store_id,
            program_id: tx.program_id,
            day: tx.timestamp.date_naive(),
            customer_id: tx.customer_id,
            stamps_issued,
            points_earned,
            rewards_redeemed,
        }
    }

    /// The same contribution, read off the ledger entry (what a commit that
    /// counts its own operations has at hand).
    pub fn of_entry(e: &LedgerEntry) -> Self {
        let (stamps_issued, points_earned, rewards_redeemed) = gross(e.kind, e.delta);
        Self {
            business_id: e.business_id,
            store_id: e.store_id,
            program_id: e.program_id,
            day: e.created_at.date_naive(),
            customer_id: e.customer_id,
            stamps_issued,
            points_earned,
            rewards_redeemed,
        }
    }

    /// Expiries run without a customer visit: they do not make anyone active.
    pub fn counts_as_visit(tx: &TransactionMessage) -> bool {
        is_visit(tx.transaction_type)
    }
}

/// (stamps issued, points earned, rewards redeemed) of one operation.
fn gross(kind: TxKind, amount: i64) -> (i64, i64, i64) {
    match kind {
        TxKind::StampIssuance => (amount, 0, 0),
        TxKind::PointsAddition => (0, amount, 0),
        TxKind::RewardRedemption => (0, 0, 1),
        TxKind::Cancellation | TxKind::Adjustment | TxKind::Expiry => (0, 0, 0),
    }
}

/// Whether an operation of this kind means the customer was there.
pub fn is_visit(kind: TxKind) -> bool {
    kind != TxKind::Expiry
}

/// One committed transaction for the aggregates: its event id (the
/// transaction id), its contribution, and whether it was a customer visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEvent {
    pub event_id: Uuid,
    pub delta: DailyDelta,
    pub visit: bool,
}

impl TransactionEvent {
    pub fn of(tx: &TransactionMessage) -> Self {
        Self { event_id: tx.transaction_id, delta: DailyDelta::of(tx), visit: DailyDelta::counts_as_visit(tx) }
    }

    pub fn of_entry(e: &LedgerEntry) -> Self {
        Self { event_id: e.id, delta: DailyDelta::of_entry(e), visit: is_visit(e.kind) }
    }
}

/// One app usage event for the usage counts: its event id, its day, what it
/// was (`login` or `card_view`) and its business, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTally {
    pub event_id: Uuid,
    pub day: NaiveDate,
    pub event: String,
    pub business_id: Option<BusinessId>,
}

/// App usage counted in memory: `count` more events of one kind (`login`,
/// `card_view`) on one day, for one business or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub day: NaiveDate,
    pub event: String,
    pub business_id: Option<BusinessId>,
    pub count: i64,
}

/// A day's aggregate for one store and program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyAggregate {
    pub day: NaiveDate,
    pub store_id: Option<StoreId>,
    pub program_id: Uuid,
    pub stamps_issued: i64,
    pub points_earned: i64,
    pub rewards_redeemed: i64,
    pub active_customers: i64,
    pub new_customers: i64,
}

/// A day's count of one kind of app usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageCount {
    pub day: NaiveDate,
    pub event: String,
    pub count: i64,
}

/// Which aggregates to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsQuery {
    pub business_id: BusinessId,
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub store_id: Option<StoreId>,
    pub program_id: Option<Uuid>,
}
