//! Running the queue handlers (`stampede_workers`) outside Lambda:
//!
//! - [`InProcessWorkers`] (the embedded default): one task inside `stampede
//!   serve` drains the in-process queues, which are rows of the database
//!   (`StoreQueue`), so what was queued survives a crash: the `email` and
//!   `export` queues, app usage on `analytics`, and the committed
//!   transactions a handler failed when the outbox relay handed them over (the
//!   relay gives the rest straight to the loyalty and analytics handlers,
//!   `relay::Consumers::InProcess`). A message is taken under a lease; a
//!   retryable failure puts it back for later (up to `MAX_ATTEMPTS`
//!   deliveries); a permanent one, or the last attempt, buries it (kept in the
//!   database with the reason, logged, and counted in `/metrics`).
//! - [`SqsWorkers`] (`stampede worker`, the AWS shape on a plain host): long
//!   polling per topic, the message kept invisible while it is handled
//!   (visibility extended on a timer), deleted on success, left for redelivery
//!   on failure (SQS moves it to the dead-letter queue after the receive count).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use stampede_domain::ports::{LeasedMessage, Queue, QueueMessage, StoreResult};
use stampede_store::queue::StoreQueue;
use stampede_workers::analytics::AnalyticsProcessor;
use stampede_workers::email_worker::EmailWorker;
use stampede_workers::export::ExportWorker;
use stampede_workers::failure::Failure;
use stampede_workers::loyalty::LoyaltyProcessor;
use tracing::Instrument;

pub const TOPICS: [&str; 4] = ["transaction", "analytics", "export", "email"];
const MAX_ATTEMPTS: u32 = 5;
/// Messages per pass of the in-process workers.
const BATCH: i64 = 200;

/// The handlers of the queues, by topic.
pub struct Handlers {
    pub email: EmailWorker,
    pub loyalty: LoyaltyProcessor,
    pub analytics: AnalyticsProcessor,
    pub export: ExportWorker,
}

impl Handlers {
    /// The handlers as configured: the store, mail port and queues they use,
    /// and the key that signs unsubscribe links.
    pub fn new(
        settings: &crate::configuration::Settings,
        store: Arc<dyn stampede_domain::ports::Store>,
        mailer: Arc<dyn stampede_domain::ports::Mailer>,
        objects: Arc<dyn stampede_domain::ports::ObjectStore>,
        queue: Arc<dyn Queue>,
        links: Arc<crate::auth::links::LinkKey>,
    ) -> Self {
        let public_url = settings.server.public_url.trim_end_matches('/').to_owned();
        let base = public_url.clone();
        let (download_base, download_key) = (public_url.clone(), Arc::clone(&links));
        let unsubscribe = links;
        Self {
            export: ExportWorker {
                store: Arc::clone(&store),
                objects: Arc::clone(&objects),
                queue: Arc::clone(&queue),
                download_link: Arc::new(move |id| {
                    let expires = chrono::Utc::now() + chrono::Duration::hours(crate::api::exports::LINK_TTL_HOURS);
                    format!(
                        "{download_base}/v1/exports/{id}/download?token={}",
                        download_key.download_token(id, expires)
                    )
                }),
                scratch: settings.data_dir().join("tmp"),
                lease: Duration::from_secs(15 * 60),
            },
            email: EmailWorker {
                store: Arc::clone(&store),
                mailer,
                unsubscribe_link: Arc::new(move |c, b| {
                    Ok(format!("{base}/v1/unsubscribe?token={}", unsubscribe.token(c, b)))
                }),
                lease: Duration::from_secs(60),
            },
            analytics: AnalyticsProcessor { store: Arc::clone(&store), objects },
            loyalty: LoyaltyProcessor { store, queue, public_url },
        }
    }

    /// Several messages of one topic, outcomes in order: analytics applies the
    /// batch in one database transaction, the others go one by one.
    pub async fn handle_batch(&self, topic: &str, msgs: &[QueueMessage]) -> Vec<Result<(), Failure>> {
        if topic == "analytics" {
            let span = tracing::info_span!("worker", topic, messages = msgs.len());
            let outcomes = self.analytics.handle_batch(msgs).instrument(span).await;
            return outcomes.into_iter().map(|o| o.map(|_| ())).collect();
        }
        if topic == "transaction" {
            let span = tracing::info_span!("worker", topic, messages = msgs.len());
            let bodies: Vec<&str> = msgs.iter().map(|m| m.body.as_str()).collect();
            let outcomes = self.loyalty.handle_batch(&bodies).instrument(span).await;
            return outcomes.into_iter().map(|o| o.map(|_| ())).collect();
        }
        let mut outcomes = Vec::with_capacity(msgs.len());
        for msg in msgs {
            outcomes.push(self.handle(topic, msg).await);
        }
        outcomes
    }

    pub async fn handle(&self, topic: &str, msg: &QueueMessage) -> Result<(), Failure> {
        // One span per message, carrying the request id of the API call it came from.
        let span = tracing::info_span!("worker", topic, message_id = %msg.id, request_id = msg.request_id.as_deref());
        async {
            match topic {
                "transaction" => self.loyalty.handle(&msg.body).await.map(|_| ()),
                "email" => self.email.handle(&msg.body).await.map(|_| ()),
                "analytics" => self.analytics.handle(msg).await.map(|_| ()),
                "export" => self.export.handle(&msg.body).await.map(|_| ()),
                other => Err(Failure::Permanent(format!("no handler for topic {other}"))),
            }
        }
        .instrument(span)
        .await
    }
}

/// What the in-process queues hold, for `/metrics`: set whenever the workers
/// have drained what they can.
#[derive(Clone, Default)]
pub struct QueueGauges {
    pub waiting: Gauge,
    pub buried: Gauge,
}

pub struct InProcessWorkers {
    pub queue: Arc<StoreQueue>,
    pub handlers: Arc<Handlers>,
    pub handled: Counter,
    pub dead_letters: Counter,
    pub queued: QueueGauges,
    /// How long a taken message stays hidden from other takers
    /// (`queue.lease_secs`). If it runs out while this process still handles
    /// the message, another process may take it too: the handlers skip, by
    /// message id, what was finished before.
    pub lease: Duration,
}

impl InProcessWorkers {
    /// One pass: take up to `BATCH` messages, hand each topic's to its
    /// handler as one batch, delete what was handled, put back what failed
    /// retryably (later with every receive), bury the rest. Returns how many
    /// messages were taken.
    pub async fn pass(&self) -> StoreResult<usize> {
        let repo = self.queue.repo();
        let now = chrono::Utc::now();
        let leased = repo.lease_messages(BATCH, now, self.lease).await?;
        let taken = leased.len();
        let (mut done, mut later, mut given_up) = (Vec::with_capacity(taken), Vec::new(), Vec::new());
        for (topic, batch) in by_topic(leased) {
            let messages: Vec<QueueMessage> = batch.iter().map(|m| m.message.clone()).collect();
            let outcomes = self.handlers.handle_batch(&topic, &messages).await;
            for (m, outcome) in batch.iter().zip(outcomes) {
                let id = m.message.id;
                match outcome {
                    Ok(()) => done.push(m.seq),
                    Err(Failure::Retryable(why)) if m.receives < MAX_ATTEMPTS => {
                        tracing::warn!(topic = topic.as_str(), message_id = %id, receives = m.receives, %why, "will retry");
                        later.push((m.seq, now + retry_after(m.receives)));
                    }
                    Err(f) => {
                        tracing::error!(topic = topic.as_str(), message_id = %id, receives = m.receives, reason = %f, "dead letter");
                        given_up.push((m.seq, f.to_string()));
                    }
                }
            }
        }
        // What was handled goes first: if a later write fails, only the failed
        // messages come back when their lease runs out.
        if !done.is_empty() {
            repo.delete_messages(&done).await?;
            self.handled.inc_by(done.len() as u64);
        }
        for (seq, at) in later {
            repo.release_message(seq, at).await?;
        }
        for (seq, reason) in given_up {
            repo.bury_message(seq, &reason).await?;
            self.dead_letters.inc();
        }
        Ok(taken)
    }

    /// Run forever: drain, then wait for the next publish (or a second, for
    /// what another process published or what waits for its retry); back off
    /// while the database fails.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.pass().await {
                Ok(0) => {
                    backoff = Duration::from_millis(100);
                    if let Ok((waiting, buried)) = self.queue.repo().queue_depth().await {
                        self.queued.waiting.set(waiting);
                        self.queued.buried.set(buried);
                    }
                    self.queue.published(Duration::from_secs(1)).await;
                }
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, "in-process workers: the queue failed, will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Leased messages grouped by topic, each group in queue order, the groups
/// in the order of their first message.
fn by_topic(leased: Vec<LeasedMessage>) -> Vec<(String, Vec<LeasedMessage>)> {
    let mut groups: Vec<(String, Vec<LeasedMessage>)> = Vec::new();
    for m in leased {
        match groups.iter_mut().find(|(t, _)| *t == m.topic) {
            Some((_, batch)) => batch.push(m),
            None => groups.push((m.topic.clone(), vec![m])),
        }
    }
    groups
}

/// How long a message that failed on its `receives`-th delivery waits: 1 s,
/// then 4, 16, 64 (it is buried after `MAX_ATTEMPTS`, about a minute and a
/// half after it first failed).
fn retry_after(receives: u32) -> chrono::Duration {
    chrono::Duration::seconds(4_i64.pow(receives.saturating_sub(1).min(5)))
}

/// The handlers over SQS, for `stampede worker`.
pub struct SqsWorkers {
    pub queue: Arc<stampede_aws::sqs::SqsQueue>,
    pub handlers: Handlers,
    /// The queues' visibility timeout: a message being handled is extended
    /// every half of it.
    pub visibility_secs: i32,
}

impl SqsWorkers {
    /// One receive (long poll up to `wait_secs`) and the handling of what came.
    /// Returns how many messages were handled successfully.
    pub async fn pass(&self, topic: &str, wait_secs: i32) -> Result<usize, stampede_domain::ports::StoreError> {
        let received = self.queue.receive(topic, 10, wait_secs).await?;
        let mut done = 0;
        for r in received {
            if self.handle_one(topic, &r).await {
                done += 1;
            }
        }
        Ok(done)
    }

    async fn handle_one(&self, topic: &str, r: &stampede_aws::sqs::Received) -> bool {
        // Keep the message invisible while it is being handled.
        let every = Duration::from_secs(u64::try_from(self.visibility_secs / 2).unwrap_or(1).max(1));
        let heartbeat = async {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = self.queue.extend(topic, &r.receipt_handle, self.visibility_secs).await {
                    tracing::warn!(topic, message_id = %r.message.id, error = %e, "could not extend visibility");
                }
            }
        };
        let outcome = tokio::select! {
            outcome = self.handlers.handle(topic, &r.message) => outcome,
            () = heartbeat => unreachable!("the heartbeat never ends"),
        };
        match outcome {
            Ok(()) => match self.queue.delete(topic, &r.receipt_handle).await {
                Ok(()) => true,
                Err(e) => {
                    // Handled but not deleted: it comes back and is skipped then.
                    tracing::warn!(topic, message_id = %r.message.id, error = %e, "could not delete");
                    true
                }
            },
            Err(f) => {
                let permanent = !f.is_retryable();
                tracing::error!(topic, message_id = %r.message.id, receive_count = r.receive_count, permanent,
                    reason = %f, "message failed; left for redelivery and then the dead-letter queue");
                // Back off: the next delivery comes later with every receive;
                // a permanent failure comes back at once to reach the DLQ soon.
                let delay = if permanent { 0 } else { (10 * r.receive_count).min(300) as i32 };
                let _ = self.queue.extend(topic, &r.receipt_handle, delay).await;
                false
            }
        }
    }

    /// Poll every topic until the process is asked to stop.
    pub async fn run(self: Arc<Self>) {
        let mut tasks = Vec::new();
        for topic in TOPICS {
            let me = Arc::clone(&self);
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = me.pass(topic, 20).await {
                        tracing::warn!(topic, error = %e, "receive failed; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}
