//! The group-commit writers. Each is a task reading a bounded queue: it takes
//! what is waiting (at least one operation, at most `max_batch`), commits it in
//! one database transaction, answers every operation, and goes again. A card
//! always goes to the same writer, so its operations commit in the order its
//! actor issued them.
//!
//! Most of a commit's cost is per call, not per operation (a round trip, a
//! transaction, a WAL flush), so a writer under load holds its batch open for
//! a short window (`window`, 1 ms by default) to let more operations join. It
//! waits only when the recent arrival rate says at least one more is likely
//! within the window: a lone request on a quiet server commits at once.
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
use std::time::{Duration, Instant};

use stampede_domain::ids::CardId;
use stampede_domain::ledger::{CommitOp, CommitOutcome};
use stampede_domain::ports::{Committer, Store, StoreError, StoreResult};
use tokio::sync::mpsc;

use crate::gather::Gather;
use crate::metrics::RuntimeMetrics;

pub type WriteResult = Result<CommitOutcome, WriteFailure>;

/// Why an operation was not committed, when it was not the store's verdict
/// on the operation itself (a conflict, a duplicate, out of stock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// The database could not be reached or was busy: nothing was written,
    /// and the same operation may commit if tried again.
    Unavailable,
    /// The database refuses this operation (a constraint, a value it cannot
    /// store) and would refuse it every time: it was isolated from its batch,
    /// whose other operations committed.
    Rejected,
}

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
            f(Err(WriteFailure::Unavailable));
        }
    }
}

#[derive(Clone)]
pub struct Writers {
    queues: Arc<Vec<mpsc::Sender<WriteRequest>>>,
}

impl Writers {
    /// Start `n` writers on the current runtime; each holds a batch open
    /// for at most `window` while operations keep arriving.
    pub fn start(
        n: usize,
        queue: usize,
        max_batch: usize,
        window: Duration,
        store: Arc<dyn Store>,
        metrics: RuntimeMetrics,
    ) -> Self {
        let mut queues = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let (tx, rx) = mpsc::channel(queue.max(1));
            let gather = Gather::new(max_batch, window);
            tokio::spawn(run(rx, gather, Arc::clone(&store), metrics.clone()));
            queues.push(tx);
        }
        Self { queues: Arc::new(queues) }
    }

    pub fn for_card(&self, card: CardId) -> &mpsc::Sender<WriteRequest> {
        let h = card.0.as_u64_pair().1 as usize;
        &self.queues[h % self.queues.len()]
    }
}

async fn run(mut rx: mpsc::Receiver<WriteRequest>, mut gather: Gather, store: Arc<dyn Store>, metrics: RuntimeMetrics) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(gather.max_batch);
    let mut broken = Broken::default();
    let mut target = Target { own: store.committer(), store };
    while let Some(first) = rx.recv().await {
        let opened = Instant::now();
        batch.push(first);
        gather.collect(&mut rx, &mut batch, opened).await;
        metrics.writer_queue.dec_by(batch.len() as i64);
        commit(&mut batch, &mut target, &mut broken, &metrics).await;
        // Every operation computed on a failed one was queued before its
        // actor heard of the failure (it sends under the lock the outcome
        // needs), and none is computed after (the actor reloads first): with
        // the queue empty, none is left.
        if rx.is_empty() {
            broken.clear();
        }
    }
}

/// Where a writer's batches go: its own committer, when the store gives it
/// one (PostgreSQL: a connection of its own), else the store.
struct Target {
    store: Arc<dyn Store>,
    own: Option<Box<dyn Committer>>,
}

impl Target {
    async fn commit(&mut self, ops: &[CommitOp]) -> StoreResult<Vec<CommitOutcome>> {
        match self.own.as_mut() {
            Some(own) => own.commit(ops).await,
            None => self.store.commit_batch(ops).await,
        }
    }
}

/// Commit `batch` (emptying it) and answer every operation in it.
///
/// A batch the database refuses for a reason that is not "try again" holds
/// at least one operation it would refuse every time. Failing the whole
/// batch would fail every other card in it, over and over as their callers
/// retry, so the batch is split in halves, each committed on its own, down to
/// the single operations that fail: those are answered `Rejected`, the rest
/// commit. One bad operation in a batch of `n` costs about 2·log2(n) more
/// commits. A transient failure (the database unreachable) fails what is
/// left as `Unavailable` at once: splitting would not help.
async fn commit(batch: &mut Vec<WriteRequest>, target: &mut Target, broken: &mut Broken, metrics: &RuntimeMetrics) {
    let mut ops = Vec::with_capacity(batch.len());
    let mut waiting = Vec::with_capacity(batch.len());
    for w in batch.drain(..) {
        let chain = (w.op.card.card_id, w.generation);
        if broken.on_a_failed_one(chain) {
            metrics.conflicts.inc();
            w.done.call(Ok(CommitOutcome::Conflict));
        } else {
            ops.push(w.op);
            waiting.push((chain, Some(w.done)));
        }
    }
    // Ranges of `ops` still to commit, the next on top.
    let mut todo = vec![(0, ops.len())];
    let mut first = true;
    while let Some((from, to)) = todo.pop() {
        // Operations of a range computed on one that failed in an earlier
        // range never go to the database.
        let mut live = Vec::with_capacity(to - from);
        for (i, w) in waiting.iter_mut().enumerate().take(to).skip(from) {
            if w.1.is_none() {
                continue;
            }
            if broken.on_a_failed_one(w.0) {
                metrics.conflicts.inc();
                answer(w, Ok(CommitOutcome::Conflict), broken);
            } else {
                live.push(i);
            }
        }
        if live.is_empty() {
            continue;
        }
        let started = Instant::now();
        let result = if live.len() == ops.len() {
            target.commit(&ops).await
        } else {
            let part: Vec<CommitOp> = live.iter().map(|&i| ops[i].clone()).collect();
            target.commit(&part).await
        };
        metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        metrics.batch_size.observe(live.len() as f64);
        match result {
            Ok(outcomes) => {
                // One outcome per operation; one missing (a store's bug)
                // reports a failure, as dropping `done` would.
                let mut outcomes = outcomes.into_iter();
                for &i in &live {
                    let outcome = outcomes.next().ok_or(WriteFailure::Unavailable);
                    if outcome == Ok(CommitOutcome::Conflict) {
                        metrics.conflicts.inc();
                    }
                    answer(&mut waiting[i], outcome, broken);
                }
            }
            Err(StoreError::Unavailable(e)) => {
                metrics.commit_failures.inc();
                tracing::error!(error = %e, size = live.len(), "group commit failed");
                for w in waiting.iter_mut() {
                    answer(w, Err(WriteFailure::Unavailable), broken);
                }
                return;
            }
            Err(e) if live.len() == 1 => {
                metrics.commit_failures.inc();
                metrics.rejected.inc();
                let op = &ops[live[0]];
                tracing::error!(error = %e, card = %op.card.card_id, transaction = %op.entry.id,
                    "the database refused an operation; it was not recorded");
                answer(&mut waiting[live[0]], Err(WriteFailure::Rejected), broken);
            }
            Err(e) => {
                metrics.commit_failures.inc();
                if first {
                    tracing::warn!(error = %e, size = live.len(), "group commit refused; isolating the operation");
                }
                let mid = live.len() / 2;
                // The second half after the first: a card's operations keep
                // their order.
                todo.push((live[mid], live[live.len() - 1] + 1));
                todo.push((live[0], live[mid]));
            }
        }
        first = false;
    }
}

/// Answer one waiting operation (once), and note a chain that broke.
fn answer(w: &mut ((CardId, u32), Option<Done>), result: WriteResult, broken: &mut Broken) {
    if let Some(done) = w.1.take() {
        if result != Ok(CommitOutcome::Committed) {
            broken.failed(w.0);
        }
        done.call(result);
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
