//! App usage for the analytics worker: sign-ins and card views, published to
//! the `analytics` queue off the request path. Best effort by design: a usage
//! event that cannot be queued is dropped (logged), never slowing or failing
//! the request it describes.
//!
//! Events are gathered by one task and published together, up to `BATCH` at
//! a time, at most `EVERY` apart: one publish per event was one database
//! transaction per card view with the queues kept in the database (the
//! embedded default), and one SQS call per view in the AWS shape. The cost of
//! that is the events of the last `EVERY` if the process dies.

use std::sync::Arc;
use std::time::Duration;

use stampede_domain::ids::{BusinessId, CustomerId};
use stampede_domain::messages::UsageEvent;
use stampede_domain::ports::{Queue, QueueMessage};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Events published together at most.
const BATCH: usize = 500;
/// How long an event waits for others at most.
const EVERY: Duration = Duration::from_millis(250);
/// Events waiting to be published before new ones are dropped.
const BACKLOG: usize = 10_000;

/// The sending side, in the application state; its task ends when every
/// clone is dropped, after publishing what it holds.
#[derive(Clone)]
pub struct Usage {
    events: mpsc::Sender<QueueMessage>,
}

impl Usage {
    /// Start the publishing task on `queue`.
    pub fn start(queue: Arc<dyn Queue>) -> Self {
        let (events, rx) = mpsc::channel(BACKLOG);
        tokio::spawn(publish(queue, rx));
        Self { events }
    }

    pub fn record(&self, event: &'static str, business_id: Option<BusinessId>, customer_id: Option<CustomerId>) {
        let e = UsageEvent {
            schema_version: UsageEvent::SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            event: event.to_owned(),
            at: chrono::Utc::now(),
            business_id,
            customer_id,
        };
        let Ok(body) = serde_json::to_string(&e) else { return };
        let msg = QueueMessage {
            id: e.event_id,
            message_type: UsageEvent::MESSAGE_TYPE.into(),
            schema_version: UsageEvent::SCHEMA_VERSION,
            request_id: None,
            body,
        };
        if self.events.try_send(msg).is_err() {
            tracing::debug!(event, "usage event dropped: too many waiting");
        }
    }
}

async fn publish(queue: Arc<dyn Queue>, mut rx: mpsc::Receiver<QueueMessage>) {
    let mut batch = Vec::with_capacity(BATCH);
    // Wait for a first event, then for others until the batch is full or
    // `EVERY` has passed.
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + EVERY;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => batch.push(m),
                Ok(None) | Err(_) => break,
            }
        }
        if let Err(err) = queue.publish("analytics", &batch).await {
            tracing::debug!(error = %err, n = batch.len(), "usage events dropped");
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_store::queue::MemoryQueue;

    #[tokio::test]
    async fn events_are_published_together() {
        let queue = Arc::new(MemoryQueue::new(100));
        let _ = queue.take("analytics", 0);
        let usage = Usage::start(queue.clone());
        for _ in 0..3 {
            usage.record("card_view", None, None);
        }
        drop(usage);
        // The task publishes what it holds once the senders are gone.
        let mut got = Vec::new();
        for _ in 0..100 {
            got.extend(queue.take("analytics", 10));
            if got.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|m| m.message_type == UsageEvent::MESSAGE_TYPE));
    }
}
