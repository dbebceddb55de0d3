//! The runtime's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Clone)]
pub struct RuntimeMetrics {
    /// Cards in memory: active actors and parked (idle) state.
    pub active_actors: Gauge,
    /// actix actors running (active cards).
    pub running_actors: Gauge,
    pub activations: Counter,
    /// Actors that parked (their card went idle).
    pub passivations: Counter,
    /// Idle cards dropped from memory.
    pub evictions: Counter,
    /// Operations waiting in the writers' queues.
    pub writer_queue: Gauge,
    /// Commands in flight inside card actors (accepted, not yet answered).
    pub actor_inflight: Gauge,
    pub batch_size: Histogram,
    /// Cards per batch of the cold-card reads.
    pub read_batch_size: Histogram,
    pub commit_seconds: Histogram,
    pub commit_failures: Counter,
    /// Operations the database refused for good (isolated from their batch).
    pub rejected: Counter,
    pub conflicts: Counter,
    pub replays: Counter,
    /// Keys looked up in the store before applying (a card with more keys
    /// per window than its actor remembers).
    pub key_lookups: Counter,
    /// Commands run again by their actor after a version conflict.
    pub reruns: Counter,
    pub overloaded: Counter,
    pub refusals: Family<CodeLabel, Counter>,
}

impl RuntimeMetrics {
    pub fn new() -> Self {
        Self {
            active_actors: Gauge::default(),
            running_actors: Gauge::default(),
            activations: Counter::default(),
            passivations: Counter::default(),
            evictions: Counter::default(),
            writer_queue: Gauge::default(),
            actor_inflight: Gauge::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            read_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 9)),
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            commit_failures: Counter::default(),
            rejected: Counter::default(),
            conflicts: Counter::default(),
            replays: Counter::default(),
            key_lookups: Counter::default(),
            reruns: Counter::default(),
            overloaded: Counter::default(),
            refusals: Family::default(),
        }
    }

    pub fn register(&self, r: &mut Registry) {
        r.register(
            "card_actors_active",
            "Cards in memory (active actors and parked state)",
            self.active_actors.clone(),
        );
        r.register("card_actors_running", "Card actors running (active cards)", self.running_actors.clone());
        r.register("card_actor_activations", "Card actors started", self.activations.clone());
        r.register("card_actor_passivations", "Card actors parked (card idle)", self.passivations.clone());
        r.register("card_evictions", "Idle cards dropped from memory", self.evictions.clone());
        r.register("writer_queue_depth", "Operations waiting for a group commit", self.writer_queue.clone());
        r.register(
            "card_commands_inflight",
            "Commands accepted by card actors, not yet answered",
            self.actor_inflight.clone(),
        );
        r.register("commit_batch_size", "Operations per group commit", self.batch_size.clone());
        r.register(
            "card_read_batch_size",
            "Cold cards per batched read (a query by id, one by code)",
            self.read_batch_size.clone(),
        );
        r.register("commit_duration_seconds", "Time of one group commit", self.commit_seconds.clone());
        r.register("commit_failures", "Group commits that failed", self.commit_failures.clone());
        r.register(
            "rejected_operations",
            "Operations the database refused for good, isolated from their batch",
            self.rejected.clone(),
        );
        r.register("card_version_conflicts", "Operations refused by the version check", self.conflicts.clone());
        r.register("idempotent_replays", "Requests answered with a stored answer", self.replays.clone());
        r.register(
            "idempotency_lookups",
            "Keys looked up before applying, on cards with more keys than their actor remembers",
            self.key_lookups.clone(),
        );
        r.register(
            "card_command_reruns",
            "Commands run again by their actor after a version conflict",
            self.reruns.clone(),
        );
        r.register("overloaded_refusals", "Requests refused because a queue was full", self.overloaded.clone());
        r.register("pos_refusals", "POS commands refused by the rules, by code", self.refusals.clone());
    }

    pub fn refused(&self, code: &str) {
        self.refusals.get_or_create(&CodeLabel { code: code.to_owned() }).inc();
    }
}

impl Default for RuntimeMetrics {
    fn default() -> Self {
        Self::new()
    }
}
