//! Turning a card state machine effect into what a commit writes. Shared by the
//! actor engine and the naive engine, so both write exactly the same rows.

use chrono::Duration;
use stampede_domain::card::{Card, CardState, Command, Effect, TxKind};
use stampede_domain::ledger::{
    CardUpdate, CommitOp, IdempotencyRecord, LedgerEntry, OutboxEvent, Stock, TRANSACTION, TRANSACTION_COUNTED,
    TransactionMessage,
};
use stampede_domain::program::Reward;
use uuid::Uuid;

use crate::request::{CardRequest, ProgramContext};

pub struct Prepared {
    pub op: CommitOp,
    /// The answer stored with the effect and sent to the caller.
    pub status: u16,
    pub body: Vec<u8>,
}

/// Who owns a card (its unchanging facts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardFacts {
    pub customer_id: stampede_domain::ids::CustomerId,
    pub business_id: stampede_domain::ids::BusinessId,
    pub program_id: Uuid,
}

impl CardFacts {
    pub fn of(card: &Card) -> Self {
        Self { customer_id: card.customer_id, business_id: card.business_id, program_id: card.program_id }
    }
}

/// Where a committed operation's side effects are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideEffects {
    /// The commit adds it to the daily analytics itself (one upsert per row
    /// touched per batch); the outbox gets a row only for what must leave the
    /// process: every operation when `relay_all` (history kept elsewhere, or
    /// consumers on queues elsewhere), else only an operation that may earn a
    /// reward, for the "reward earned" notice.
    InCommit { relay_all: bool },
    /// An outbox row for every operation, and its consumers count it (one
    /// transaction per request cannot upsert the shared daily rows without
    /// queueing every request of a store behind one row lock).
    Relayed,
}

/// The commit of `effect`, which took `before` to `after`; `after` is marked
/// as made by the new ledger entry (what the next operation on it expects).
pub fn prepare(
    req: &CardRequest,
    facts: CardFacts,
    before: &CardState,
    after: &mut CardState,
    effect: &Effect,
    side: SideEffects,
) -> Prepared {
    let id = Uuid::now_v7();
    after.last_entry = Some(id);
    // An object always, so the request id and `capped` have somewhere to go
    // (the POS handlers pass none of their own).
    let mut metadata = match &req.meta.metadata {
        serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
        other => other.clone(),
    };
    if let (Some(rid), Some(obj)) = (&req.meta.request_id, metadata.as_object_mut()) {
        obj.insert("request_id".into(), serde_json::json!(rid));
    }
    if effect.capped
        && let Some(obj) = metadata.as_object_mut()
    {
        obj.insert("capped".into(), serde_json::json!(true));
    }
    let entry = LedgerEntry {
        id,
        card_id: before.id,
        customer_id: facts.customer_id,
        business_id: facts.business_id,
        store_id: req.meta.store_id,
        program_id: req.program.program_id,
        program_version: req.program.version,
        kind: effect.kind,
        delta: effect.delta,
        points: req.program.counts_points(),
        balance_after: effect.balance_after,
        amount_minor: req.meta.amount_minor,
        currency: req.meta.currency.clone(),
        reward_id: effect.reward_id,
        reverses_id: effect.reverses,
        terminal_id: req.meta.terminal_id,
        staff_id: req.meta.staff_id,
        campaigns: effect.campaigns.clone(),
        metadata,
        created_at: req.at,
    };
    let (status, body) = (req.render)(&entry);
    let idempotency = req.idempotency.as_ref().map(|i| IdempotencyRecord {
        scope: i.scope.clone(),
        key: i.key.clone(),
        fingerprint: i.fingerprint.clone(),
        status,
        body: body.clone(),
        expires_at: req.at + Duration::from_std(i.ttl).unwrap_or(Duration::hours(24)),
    });
    let (relayed, counted) = match side {
        SideEffects::Relayed => (true, false),
        SideEffects::InCommit { relay_all } => (relay_all || may_earn_reward(&req.program, &entry), true),
    };
    let outbox = relayed.then(|| OutboxEvent {
        event_id: id,
        card_id: Some(before.id),
        topic: if counted { TRANSACTION_COUNTED } else { TRANSACTION }.into(),
        payload: serde_json::to_value(TransactionMessage::from_entry(&entry, req.meta.request_id.clone()))
            .unwrap_or_default(),
    });
    let card = CardUpdate {
        card_id: before.id,
        expected_version: before.version,
        expected_entry: before.last_entry,
        new_version: after.version,
        balance: after.balance,
        points: req.program.counts_points(),
        book: after.book.clone(),
        next_expiry_at: after.next_expiry(),
    };
    let stock = match &req.command {
        Command::Redeem { reward, .. } if reward.stock.is_some() => Some(Stock::Take(reward.id)),
        // The unit goes back with the stamps or points.
        Command::Cancel { original, .. } if original.kind == TxKind::RewardRedemption => {
            original.reward_id.map(Stock::Return)
        }
        _ => None,
    };
    Prepared { op: CommitOp { card, entry, idempotency, outbox, counted, stock }, status, body }
}

/// Whether the operation takes the card past the cost of one of the program's
/// rewards (whether that reward is on offer now, the loyalty processor checks
/// when it writes the notice).
fn may_earn_reward(program: &ProgramContext, entry: &LedgerEntry) -> bool {
    program.reward_costs.iter().any(|&cost| Reward::newly_covered(cost, entry.kind, entry.delta, entry.balance_after))
}
