//! What the transaction path writes: ledger entries, idempotency records,
//! outbox events, and the card updates that go with them; and the versioned
//! message contract the outbox carries to the history store and the queues.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::card::{CardBook, TxKind};
use crate::ids::{BusinessId, CardId, CustomerId, StoreId};

/// One ledger row: an applied operation. Never updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub card_id: CardId,
    pub customer_id: CustomerId,
    pub business_id: BusinessId,
    pub store_id: Option<StoreId>,
    pub program_id: Uuid,
    /// The program version the operation was applied under.
    pub program_version: i64,
    pub kind: TxKind,
    /// Signed change of the card's balance.
    pub delta: i64,
    /// Whether the program counts points (else stamps).
    pub points: bool,
    pub balance_after: i64,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub reward_id: Option<Uuid>,
    pub reverses_id: Option<Uuid>,
    pub terminal_id: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    pub campaigns: Vec<Uuid>,
    /// Free-form: the reason of an adjustment, the request id.
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The new state of a card, written only if the stored one is still the state
/// it was computed on: `expected_version`, made by `expected_entry`. The
/// write records its own ledger entry as the card's last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardUpdate {
    pub card_id: CardId,
    pub expected_version: i64,
    pub expected_entry: Option<Uuid>,
    pub new_version: i64,
    pub balance: i64,
    pub points: bool,
    pub book: CardBook,
    /// The earliest expiry among the lots, for the expiry sweep's index.
    pub next_expiry_at: Option<DateTime<Utc>>,
}

/// The answer to one idempotent request, stored with its effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Who the key belongs to: `t:<terminal id>` or `s:<staff id>`.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request (method, path, body).
    pub fingerprint: Vec<u8>,
    pub status: u16,
    pub body: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// An outbox row's topic for a committed transaction that its consumers
/// (the loyalty processor and the analytics processor) have yet to handle.
pub const TRANSACTION: &str = "transaction";

/// An outbox row's topic for a committed transaction that its commit already
/// added to the analytics: the loyalty processor and the history store still
/// get it, the analytics processor does not.
pub const TRANSACTION_COUNTED: &str = "transaction.counted";

/// An event written with the effect and relayed afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_id: Uuid,
    pub card_id: Option<CardId>,
    pub topic: String,
    pub payload: serde_json::Value,
}

/// One operation of a group commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOp {
    pub card: CardUpdate,
    pub entry: LedgerEntry,
    pub idempotency: Option<IdempotencyRecord>,
    /// What must leave the process after the commit, if anything (the outbox
    /// row is written in the same transaction).
    pub outbox: Option<OutboxEvent>,
    /// Whether the commit itself adds the entry to the daily analytics, in the
    /// same transaction (else the analytics processor does, from the outbox).
    pub counted: bool,
    /// A reward's stock, changed in the same transaction.
    pub stock: Option<Stock>,
}

/// What an operation does to a reward's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    /// A redemption of a stocked reward takes one unit, or fails as out of stock.
    Take(Uuid),
    /// A cancelled redemption gives its unit back (a reward without a stock
    /// is left alone).
    Return(Uuid),
}

/// What became of one operation of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// Its idempotency key was already stored: the request ran before.
    Duplicate,
    /// The card's version had moved on (another process, or an earlier failed
    /// operation of this card): nothing of it was written.
    Conflict,
    /// Its reward's stock was used up: nothing of it was written.
    OutOfStock,
}

/// An outbox row waiting to be relayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub seq: i64,
    pub event: OutboxEvent,
    pub attempts: i32,
}

/// The versioned message contract of a committed transaction: the body of
/// `transaction` queue messages and of history items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionMessage {
    pub schema_version: u32,
    pub transaction_id: Uuid,
    pub card_id: CardId,
    pub customer_id: CustomerId,
    pub business_id: BusinessId,
    pub store_id: Option<StoreId>,
    pub program_id: Uuid,
    pub program_version: i64,
    pub transaction_type: TxKind,
    pub amount: i64,
    pub balance_after: i64,
    pub reward_id: Option<Uuid>,
    pub reverses_id: Option<Uuid>,
    pub timestamp: DateTime<Utc>,
    pub request_id: Option<String>,
}

impl TransactionMessage {
    pub const SCHEMA_VERSION: u32 = 1;

    pub fn from_entry(e: &LedgerEntry, request_id: Option<String>) -> Self {
        Self {
            schema_version: Self::SCHEMA_VERSION,
            transaction_id: e.id,
            card_id: e.card_id,
            customer_id: e.customer_id,
            business_id: e.business_id,
            store_id: e.store_id,
            program_id: e.program_id,
            program_version: e.program_version,
            transaction_type: e.kind,
            amount: e.delta,
            balance_after: e.balance_after,
            reward_id: e.reward_id,
            reverses_id: e.reverses_id,
            timestamp: e.created_at,
            request_id,
        }
    }
}

/// The current time at the precision every store keeps (microseconds), so a
/// value reads back equal to what was written.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    chrono::DurationRound::duration_trunc(t, chrono::Duration::microseconds(1)).unwrap_or(t)
}
