//! The queue port in process: one bounded buffer per topic, drained by the
//! in-process workers. A full buffer refuses the publish (the outbox relay
//! keeps the rows and retries), so nothing is dropped and memory stays bounded.
//! A topic nobody consumes (no worker has called `take` on it yet) keeps
//! nothing: publishing to it succeeds at once, so a server without workers does
//! not fill up and stall its relay.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use stampede_domain::ports::{Queue, QueueMessage, StoreError, StoreResult};

pub struct InProcessQueue {
    capacity: usize,
    /// Topics with a consumer, and their buffers.
    topics: Mutex<HashMap<String, VecDeque<QueueMessage>>>,
}

impl InProcessQueue {
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
impl Queue for InProcessQueue {
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
        let q = InProcessQueue::new(2);
        q.publish("a", &[msg(1), msg(2), msg(3)]).await.expect("no consumer: nothing kept");
        assert_eq!(q.len("a"), 0);
        assert!(q.take("a", 10).is_empty());
        q.publish("a", &[msg(1), msg(2)]).await.expect("publish");
        assert!(q.publish("a", &[msg(3)]).await.is_err(), "full: refused, not dropped");
        let got = q.take("a", 10);
        assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    }
}
