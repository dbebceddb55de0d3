//! Cold cards, read together.
//!
//! A card the process does not hold is read from the store: by the POS path
//! when it resolves a card it has not seen (the read becomes the actor's
//! starting state) and by an actor that reloads its card. On a store chain's
//! day most cards are cold (a customer comes back after days, not seconds),
//! so a burst reads nearly as many cards as it writes, and each read alone
//! costs a round trip and a database transaction of its own for one row.
//!
//! [`CardReads`] queues those reads and answers them from one query per
//! batch (`Store::get_cards`, `Store::find_cards_by_code`), gathered the way
//! the writers gather commits ([`crate::gather`]): what waits is taken at
//! once, and a short window (half a millisecond, rounded up to the timer's
//! millisecond) is slept through only while reads arrive fast enough to fill
//! it; a lone read on a quiet server goes at once. A few batches are read at a time, so a slow query does not hold
//! up the next. It runs on a thread of its own, which opens and polls the
//! database connections it uses.
//!
//! A read answered from a batch is as fresh as one made alone: its query
//! starts after the read was asked for. (A state gone stale by the time it
//! is used is caught by the commit's version check, as before.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::Histogram;
use stampede_domain::card::Card;
use stampede_domain::ids::CardId;
use stampede_domain::ports::{Store, StoreError, StoreResult};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::gather::Gather;

/// How long a batch of reads stays open for more, at most.
const WINDOW: Duration = Duration::from_micros(500);
/// The most cards one query reads.
const MAX_BATCH: usize = 256;
/// Batches read at the same time.
const IN_FLIGHT: usize = 4;
/// Reads waiting for a batch; past this, callers wait for room.
const QUEUE: usize = 16_384;

enum Key {
    Id(CardId),
    Code(String),
}

struct Wanted {
    key: Key,
    reply: oneshot::Sender<StoreResult<Option<Card>>>,
}

/// Reads cards by id or counter code, many to a query.
pub struct CardReads {
    tx: mpsc::Sender<Wanted>,
}

impl CardReads {
    /// Start the reader on a thread of its own; it ends when the last
    /// handle is dropped. `batch_size` observes the cards per query.
    pub fn start(store: Arc<dyn Store>, batch_size: Histogram) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("card-reads".into())
            .spawn(move || {
                if let Some(runtime) = crate::engine::current_thread_runtime("card reader") {
                    runtime.block_on(run(rx, store, batch_size));
                }
            })
            .expect("start the card reader's thread");
        Arc::new(Self { tx })
    }

    /// The card with this id, if it exists.
    pub async fn by_id(&self, id: CardId) -> StoreResult<Option<Card>> {
        self.read(Key::Id(id)).await
    }

    /// The card with this counter code (exact, as stored), if one has it.
    pub async fn by_code(&self, code: &str) -> StoreResult<Option<Card>> {
        self.read(Key::Code(code.to_owned())).await
    }

    async fn read(&self, key: Key) -> StoreResult<Option<Card>> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the card reader stopped".into());
        self.tx.send(Wanted { key, reply }).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(mut rx: mpsc::Receiver<Wanted>, store: Arc<dyn Store>, batch_size: Histogram) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut gather = Gather::new(MAX_BATCH, WINDOW);
    loop {
        // A free slot first: while every slot is busy, reads pile up in the
        // queue and the next batch takes them all.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        let Some(first) = rx.recv().await else { return };
        let opened = Instant::now();
        let mut batch = Vec::with_capacity(8);
        batch.push(first);
        gather.collect(&mut rx, &mut batch, opened).await;
        batch_size.observe(batch.len() as f64);
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            answer(store.as_ref(), batch).await;
            drop(slot);
        });
    }
}

/// Read a batch's cards (one query by ids, one by codes, as needed) and
/// answer every read in it; a failed query fails the reads that needed it.
async fn answer(store: &dyn Store, batch: Vec<Wanted>) {
    let mut ids = Vec::new();
    let mut codes = Vec::new();
    for w in &batch {
        match &w.key {
            Key::Id(id) if !ids.contains(id) => ids.push(*id),
            Key::Code(code) if !codes.contains(code) => codes.push(code.clone()),
            _ => {}
        }
    }
    let by_id = if ids.is_empty() { Ok(Vec::new()) } else { store.get_cards(&ids).await };
    let by_code = if codes.is_empty() { Ok(Vec::new()) } else { store.find_cards_by_code(&codes).await };
    let by_id = by_id.map(|cards| cards.into_iter().map(|c| (c.id, c)).collect::<HashMap<_, _>>());
    let by_code = by_code.map(|cards| cards.into_iter().map(|c| (c.code.clone(), c)).collect::<HashMap<_, _>>());
    for w in batch {
        let found = match &w.key {
            Key::Id(id) => by_id.as_ref().map(|m| m.get(id).cloned()),
            Key::Code(code) => by_code.as_ref().map(|m| m.get(code).cloned()),
        };
        let _ = w.reply.send(found.map_err(Clone::clone));
    }
}
