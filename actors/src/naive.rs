//! The naive engine, for comparison: the obvious design with the same
//! guarantees. Each request is one database transaction that locks the card
//! (`SELECT … FOR UPDATE`, or `BEGIN IMMEDIATE` on SQLite), reads the stored
//! answer for its idempotency key, applies the same domain rules and writes the
//! same rows as a group commit of one.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use stampede_domain::card::CardState;
use stampede_domain::ids::CardId;
use stampede_domain::ledger::CommitOutcome;
use stampede_domain::ports::{Store, StoreError};

use crate::engine::CardEngine;
use crate::metrics::RuntimeMetrics;
use crate::prepare::{CardFacts, SideEffects, prepare};
use crate::request::{CardReply, CardRequest, RuntimeError};

pub struct NaiveEngine {
    store: Arc<dyn Store>,
    metrics: RuntimeMetrics,
}

impl NaiveEngine {
    pub fn new(store: Arc<dyn Store>, metrics: RuntimeMetrics) -> Arc<Self> {
        Arc::new(Self { store, metrics })
    }
}

type Slot = Arc<Mutex<Option<Result<CardReply, RuntimeError>>>>;

fn put(slot: &Slot, value: Result<CardReply, RuntimeError>) {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
}

#[async_trait]
impl CardEngine for NaiveEngine {
    async fn execute(&self, req: CardRequest) -> Result<CardReply, RuntimeError> {
        let card_id = req.card_id;
        let key = req.idempotency.as_ref().map(|i| (i.scope.clone(), i.key.clone()));
        let idem = req.idempotency.clone();
        let slot: Slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let metrics = self.metrics.clone();
        let decide = Box::new(
            move |card: Option<stampede_domain::card::Card>,
                  stored: Option<stampede_domain::ledger::IdempotencyRecord>| {
                if let (Some(rec), Some(i)) = (stored, &req.idempotency) {
                    if rec.fingerprint == i.fingerprint {
                        metrics.replays.inc();
                        put(&out, Ok(CardReply::Done { status: rec.status, body: rec.body, replayed: true }));
                    } else {
                        put(&out, Err(RuntimeError::KeyReused));
                    }
                    return None;
                }
                let Some(card) = card.filter(|c| c.program_id == req.program.program_id) else {
                    put(&out, Err(RuntimeError::NotFound));
                    return None;
                };
                let state = card.state();
                match state.execute(&req.program.rules, &req.program.campaigns, &req.command) {
                    Err(refusal) => {
                        metrics.refused(refusal.code());
                        put(&out, Ok(CardReply::Refused(refusal)));
                        None
                    }
                    Ok((mut next, effect)) => {
                        let prepared =
                            prepare(&req, CardFacts::of(&card), &state, &mut next, &effect, SideEffects::Relayed);
                        put(
                            &out,
                            Ok(CardReply::Done { status: prepared.status, body: prepared.body, replayed: false }),
                        );
                        Some(prepared.op)
                    }
                }
            },
        );
        let started = std::time::Instant::now();
        let outcome = self.store.run_locked(card_id, key, decide).await.map_err(|e| match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "naive transaction failed");
                RuntimeError::Unavailable
            }
            // Refused by the database, and it would be every time.
            _ => {
                tracing::error!(error = %e, card = %card_id, "the database refused an operation; it was not recorded");
                self.metrics.rejected.inc();
                RuntimeError::Rejected
            }
        })?;
        if let Some(CommitOutcome::Committed) = outcome {
            // One operation per transaction: the same metrics as a group
            // commit's, so the two engines read alike.
            self.metrics.batch_size.observe(1.0);
            self.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        }
        match outcome {
            None | Some(CommitOutcome::Committed) => {
                slot.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or(Err(RuntimeError::Unavailable))
            }
            // The same key committed concurrently for another card: replay it.
            Some(CommitOutcome::Duplicate) => {
                let i = idem.ok_or(RuntimeError::Unavailable)?;
                match self.store.get_idempotency(&i.scope, &i.key).await {
                    Ok(Some(rec)) if rec.fingerprint == i.fingerprint => {
                        Ok(CardReply::Done { status: rec.status, body: rec.body, replayed: true })
                    }
                    Ok(Some(_)) => Err(RuntimeError::KeyReused),
                    _ => Err(RuntimeError::Unavailable),
                }
            }
            Some(CommitOutcome::Conflict) => Err(RuntimeError::Conflict),
            Some(CommitOutcome::OutOfStock) => Ok(CardReply::Refused(stampede_domain::card::Refusal::OutOfStock)),
        }
    }

    async fn cached_state(&self, _card: CardId) -> Option<CardState> {
        None
    }

    fn name(&self) -> &'static str {
        "naive"
    }
}
