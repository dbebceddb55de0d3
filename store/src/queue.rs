//! The queue port in process: one bounded buffer per topic, drained by the
//! in-process workers. A full buffer refuses the publish (the outbox relay
//! keeps the rows and retries), so nothing is dropped and memory stays bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use stampede_domain::ports::{Queue, QueueMessage, StoreError, StoreResult};

pub struct InProcessQueue {
    capacity: usize,
    topics: Mutex<HashMap<String, VecDeque<QueueMessage>>>,
}

impl InProcessQueue {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, topics: Mutex::new(HashMap::new()) }
    }

    /// Take up to `max` messages of a topic, oldest first.
    pub fn take(&self, topic: &str, max: usize) -> Vec<QueueMessage> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = topics.get_mut(topic) else { return Vec::new() };
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
        let q = topics.entry(topic.to_owned()).or_default();
        if q.len() + messages.len() > self.capacity {
            return Err(StoreError::Unavailable(format!("in-process queue {topic} is full")));
        }
        q.extend(messages.iter().cloned());
        Ok(())
    }
}
