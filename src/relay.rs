//! The outbox relay: copies committed outbox rows, in commit order, to the
//! transaction history store (DynamoDB; the SQL history is the ledger itself,
//! so there it writes nothing) and to their consumers (the loyalty processor,
//! and the analytics processor for the transactions whose commit did not add
//! them to the analytics itself: the naive engine's), then deletes them. The
//! card runtime writes a row only for what must leave the process. How they reach the
//! consumers is [`Consumers`]: published to the `transaction` and `analytics`
//! queues (SQS), or, in process, handed to this process's handlers at once,
//! the outbox row being the durable copy until they are done (a queue kept
//! in the database would write every transaction twice more, for nothing).
//! Every write is idempotent by transaction id (history) or de-duplicated by
//! the consumers, so a crash before the delete repeats them harmlessly.
//! Failures back off and retry. The backlog in `/metrics` is counted on a
//! timer of its own ([`watch_backlog`]), not by the relay: a pass stuck on an
//! unreachable endpoint would leave it stale, and a relay pass should not pay
//! for a `count(*)`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use stampede_domain::ledger::{PendingEvent, TRANSACTION, TRANSACTION_COUNTED, TransactionMessage};
use stampede_domain::ports::{HistoryStore, Queue, QueueMessage, Store};

use crate::workers::Handlers;

/// The consumers of committed transactions: the `transaction` topic (the
/// loyalty processor) and the `analytics` topic (only for transactions their
/// commit did not count).
const TOPICS: [&str; 2] = ["transaction", "analytics"];

/// How committed transactions reach their consumers.
pub enum Consumers {
    /// Published on their queues, for workers elsewhere (SQS).
    Queues(Arc<dyn Queue>),
    /// Handed to this process's handlers. A message a handler fails is put on
    /// its queue (`retry`, kept in the database), where the in-process workers
    /// try it again later like any other.
    InProcess { handlers: Arc<Handlers>, retry: Arc<dyn Queue>, handled: Counter },
}

pub struct Relay {
    pub store: Arc<dyn Store>,
    pub history: Arc<dyn HistoryStore>,
    pub consumers: Consumers,
    pub batch: i64,
}

/// Set `gauge` to the outbox backlog every `every`, whatever the relay is
/// doing (also while a pass waits on an endpoint that is down).
pub async fn watch_backlog(store: Arc<dyn Store>, gauge: Gauge, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.outbox_backlog().await {
            Ok(n) => {
                gauge.set(n);
            }
            Err(e) => tracing::warn!(error = %e, "outbox backlog: cannot count"),
        }
    }
}

impl Relay {
    /// One pass: deliver up to `batch` rows. Returns how many were delivered.
    pub async fn pass(&self) -> Result<usize, String> {
        let pending = self.store.pending_outbox(self.batch).await.map_err(|e| e.to_string())?;
        if pending.is_empty() {
            return Ok(0);
        }
        let seqs: Vec<i64> = pending.iter().map(|p| p.seq).collect();
        let result = self.deliver(&pending).await;
        match result {
            Ok(()) => {
                self.store.delete_delivered(&seqs).await.map_err(|e| e.to_string())?;
                Ok(seqs.len())
            }
            Err(e) => {
                let _ = self.store.mark_attempted(&seqs).await;
                Err(e)
            }
        }
    }

    async fn deliver(&self, pending: &[PendingEvent]) -> Result<(), String> {
        let mut history = Vec::new();
        // Per topic list: what goes to both consumers, and what only to the
        // loyalty processor (its commit counted it in the analytics).
        let (mut everyone, mut loyalty) = (Vec::new(), Vec::new());
        for p in pending {
            let counted = match p.event.topic.as_str() {
                TRANSACTION => false,
                TRANSACTION_COUNTED => true,
                _ => continue,
            };
            let Ok(m) = serde_json::from_value::<TransactionMessage>(p.event.payload.clone()) else { continue };
            let message = QueueMessage {
                id: m.transaction_id,
                message_type: "transaction.committed".into(),
                schema_version: m.schema_version,
                request_id: m.request_id.clone(),
                body: p.event.payload.to_string(),
            };
            if counted { &mut loyalty } else { &mut everyone }.push(message);
            history.push(m);
        }
        if history.is_empty() {
            return Ok(());
        }
        self.history.put_transactions(&history).await.map_err(|e| format!("history: {e}"))?;
        self.hand_over(&TOPICS, &everyone).await?;
        self.hand_over(&TOPICS[..1], &loyalty).await
    }

    /// Messages to the consumers of `topics`.
    async fn hand_over(&self, topics: &[&str], messages: &[QueueMessage]) -> Result<(), String> {
        if messages.is_empty() {
            return Ok(());
        }
        match &self.consumers {
            Consumers::Queues(queue) => queue.publish_to(topics, messages).await.map_err(|e| format!("queue: {e}")),
            Consumers::InProcess { handlers, retry, handled } => {
                for &topic in topics {
                    let outcomes = handlers.handle_batch(topic, messages).await;
                    let mut failed = Vec::new();
                    for (m, outcome) in messages.iter().zip(outcomes) {
                        match outcome {
                            Ok(()) => {
                                handled.inc();
                            }
                            Err(why) => {
                                tracing::warn!(topic, message_id = %m.id, %why, "queued for a retry");
                                failed.push(m.clone());
                            }
                        }
                    }
                    retry.publish(topic, &failed).await.map_err(|e| format!("queue: {e}"))?;
                }
                Ok(())
            }
        }
    }

    /// Run forever: drain, then poll; back off (up to 5 s) while failing.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.pass().await {
                Ok(n) if n as i64 >= self.batch => continue,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay: delivery failed, will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
