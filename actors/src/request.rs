//! What a caller hands the runtime, and what it gets back.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use stampede_domain::card::{Card, Command, Refusal};
use stampede_domain::ids::{CardId, StoreId};
use stampede_domain::ledger::LedgerEntry;
use stampede_domain::program::{Campaign, ProgramRules};
use uuid::Uuid;

/// The program a command runs under: resolved (and cached) by the caller.
#[derive(Debug, Clone)]
pub struct ProgramContext {
    pub program_id: Uuid,
    pub version: i64,
    pub rules: ProgramRules,
    pub campaigns: Vec<Campaign>,
    /// What the program's rewards cost: an operation that crosses one may
    /// earn a "reward earned" notice.
    pub reward_costs: Vec<i64>,
}

impl ProgramContext {
    pub fn counts_points(&self) -> bool {
        matches!(self.rules, ProgramRules::Points(_))
    }
}

/// Ledger details that come from the request rather than the card.
#[derive(Debug, Clone, Default)]
pub struct EntryMeta {
    pub store_id: Option<StoreId>,
    pub terminal_id: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub request_id: Option<String>,
    pub metadata: serde_json::Value,
}

/// The idempotency key of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyInput {
    /// Whose key: `t:<terminal id>` or `s:<staff id>`.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request.
    pub fingerprint: Vec<u8>,
    /// How long the answer is kept for replays.
    pub ttl: Duration,
}

/// Renders the answer (status, JSON body) of a committed operation. It is
/// stored with the effect, so a replay returns exactly these bytes.
pub type Render = fn(&LedgerEntry) -> (u16, Vec<u8>);

pub struct CardRequest {
    pub card_id: CardId,
    pub program: Arc<ProgramContext>,
    pub command: Command,
    pub meta: EntryMeta,
    pub idempotency: Option<IdempotencyInput>,
    pub render: Render,
    /// When the caller received it (for the transaction's timestamp).
    pub at: DateTime<Utc>,
    /// The card as the caller read it just now, if it did (to authorize the
    /// request). A card actor that is not running starts from this copy
    /// instead of reading the card again; a copy that went stale meanwhile is
    /// refused by the commit's version check, and the actor then reloads.
    pub card_hint: Option<Box<Card>>,
}

impl CardRequest {
    /// The same request, to run again after the card changed under it: no
    /// hint (the card must be read anew).
    pub fn again(&self) -> Self {
        Self {
            card_id: self.card_id,
            program: Arc::clone(&self.program),
            command: self.command.clone(),
            meta: self.meta.clone(),
            idempotency: self.idempotency.clone(),
            render: self.render,
            at: self.at,
            card_hint: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardReply {
    /// Committed now, or (`replayed`) the stored answer of an earlier request
    /// with the same idempotency key.
    Done { status: u16, body: Vec<u8>, replayed: bool },
    /// The rules said no; nothing changed.
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("no such card")]
    NotFound,
    /// A mailbox or writer queue is full: retry shortly (503).
    #[error("overloaded")]
    Overloaded,
    /// The commit failed or the store is unreachable: retry (503).
    #[error("storage unavailable")]
    Unavailable,
    /// The card kept changing under us (another process): retry (409).
    #[error("the card changed concurrently")]
    Conflict,
    /// The idempotency key was used for a different request (422).
    #[error("idempotency key reused with a different request")]
    KeyReused,
    /// The database refuses to record this operation and always will: it
    /// was not applied, and retrying it cannot help (422).
    #[error("the operation cannot be recorded")]
    Rejected,
}
