//! App usage for the analytics: sign-ins and card views, counted off the
//! request path. Best effort by design: an event that cannot be counted is
//! dropped (logged), never slowing or failing the request it describes.
//!
//! Events are gathered by one task for at most `EVERY` (or `BATCH` events),
//! then, by [`Sink`]:
//!
//! - in process, counted in memory and added to the daily usage counts in one
//!   small transaction, one upsert per day, kind and business: no queue rows,
//!   no per-event ids to remember (a card view was a queue row, a lease, an
//!   event-id row and a delete before);
//! - with workers elsewhere, published as events on the `analytics` queue
//!   (one SQS call per batch), which the analytics processor counts once each.
//!
//! The cost of either is the events of the last `EVERY` if the process dies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use stampede_domain::analytics::UsageDelta;
use stampede_domain::ids::{BusinessId, CustomerId};
use stampede_domain::messages::UsageEvent;
use stampede_domain::ports::{AnalyticsRepo, Queue, QueueMessage};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Events gathered at most before they are counted or published.
const BATCH: usize = 500;
/// How long an event waits for others at most.
const EVERY: Duration = Duration::from_millis(250);
/// Events waiting before new ones are dropped.
const BACKLOG: usize = 10_000;
/// Distinct (day, kind, business) counts kept across failed writes at most.
const KEPT: usize = 10_000;

/// Where usage goes.
pub enum Sink {
    /// Counted here and added to the store's daily usage counts.
    Counts(Arc<dyn AnalyticsRepo>),
    /// Published on the `analytics` queue, for workers elsewhere.
    Queue(Arc<dyn Queue>),
}

/// The sending side, in the application state; its task ends when every
/// clone is dropped, after counting or publishing what it holds.
#[derive(Clone)]
pub struct Usage {
    events: mpsc::Sender<UsageEvent>,
}

impl Usage {
    /// Start the task that feeds `sink`.
    pub fn start(sink: Sink) -> Self {
        let (events, rx) = mpsc::channel(BACKLOG);
        tokio::spawn(run(sink, rx));
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
        if self.events.try_send(e).is_err() {
            tracing::debug!(event, "usage event dropped: too many waiting");
        }
    }
}

async fn run(sink: Sink, mut rx: mpsc::Receiver<UsageEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut counts = Counts::default();
    // Wait for a first event, then for others until the batch is full or
    // `EVERY` has passed.
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + EVERY;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => batch.push(e),
                Ok(None) | Err(_) => break,
            }
        }
        match &sink {
            Sink::Counts(store) => {
                batch.drain(..).for_each(|e| counts.add(&e));
                counts.write(store.as_ref()).await;
            }
            Sink::Queue(queue) => publish(queue.as_ref(), &batch).await,
        }
        batch.clear();
    }
}

async fn publish(queue: &dyn Queue, events: &[UsageEvent]) {
    let messages: Vec<QueueMessage> = events
        .iter()
        .filter_map(|e| {
            let body = serde_json::to_string(e).ok()?;
            Some(QueueMessage {
                id: e.event_id,
                message_type: UsageEvent::MESSAGE_TYPE.into(),
                schema_version: UsageEvent::SCHEMA_VERSION,
                request_id: None,
                body,
            })
        })
        .collect();
    if let Err(err) = queue.publish("analytics", &messages).await {
        tracing::debug!(error = %err, n = messages.len(), "usage events dropped");
    }
}

/// Usage counted in memory, not yet written.
#[derive(Default)]
struct Counts(BTreeMap<(NaiveDate, String, Option<Uuid>), i64>);

impl Counts {
    fn add(&mut self, e: &UsageEvent) {
        let key = (e.at.date_naive(), e.event.clone(), e.business_id.map(|b| b.0));
        if self.0.len() < KEPT || self.0.contains_key(&key) {
            *self.0.entry(key).or_default() += 1;
        }
    }

    /// Add them to the store; what fails is kept for the next write.
    async fn write(&mut self, store: &dyn AnalyticsRepo) {
        let deltas: Vec<UsageDelta> = self
            .0
            .iter()
            .map(|((day, event, business), count)| UsageDelta {
                day: *day,
                event: event.clone(),
                business_id: business.map(BusinessId),
                count: *count,
            })
            .collect();
        match store.add_usage(&deltas).await {
            Ok(()) => self.0.clear(),
            Err(err) => tracing::debug!(error = %err, kept = deltas.len(), "usage counts not written yet"),
        }
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
        let usage = Usage::start(Sink::Queue(queue.clone()));
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

    /// In process, events become counts: one row per day, kind and business.
    #[tokio::test]
    async fn events_are_counted_in_memory_and_added_together() {
        let db = stampede_store::testing::TestDatabase::sqlite();
        let store = db.open().await;
        let business = BusinessId(Uuid::now_v7());
        let usage = Usage::start(Sink::Counts(store.clone()));
        for _ in 0..3 {
            usage.record("card_view", Some(business), None);
        }
        usage.record("login", None, None);
        drop(usage);
        let today = chrono::Utc::now().date_naive();
        let mut views = Vec::new();
        for _ in 0..100 {
            views = store.usage_counts(Some(business), today, today).await.expect("counts");
            if !views.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(views.iter().map(|u| (u.event.as_str(), u.count)).collect::<Vec<_>>(), [("card_view", 3)]);
        let logins = store.usage_counts(None, today, today).await.expect("counts");
        assert_eq!(logins.iter().map(|u| (u.event.as_str(), u.count)).collect::<Vec<_>>(), [("login", 1)]);
    }
}
