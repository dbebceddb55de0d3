//! The queues in the AWS shape: one SQS standard queue per topic (email,
//! transaction, analytics, export), each with a dead-letter queue that takes a
//! message after `max_receive_count` receives (see [`crate::bootstrap`]).
//!
//! Publishing uses `SendMessageBatch`: at most 10 entries and 256 KiB per
//! call, so batches are cut by both. Every message carries its type, schema
//! version, request id and id (the transaction or event id consumers
//! de-duplicate by) as message attributes. Failed entries are retried a few
//! times; what still fails makes the whole publish fail, so the outbox keeps
//! the rows and tries again (consumers see at-least-once delivery).
//!
//! Queue URLs are looked up once per topic and remembered.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use stampede_domain::ports::{Queue, QueueMessage, StoreError, StoreResult};

use crate::sdk_error;

pub const TOPICS: [&str; 4] = ["email", "transaction", "analytics", "export"];

/// SQS limits for one `SendMessageBatch`.
const MAX_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024;
const SEND_ROUNDS: u32 = 4;

pub struct SqsQueue {
    client: Client,
    prefix: String,
    urls: Mutex<HashMap<String, String>>,
}

/// The queue name of a topic, and of its dead-letter queue.
pub fn queue_name(prefix: &str, topic: &str) -> String {
    format!("{prefix}{topic}")
}

pub fn dlq_name(prefix: &str, topic: &str) -> String {
    format!("{prefix}{topic}-dlq")
}

impl SqsQueue {
    pub fn from_conf(conf: &aws_config::SdkConfig, prefix: impl Into<String>) -> Self {
        Self::new(Client::new(conf), prefix)
    }

    /// `prefix` names the queues: `stampede-` gives `stampede-transaction` and
    /// `stampede-transaction-dlq`.
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self { client, prefix: prefix.into(), urls: Mutex::new(HashMap::new()) }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The URL of a topic's queue (looked up once).
    pub async fn url(&self, topic: &str) -> StoreResult<String> {
        if let Some(url) = self.urls.lock().map_err(|_| poisoned())?.get(topic) {
            return Ok(url.clone());
        }
        let name = queue_name(&self.prefix, topic);
        let out = self
            .client
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("sqs queue {name}"), e))?;
        let url = out.queue_url.ok_or_else(|| StoreError::Other(format!("sqs: no url for {name}")))?;
        self.urls.lock().map_err(|_| poisoned())?.insert(topic.to_owned(), url.clone());
        Ok(url)
    }

    async fn send_batch(&self, url: &str, batch: &[&QueueMessage]) -> StoreResult<()> {
        let mut pending: Vec<(String, &QueueMessage)> =
            batch.iter().enumerate().map(|(i, m)| (format!("m{i}"), *m)).collect();
        let mut delay = Duration::from_millis(50);
        for round in 0..SEND_ROUNDS {
            let entries = pending.iter().map(|(id, m)| entry(id, m)).collect::<StoreResult<Vec<_>>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk_error("sqs send batch", e))?;
            if out.failed.is_empty() {
                return Ok(());
            }
            if let Some(f) = out.failed.iter().find(|f| f.sender_fault) {
                return Err(StoreError::Other(format!("sqs refused a message: {} {:?}", f.code, f.message)));
            }
            let failed: std::collections::HashSet<&str> = out.failed.iter().map(|f| f.id.as_str()).collect();
            pending.retain(|(id, _)| failed.contains(id.as_str()));
            tracing::debug!(round, left = pending.len(), "sqs: entries failed, retrying");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Err(StoreError::Unavailable(format!("sqs: {} messages not accepted after retries", pending.len())))
    }
}

/// A received message: the domain message plus what SQS needs to delete it.
#[derive(Debug, Clone)]
pub struct Received {
    pub message: QueueMessage,
    pub receipt_handle: String,
    /// How many times SQS has handed this message out (1 on first delivery).
    pub receive_count: u32,
}

impl SqsQueue {
    /// Long-poll a topic's queue for up to `max` (≤ 10) messages.
    pub async fn receive(&self, topic: &str, max: i32, wait_secs: i32) -> StoreResult<Vec<Received>> {
        let url = self.url(topic).await?;
        let out = self
            .client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_secs.clamp(0, 20))
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sdk_error("sqs receive", e))?;
        Ok(out.messages.unwrap_or_default().into_iter().filter_map(received).collect())
    }

    pub async fn delete(&self, topic: &str, receipt_handle: &str) -> StoreResult<()> {
        let url = self.url(topic).await?;
        self.client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| sdk_error("sqs delete", e))?;
        Ok(())
    }

    /// Keep a message hidden from other consumers for `secs` more seconds.
    pub async fn extend(&self, topic: &str, receipt_handle: &str, secs: i32) -> StoreResult<()> {
        let url = self.url(topic).await?;
        self.client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(|e| sdk_error("sqs change visibility", e))?;
        Ok(())
    }
}

/// A domain message from an SQS message and its attributes (`None` when it
/// lacks a receipt handle, which SQS always sends).
fn received(m: aws_sdk_sqs::types::Message) -> Option<Received> {
    let attrs = m.message_attributes.clone().unwrap_or_default();
    let text = |k: &str| attrs.get(k).and_then(|v| v.string_value.clone());
    let receive_count = m
        .attributes
        .as_ref()
        .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    Some(Received {
        message: QueueMessage {
            // A message without our id attribute gets SQS's own id.
            id: text("id")
                .and_then(|v| uuid::Uuid::parse_str(&v).ok())
                .or_else(|| m.message_id.as_deref().and_then(|v| uuid::Uuid::parse_str(v).ok()))
                .unwrap_or_else(uuid::Uuid::nil),
            message_type: text("type").unwrap_or_default(),
            schema_version: text("schema_version").and_then(|v| v.parse().ok()).unwrap_or(0),
            request_id: text("request_id"),
            body: m.body.clone().unwrap_or_default(),
        },
        receipt_handle: m.receipt_handle?,
        receive_count,
    })
}

fn poisoned() -> StoreError {
    StoreError::Other("sqs: queue url cache poisoned".into())
}

fn attr(value: &str) -> StoreResult<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| StoreError::Other(format!("sqs attribute: {e}")))
}

fn entry(id: &str, m: &QueueMessage) -> StoreResult<SendMessageBatchRequestEntry> {
    let mut b = SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(&m.body)
        .message_attributes("id", attr(&m.id.to_string())?)
        .message_attributes("type", attr(&m.message_type)?)
        .message_attributes(
            "schema_version",
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value(m.schema_version.to_string())
                .build()
                .map_err(|e| StoreError::Other(format!("sqs attribute: {e}")))?,
        );
    if let Some(r) = &m.request_id {
        b = b.message_attributes("request_id", attr(r)?);
    }
    b.build().map_err(|e| StoreError::Other(format!("sqs entry: {e}")))
}

/// What SQS counts towards the 256 KiB limit: body plus attribute names,
/// types and values.
fn size_of(m: &QueueMessage) -> usize {
    let attrs = [("id", 36usize), ("type", m.message_type.len()), ("schema_version", 10)];
    let mut n = m.body.len() + attrs.iter().map(|(k, v)| k.len() + 6 + v).sum::<usize>();
    if let Some(r) = &m.request_id {
        n += "request_id".len() + 6 + r.len();
    }
    n
}

/// Cut messages into batches of at most 10 entries and 256 KiB.
pub fn batches(messages: &[QueueMessage]) -> StoreResult<Vec<Vec<&QueueMessage>>> {
    let mut out: Vec<Vec<&QueueMessage>> = Vec::new();
    let mut current: Vec<&QueueMessage> = Vec::new();
    let mut bytes = 0;
    for m in messages {
        let size = size_of(m);
        if size > MAX_BATCH_BYTES {
            return Err(StoreError::Other(format!("sqs: message {} is {size} bytes, over the 256 KiB limit", m.id)));
        }
        if current.len() == MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(m);
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

#[async_trait]
impl Queue for SqsQueue {
    async fn publish(&self, topic: &str, messages: &[QueueMessage]) -> StoreResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let url = self.url(topic).await?;
        for batch in batches(messages)? {
            self.send_batch(&url, &batch).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body_len: usize) -> QueueMessage {
        QueueMessage {
            id: uuid::Uuid::now_v7(),
            message_type: "t".into(),
            schema_version: 1,
            request_id: None,
            body: "x".repeat(body_len),
        }
    }

    #[test]
    fn batches_respect_count_and_size() {
        let small: Vec<_> = (0..23).map(|_| msg(10)).collect();
        let b = batches(&small).expect("small messages batch");
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 3]);

        let big: Vec<_> = (0..5).map(|_| msg(100 * 1024)).collect();
        let b = batches(&big).expect("big messages batch");
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(b.iter().all(|batch| batch.iter().map(|m| size_of(m)).sum::<usize>() <= MAX_BATCH_BYTES));

        assert!(batches(&[msg(300 * 1024)]).is_err());
    }
}
