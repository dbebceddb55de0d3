//! The queue port without SQS:
//!
//! - [`StoreQueue`], the server's in-process queues (the embedded default): the
//!   messages are rows of the system of record (`QueueRepo`), so a message
//!   published (an outbox row the relay handed over and deleted, an account
//!   mail) is handled even if the process dies first. Publishing also wakes the
//!   in-process workers of this process, so they need not poll the database
//!   while it is quiet.
//! - [`MemoryQueue`], one bounded buffer per topic in memory: what tests use to
//!   capture what a handler publishes, without a worker taking it first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use stampede_domain::ports::{Queue, QueueMessage, QueueRepo, StoreError, StoreResult};
use tokio::sync::Notify;

pub struct StoreQueue {
    repo: Arc<dyn QueueRepo>,
    published: Notify,
}

impl StoreQueue {
    pub fn new(repo: Arc<dyn QueueRepo>) -> Self {
        Self { repo, published: Notify::new() }
    }

    /// Where the messages are, for the workers that take them.
    pub fn repo(&self) -> &dyn QueueRepo {
        self.repo.as_ref()
    }

    /// Wait until this process publishes something (at once if it has since
    /// the last wait), or `timeout` passes. Messages published by another
    /// process, or put back to be tried later, are seen on the timeout.
    pub async fn published(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.published.notified()).await;
    }
}

#[async_trait]
impl Queue for StoreQueue {
    async fn publish(&self, topic: &str, messages: &[QueueMessage]) -> StoreResult<()> {
        self.publish_to(&[topic], messages).await
    }

    async fn publish_to(&self, topics: &[&str], messages: &[QueueMessage]) -> StoreResult<()> {
        if messages.is_empty() || topics.is_empty() {
            return Ok(());
        }
        self.repo.enqueue(topics, messages).await?;
        self.published.notify_one();
        Ok(())
    }
}

/// A topic nobody consumes (no one has called `take` on it yet) keeps
/// nothing; a full buffer refuses the publish, so nothing is dropped silently.
pub struct MemoryQueue {
    capacity: usize,
    /// Topics with a consumer, and their buffers.
    topics: Mutex<HashMap<String, VecDeque<QueueMessage>>>,
}

impl MemoryQueue {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, topics: Mutex::new(HashMap::new()) }
    }

    /// Take up to `max` messages of a topic, oldest first.
    pub fn take(&self, topic: &str, max: usize) -> Vec<QueueMessage> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Taking attaches a consumer: from now on the topic buffers.
        let q = topics.entry(topic.to_owned()).or_default();
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    pub fn len(&self, topic: &str) -> usize {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).get(topic).map_or(0, VecDeque::len)
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn publish(&self, topic: &str, messages: &[QueueMessage]) -> StoreResult<()> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = topics.get_mut(topic) else { return Ok(()) };
        if q.len() + messages.len() > self.capacity {
            return Err(StoreError::Unavailable(format!("in-process queue {topic} is full")));
        }
        q.extend(messages.iter().cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u32) -> QueueMessage {
        QueueMessage {
            id: uuid::Uuid::now_v7(),
            message_type: "t".into(),
            schema_version: 1,
            request_id: None,
            body: n.to_string(),
        }
    }

    #[tokio::test]
    async fn buffers_only_consumed_topics_and_refuses_when_full() {
        let q = MemoryQueue::new(2);
        q.publish("a", &[msg(1), msg(2), msg(3)]).await.expect("no consumer: nothing kept");
        assert_eq!(q.len("a"), 0);
        assert!(q.take("a", 10).is_empty());
        q.publish("a", &[msg(1), msg(2)]).await.expect("publish");
        assert!(q.publish("a", &[msg(3)]).await.is_err(), "full: refused, not dropped");
        let got = q.take("a", 10);
        assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    }
}
