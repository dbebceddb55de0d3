//! The group-commit writers. Each is a task reading a bounded queue: it takes
//! what is waiting (at least one operation, at most `max_batch`), commits it in
//! one database transaction, answers every operation, and goes again. While a
//! commit is in flight the next batch gathers in the queue: an idle writer
//! commits at once, a busy one commits in batches as large as the load makes
//! them. A card always goes to the same writer, so its operations commit in
//! the order its actor issued them.
//!
//! An actor sends an operation before the ones ahead of it have committed,
//! computed on top of them. When one of them fails (a version conflict, a
//! key stored before, a reward out of stock, a failed commit), every later
//! operation of that card from the same read of the card (`generation`) was
//! computed on an effect that never happened, and fails as a conflict without
//! being tried: the actor runs it again after reloading. The version check
//! alone does not catch this: after another process committed to the card,
//! the version a later operation expects can be exactly the one the card has.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use stampede_domain::ids::CardId;
use stampede_domain::ledger::{CommitOp, CommitOutcome};
use stampede_domain::ports::Store;
use tokio::sync::mpsc;

use crate::metrics::RuntimeMetrics;

pub type WriteResult = Result<CommitOutcome, ()>;

pub struct WriteRequest {
    pub op: CommitOp,
    /// The read of the card (by its actor) the operation was computed on.
    pub generation: u32,
    pub done: Done,
}

/// Called, on the writer's thread, once the batch holding an operation
/// committed or failed: the card's actor takes it from there. Dropped
/// uncalled (a writer that died), it reports a failure, so the actor never
/// waits for good.
pub struct Done(Option<Box<dyn FnOnce(WriteResult) + Send>>);

impl Done {
    pub fn new(f: impl FnOnce(WriteResult) + Send + 'static) -> Self {
        Self(Some(Box::new(f)))
    }

    pub fn call(mut self, result: WriteResult) {
        if let Some(f) = self.0.take() {
            f(result);
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f(Err(()));
        }
    }
}

#[derive(Clone)]
pub struct Writers {
    queues: Arc<Vec<mpsc::Sender<WriteRequest>>>,
}

impl Writers {
    /// Start `n` writers on the current runtime.
    pub fn start(n: usize, queue: usize, max_batch: usize, store: Arc<dyn Store>, metrics: RuntimeMetrics) -> Self {
        let mut queues = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let (tx, rx) = mpsc::channel(queue.max(1));
            tokio::spawn(run(rx, max_batch.max(1), Arc::clone(&store), metrics.clone()));
            queues.push(tx);
        }
        Self { queues: Arc::new(queues) }
    }

    pub fn for_card(&self, card: CardId) -> &mpsc::Sender<WriteRequest> {
        let h = card.0.as_u64_pair().1 as usize;
        &self.queues[h % self.queues.len()]
    }
}

async fn run(mut rx: mpsc::Receiver<WriteRequest>, max_batch: usize, store: Arc<dyn Store>, metrics: RuntimeMetrics) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(max_batch);
    let mut broken = Broken::default();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        metrics.writer_queue.dec_by(batch.len() as i64);
        let mut ops = Vec::with_capacity(batch.len());
        let mut waiting = Vec::with_capacity(batch.len());
        for w in batch.drain(..) {
            let chain = (w.op.card.card_id, w.generation);
            if broken.on_a_failed_one(chain) {
                metrics.conflicts.inc();
                w.done.call(Ok(CommitOutcome::Conflict));
            } else {
                ops.push(w.op);
                waiting.push((chain, w.done));
            }
        }
        if !ops.is_empty() {
            let started = Instant::now();
            let result = store.commit_batch(&ops).await;
            metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
            metrics.batch_size.observe(ops.len() as f64);
            match result {
                Ok(outcomes) => {
                    // One outcome per operation; one missing (a store's bug)
                    // reports a failure, as dropping `done` would.
                    let mut outcomes = outcomes.into_iter();
                    for (chain, done) in waiting {
                        let outcome = outcomes.next();
                        if outcome == Some(CommitOutcome::Conflict) {
                            metrics.conflicts.inc();
                        }
                        if outcome != Some(CommitOutcome::Committed) {
                            broken.failed(chain);
                        }
                        done.call(outcome.ok_or(()));
                    }
                }
                Err(e) => {
                    metrics.commit_failures.inc();
                    tracing::error!(error = %e, size = ops.len(), "group commit failed");
                    for (chain, done) in waiting {
                        broken.failed(chain);
                        done.call(Err(()));
                    }
                }
            }
        }
        // Every operation computed on a failed one was queued before its
        // actor heard of the failure (it sends under the lock the outcome
        // needs), and none is computed after (the actor reloads first): with
        // the queue empty, none is left.
        if rx.is_empty() {
            broken.clear();
        }
    }
}

/// The cards whose chain of operations broke in this writer, with the read
/// of the card (generation) it broke in.
#[derive(Default)]
struct Broken(HashMap<CardId, u32>);

impl Broken {
    fn failed(&mut self, (card, generation): (CardId, u32)) {
        self.0.insert(card, generation);
    }

    /// Whether this operation was computed on top of one that failed; an
    /// operation from a later read of its card closes the card's entry.
    fn on_a_failed_one(&mut self, (card, generation): (CardId, u32)) -> bool {
        match self.0.get(&card) {
            Some(&g) if g == generation => true,
            Some(_) => {
                self.0.remove(&card);
                false
            }
            None => false,
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}
