//! The workers in process (the embedded default): one task drains the
//! in-process `transaction` and `email` queues through the same handlers the
//! Lambda functions and `stampede worker` run. A retryable failure puts the
//! message back (up to `MAX_ATTEMPTS`, with a growing pause); a permanent one,
//! or the last attempt, is logged as a dead letter and kept in memory for
//! `/metrics`. The in-process queues are volatile: messages queued but not
//! yet handled are lost with the process (the outbox has already marked them
//! delivered).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use stampede_domain::ports::{Queue, QueueMessage};
use stampede_store::queue::InProcessQueue;
use stampede_workers::email_worker::EmailWorker;
use stampede_workers::failure::Failure;
use stampede_workers::loyalty::LoyaltyProcessor;
use tracing::Instrument;

pub const TOPICS: [&str; 2] = ["transaction", "email"];
const MAX_ATTEMPTS: u32 = 5;
const BATCH: usize = 100;

pub struct InProcessWorkers {
    pub queue: Arc<InProcessQueue>,
    pub email: EmailWorker,
    pub loyalty: LoyaltyProcessor,
    pub handled: Counter,
    pub dead_letters: Counter,
}

impl InProcessWorkers {
    /// Attach the consumers now, so nothing published before the first pass
    /// is dropped (a topic without a consumer keeps nothing).
    pub fn attach(queue: &InProcessQueue) {
        for topic in TOPICS {
            let _ = queue.take(topic, 0);
        }
    }

    async fn handle(&self, topic: &str, msg: &QueueMessage) -> Result<(), Failure> {
        // One span per message, carrying the request id of the API call it came from.
        let span = tracing::info_span!("worker", topic, message_id = %msg.id, request_id = msg.request_id.as_deref());
        async {
            match topic {
                "transaction" => self.loyalty.handle(&msg.body).await.map(|_| ()),
                "email" => self.email.handle(&msg.body).await.map(|_| ()),
                other => Err(Failure::Permanent(format!("no handler for topic {other}"))),
            }
        }
        .instrument(span)
        .await
    }

    /// One pass over every topic; returns how many messages were taken.
    pub async fn pass(&self, attempts: &mut HashMap<uuid::Uuid, u32>) -> usize {
        let mut taken = 0;
        for topic in TOPICS {
            let batch = self.queue.take(topic, BATCH);
            taken += batch.len();
            let mut retry = Vec::new();
            for msg in batch {
                match self.handle(topic, &msg).await {
                    Ok(()) => {
                        attempts.remove(&msg.id);
                        self.handled.inc();
                    }
                    Err(Failure::Retryable(why)) => {
                        let n = attempts.entry(msg.id).or_insert(0);
                        *n += 1;
                        if *n >= MAX_ATTEMPTS {
                            attempts.remove(&msg.id);
                            self.dead_letters.inc();
                            tracing::error!(topic, message_id = %msg.id, %why, "dead letter after retries");
                        } else {
                            tracing::warn!(topic, message_id = %msg.id, %why, "will retry");
                            retry.push(msg);
                        }
                    }
                    Err(Failure::Permanent(why)) => {
                        attempts.remove(&msg.id);
                        self.dead_letters.inc();
                        tracing::error!(topic, message_id = %msg.id, %why, "dead letter");
                    }
                }
            }
            if !retry.is_empty() && self.queue.publish(topic, &retry).await.is_err() {
                tracing::error!(topic, n = retry.len(), "queue full: messages to retry were dropped");
            }
        }
        taken
    }

    pub async fn run(self) {
        let mut attempts = HashMap::new();
        let mut idle = Duration::from_millis(20);
        loop {
            if self.pass(&mut attempts).await == 0 || !attempts.is_empty() {
                tokio::time::sleep(idle).await;
                idle = (idle * 2).min(Duration::from_millis(200));
            } else {
                idle = Duration::from_millis(20);
            }
        }
    }
}
