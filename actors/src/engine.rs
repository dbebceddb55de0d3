//! The engines behind the POS endpoints: [`ActorEngine`] (card actors and
//! group commit) and [`crate::naive::NaiveEngine`] (one database transaction per
//! request), chosen by configuration and measured against each other.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use stampede_domain::card::CardState;
use stampede_domain::ids::CardId;
use stampede_domain::ports::Store;
use tokio::sync::oneshot;

use crate::actor::{Execute, Shared};
use crate::metrics::RuntimeMetrics;
use crate::reads::CardReads;
use crate::registry::{Registry, Sent};
use crate::request::{CardReply, CardRequest, RuntimeError};
use crate::writer::Writers;

#[async_trait]
pub trait CardEngine: Send + Sync {
    /// Run one command on one card; answers only after the effect is durable.
    async fn execute(&self, request: CardRequest) -> Result<CardReply, RuntimeError>;
    /// The card's committed state if this engine holds it in memory.
    async fn cached_state(&self, card: CardId) -> Option<CardState>;
    fn name(&self) -> &'static str;
}

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Group-commit writers (each card always uses the same one).
    pub writers: usize,
    /// Largest batch a writer commits at once.
    pub max_batch: usize,
    /// How long a writer under load holds a batch open for more operations
    /// (zero: it commits what is there at once).
    pub commit_window: Duration,
    /// Operations a writer's queue holds before callers get 503.
    pub writer_queue: usize,
    /// Commands a card actor holds while it loads its card, before callers
    /// get 503.
    pub mailbox: usize,
    /// An active card's actor parks after this long without a command (its
    /// state stays in memory as an idle card).
    pub active_grace: Duration,
    /// An idle card leaves memory after this long without a command.
    pub idle_timeout: Duration,
    pub max_actors: usize,
    /// Idempotency keys whose full answers each actor keeps (the fast path).
    pub recent_keys: usize,
    /// An actor that received nothing for this long drops those answers
    /// (retries come within seconds; a late one is answered from the store).
    pub answers_for: Duration,
    /// How long, and how many, committed keys each actor recognises as
    /// retries beyond those (answered from the store, never applied again).
    pub seen_keys_for: Duration,
    pub seen_keys_max: usize,
    /// Whether every committed operation must leave the process through the
    /// outbox (history kept elsewhere, or consumers on queues elsewhere). If
    /// not, only those that may earn a reward do; the analytics are written
    /// by the commit either way.
    pub relay_all: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            writers: 1,
            max_batch: 500,
            commit_window: Duration::from_millis(1),
            writer_queue: 20_000,
            mailbox: 256,
            active_grace: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(300),
            max_actors: 1_000_000,
            recent_keys: 256,
            answers_for: Duration::from_secs(30),
            seen_keys_for: Duration::from_secs(600),
            seen_keys_max: 100_000,
            relay_all: false,
        }
    }
}

pub struct ActorEngine {
    registry: Arc<Registry>,
    shared: Arc<Shared>,
    _thread: std::thread::JoinHandle<()>,
}

impl ActorEngine {
    /// Start the writers on a thread of their own, the sweeper on another,
    /// and the arbiter that hosts actors for callers on none (all work
    /// inside or outside any runtime). In the server, actors run on the
    /// HTTP workers' arbiters (see `host`).
    pub fn start(store: Arc<dyn Store>, config: RuntimeConfig, metrics: RuntimeMetrics) -> Arc<Self> {
        let reads = CardReads::start(Arc::clone(&store), metrics.read_batch_size.clone());
        Self::start_with_reads(store, config, metrics, reads)
    }

    /// As [`ActorEngine::start`], reading cold cards through `reads` (shared
    /// with the POS path's directory, so both batch together).
    pub fn start_with_reads(
        store: Arc<dyn Store>,
        config: RuntimeConfig,
        metrics: RuntimeMetrics,
        reads: Arc<CardReads>,
    ) -> Arc<Self> {
        // Before the actors allocate: what passivation frees can then go back.
        crate::memory::fix_allocator_thresholds();
        let (tx, rx) = std::sync::mpsc::channel();
        let registry = Arc::new(Registry::new(metrics.clone()));
        let cfg = config.clone();
        let m = metrics.clone();
        let st = Arc::clone(&store);
        let thread = std::thread::Builder::new()
            .name("card-runtime".into())
            .spawn(move || {
                let Some(runtime) = current_thread_runtime("card runtime") else { return };
                runtime.block_on(async move {
                    let writers = Writers::start(
                        cfg.writers,
                        cfg.writer_queue,
                        cfg.max_batch,
                        cfg.commit_window,
                        Arc::clone(&st),
                        m,
                    );
                    let _ = tx.send(writers);
                    // The writers run as long as someone can send to them.
                    std::future::pending::<()>().await;
                });
            })
            .expect("start the card runtime thread");
        let writers = rx.recv().expect("the card runtime started");
        let fallback = fallback_arbiter();
        // The sweep scans every active actor: on its own thread, so a large
        // registry never holds a commit up.
        let sweeper = Arc::downgrade(&registry);
        let (st, cfg) = (Arc::clone(&store), config.clone());
        std::thread::Builder::new()
            .name("card-sweeper".into())
            .spawn(move || {
                let Some(runtime) = current_thread_runtime("card sweeper") else { return };
                runtime.block_on(sweep(sweeper, st, cfg));
            })
            .expect("start the card sweeper thread");
        let shared = Arc::new(Shared {
            store: Arc::clone(&store),
            cards: reads,
            writers,
            registry: Arc::clone(&registry),
            metrics: metrics.clone(),
            mailbox: config.mailbox,
            keys: crate::actor::KeyMemory {
                answers: config.recent_keys,
                seen_for: config.seen_keys_for,
                seen_max: config.seen_keys_max,
            },
            reads: std::sync::atomic::AtomicU32::new(0),
            fallback,
            side_effects: crate::prepare::SideEffects::InCommit { relay_all: config.relay_all },
        });
        Arc::new(Self { registry, shared, _thread: thread })
    }

    pub fn active_actors(&self) -> usize {
        self.registry.len()
    }

    /// Park every quiet actor and drop every idle card, at most
    /// [`crate::registry::WAKE_PER_SWEEP`] per call: call again while some
    /// remain (tests and benchmarks measure passivation).
    pub fn passivate_all(&self) {
        self.registry.sweep(Duration::ZERO, Duration::ZERO, Duration::MAX, usize::MAX);
    }

    /// Park every quiet actor (its card stays in memory, idle), at most
    /// [`crate::registry::WAKE_PER_SWEEP`] per call.
    pub fn park_all(&self) {
        self.registry.sweep(Duration::ZERO, Duration::MAX, Duration::MAX, usize::MAX);
    }

    /// Cards whose actor runs.
    pub fn running_actors(&self) -> usize {
        self.registry.running()
    }

    async fn once(&self, mut request: CardRequest) -> Result<CardReply, RuntimeError> {
        let card = request.card_id;
        let mut hint = request.card_hint.take();
        let (tx, rx) = oneshot::channel();
        let mut msg = Execute::new(Box::new(request), tx);
        // An actor that stopped under us (its arbiter went away) is replaced once.
        for _ in 0..2 {
            match self.registry.send(card, msg, &self.shared, &mut hint) {
                Sent::Delivered => return rx.await.unwrap_or(Err(RuntimeError::Unavailable)),
                Sent::Stopped(back, addr) => {
                    self.registry.drop_stopped(card, &addr);
                    msg = back;
                }
            }
        }
        msg.refuse(RuntimeError::Unavailable);
        rx.await.unwrap_or(Err(RuntimeError::Unavailable))
    }
}

/// The arbiter that hosts actors for callers on no arbiter of their own (a
/// plain tokio runtime): a thread running its own actix system.
fn fallback_arbiter() -> actix::ArbiterHandle {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("card-actors".into())
        .spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let _ = tx.send(actix::Arbiter::current());
                std::future::pending::<()>().await;
            });
        })
        .expect("start the card actors' thread");
    rx.recv().expect("the card actors' thread started")
}

#[async_trait]
impl CardEngine for ActorEngine {
    async fn execute(&self, request: CardRequest) -> Result<CardReply, RuntimeError> {
        // A version conflict is run again by the actor itself, on the card
        // as reloaded (see `actor.rs`), so no copy of the request is kept here.
        self.once(request).await
    }

    async fn cached_state(&self, card: CardId) -> Option<CardState> {
        self.registry.snapshot(card).await
    }

    fn name(&self) -> &'static str {
        "actors"
    }
}

/// A runtime for a thread of the card runtime's own (writers, sweeper, card
/// reader); logs and returns `None` if it cannot be made.
pub(crate) fn current_thread_runtime(what: &str) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            tracing::error!(error = %e, "the {what} could not start");
            None
        }
    }
}

/// Once a second: passivate idle actors, and hand memory back after many did.
/// Ends when the engine is gone.
async fn sweep(registry: Weak<Registry>, store: Arc<dyn Store>, config: RuntimeConfig) {
    let (grace, idle, quiet, cap) = (config.active_grace, config.idle_timeout, config.answers_for, config.max_actors);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // The most actors since memory was last handed back, and a second ago.
    let (mut high, mut last) = (0usize, 0usize);
    loop {
        tick.tick().await;
        let Some(registry) = registry.upgrade() else { return };
        registry.sweep(grace, idle, quiet, cap);
        // Passivated actors' memory goes back to the allocator, which keeps
        // it; after a large drop, once it stopped falling (the stopped
        // actors' memory is freed by then), hand it back to the system.
        // Handed back during the fall, most of it stayed resident (80 MiB
        // left of 1.5 GiB at 1M actors).
        // An active card weighs its actor too (about a kilobyte): parking
        // frees as much as dropping an idle card.
        let now = registry.len() + registry.running();
        high = high.max(now);
        let settled = now >= last;
        last = now;
        if settled && high - now >= (high / 10).max(10_000) {
            registry.shrink();
            high = now;
            // The store's caches filled while those cards were read.
            store.release_memory().await;
            crate::memory::release_free_memory();
        }
    }
}
