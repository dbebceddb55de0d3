//! What both adapters' group commits share: grouping a batch's operations by
//! card, the retry loop that drops duplicates (and what depends on them), and
//! how campaigns ride in a ledger row's metadata.

use std::collections::{HashMap, HashSet};

use stampede_domain::ids::CardId;
use stampede_domain::ledger::{CardUpdate, CommitOp, CommitOutcome, LedgerEntry};
use uuid::Uuid;

/// One card's share of a batch: checked against the state before its first
/// operation (its version and the entry that made it), written with the state
/// after its last, made by that operation's entry.
pub(crate) struct Group<'a> {
    pub card_id: CardId,
    pub expected_version: i64,
    pub expected_entry: Option<Uuid>,
    pub last: &'a CardUpdate,
    pub last_entry: Uuid,
}

pub(crate) fn decide_groups<'a>(ops: &[&'a CommitOp]) -> Vec<Group<'a>> {
    let mut order: Vec<Group<'a>> = Vec::new();
    let mut index: HashMap<CardId, usize> = HashMap::new();
    for op in ops {
        match index.get(&op.card.card_id) {
            Some(&i) => {
                order[i].last = &op.card;
                order[i].last_entry = op.entry.id;
            }
            None => {
                index.insert(op.card.card_id, order.len());
                order.push(Group {
                    card_id: op.card.card_id,
                    expected_version: op.card.expected_version,
                    expected_entry: op.card.expected_entry,
                    last: &op.card,
                    last_entry: op.entry.id,
                });
            }
        }
    }
    order
}

/// The result of one attempt: the cards whose update went through, or the
/// operations (positions in the attempted slice) to drop before trying again,
/// with why: their key already existed, or their reward's stock ran out.
pub(crate) type Attempt = Result<HashSet<CardId>, Vec<(usize, CommitOutcome)>>;

/// The retry loop's bookkeeping (kept synchronous so the adapters' futures
/// stay `Send`): run attempts on `live()` until `record` says done. A duplicate
/// is dropped with every later operation of its card (they were computed on top
/// of it).
pub(crate) struct Retry {
    outcome: Vec<Option<CommitOutcome>>,
}

impl Retry {
    pub fn new(n: usize) -> Self {
        Self { outcome: vec![None; n] }
    }

    /// Positions (in the batch) of the operations still undecided.
    pub fn live(&self) -> Vec<usize> {
        (0..self.outcome.len()).filter(|i| self.outcome[*i].is_none()).collect()
    }

    /// Record an attempt on `live`; true when the batch is decided.
    pub fn record(&mut self, ops: &[CommitOp], live: &[usize], attempt: Attempt) -> bool {
        match attempt {
            Ok(updated) => {
                for &i in live {
                    self.outcome[i] = Some(if updated.contains(&ops[i].card.card_id) {
                        CommitOutcome::Committed
                    } else {
                        CommitOutcome::Conflict
                    });
                }
                true
            }
            Err(drops) => {
                for (d, why) in drops {
                    let i = live[d];
                    self.outcome[i] = Some(why);
                    let card = ops[i].card.card_id;
                    for &k in live.iter().filter(|&&k| k > i && ops[k].card.card_id == card) {
                        self.outcome[k].get_or_insert(CommitOutcome::Conflict);
                    }
                }
                self.live().is_empty()
            }
        }
    }

    pub fn finish(self) -> Vec<CommitOutcome> {
        self.outcome.into_iter().map(|o| o.unwrap_or(CommitOutcome::Conflict)).collect()
    }
}

/// A ledger row's metadata column: the entry's metadata plus its campaigns.
pub(crate) fn entry_metadata(e: &LedgerEntry) -> serde_json::Value {
    let mut m = match &e.metadata {
        serde_json::Value::Object(o) => o.clone(),
        serde_json::Value::Null => serde_json::Map::new(),
        other => {
            let mut o = serde_json::Map::new();
            o.insert("value".into(), other.clone());
            o
        }
    };
    if !e.campaigns.is_empty() {
        m.insert("campaigns".into(), serde_json::json!(e.campaigns));
    }
    serde_json::Value::Object(m)
}

pub(crate) fn split_metadata(mut m: serde_json::Value) -> (Vec<Uuid>, serde_json::Value) {
    let campaigns = m
        .as_object_mut()
        .and_then(|o| o.remove("campaigns"))
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    (campaigns, m)
}

/// The message the relay published for a ledger entry (the request id is in
/// the entry's metadata): what the SQL history store reads back.
pub(crate) fn history_message(e: &LedgerEntry) -> stampede_domain::ledger::TransactionMessage {
    let request_id = e.metadata.get("request_id").and_then(|r| r.as_str()).map(str::to_owned);
    stampede_domain::ledger::TransactionMessage::from_entry(e, request_id)
}
