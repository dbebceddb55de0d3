//! The transaction table: one item per committed transaction, keyed by
//! `TransactionId`, with GSI1 (`CustomerId`, `Timestamp`) and GSI2 (`CardId`,
//! `Timestamp`) for history reads, and TTL on `ExpiresAt`.
//!
//! Writes are `BatchWriteItem` puts of whole items, so writing the same
//! transaction again leaves one identical item: idempotent by `TransactionId`
//! without relying on `ClientRequestToken` (which moto ignores). Unprocessed
//! items are retried with backoff.
//!
//! `Timestamp` is RFC 3339 UTC with microseconds and a fixed width, so it sorts
//! as text; ties are broken by reading order, and pages continue from the
//! cursor item's own key.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, Select, WriteRequest};
use chrono::{DateTime, SecondsFormat, Utc};
use stampede_domain::card::TxKind;
use stampede_domain::ids::{BusinessId, CardId, CustomerId, StoreId};
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{HistoryStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::paging::Index;
use crate::sdk_error;

pub const GSI_CUSTOMER: &str = "GSI1";
pub const GSI_CARD: &str = "GSI2";

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;
const MAX_UNPROCESSED_ROUNDS: u32 = 8;

pub struct DynamoHistory {
    client: Client,
    table: String,
    /// How long an item lives before DynamoDB's TTL may remove it.
    retention: chrono::Duration,
}

impl DynamoHistory {
    pub fn from_conf(conf: &aws_config::SdkConfig, table: impl Into<String>, retention_days: u32) -> Self {
        Self::new(Client::new(conf), table, retention_days)
    }

    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self { client, table: table.into(), retention: chrono::Duration::days(i64::from(retention_days)) }
    }

    async fn write_chunk(&self, mut requests: Vec<WriteRequest>) -> StoreResult<()> {
        let mut delay = Duration::from_millis(50);
        for _ in 0..MAX_UNPROCESSED_ROUNDS {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| sdk_error("dynamodb batch write", e))?;
            requests = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            tracing::debug!(left = requests.len(), "dynamodb: unprocessed items, backing off");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        Err(StoreError::Unavailable(format!("dynamodb: {} items still unprocessed after retries", requests.len())))
    }

    fn index<'a>(&'a self, name: &'a str, partition: &'a str) -> Index<'a> {
        Index { table: &self.table, table_key: "TransactionId", name, partition, sort: "Timestamp" }
    }

    async fn query(
        &self,
        index: &str,
        key_name: &str,
        key: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<TransactionMessage>> {
        let after = page.after.map(|a| a.to_string());
        let found = self
            .index(index, key_name)
            .newest_first(&self.client, &key.to_string(), after.as_deref(), page.fetch_limit() as usize)
            .await?;
        // The cursor's item is gone (TTL): nothing sensible follows it.
        let Some(items) = found else { return Ok(Page { items: Vec::new(), next_cursor: None }) };
        let items = items.iter().map(from_item).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page, |m| m.transaction_id))
    }

    async fn get(&self, id: Uuid) -> StoreResult<Option<HashMap<String, AttributeValue>>> {
        self.index(GSI_CARD, "CardId").get(&self.client, &id.to_string()).await
    }

    /// One transaction by id (tests and support tooling).
    pub async fn get_transaction(&self, id: Uuid) -> StoreResult<Option<TransactionMessage>> {
        self.get(id).await?.map(|item| from_item(&item)).transpose()
    }
}

#[async_trait]
impl HistoryStore for DynamoHistory {
    async fn put_transactions(&self, items: &[TransactionMessage]) -> StoreResult<()> {
        // A batch may not name one key twice.
        let mut seen = std::collections::HashSet::new();
        let requests: Vec<WriteRequest> = items
            .iter()
            .filter(|m| seen.insert(m.transaction_id))
            .map(|m| {
                let put = PutRequest::builder()
                    .set_item(Some(to_item(m, m.timestamp + self.retention)))
                    .build()
                    .map_err(|e| StoreError::Other(format!("dynamodb put request: {e}")))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<StoreResult<_>>()?;
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let chunk: Vec<WriteRequest> = requests.by_ref().take(BATCH).collect();
            self.write_chunk(chunk).await?;
        }
        Ok(())
    }

    async fn card_history(&self, card: CardId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        self.query(GSI_CARD, "CardId", card.0, page).await
    }

    async fn customer_history(&self, customer: CustomerId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        self.query(GSI_CUSTOMER, "CustomerId", customer.0, page).await
    }

    async fn count_history(&self) -> StoreResult<i64> {
        let mut total = 0i64;
        let mut exclusive = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(exclusive)
                .send()
                .await
                .map_err(|e| sdk_error("dynamodb scan", e))?;
            total += i64::from(out.count);
            exclusive = out.last_evaluated_key;
            if exclusive.is_none() {
                return Ok(total);
            }
        }
    }
}

/// The fixed-width timestamp that sorts as text.
pub fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn s(v: impl ToString) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The item as the seed describes it; what the seed has no column for goes in
/// `Metadata`.
pub fn to_item(m: &TransactionMessage, expires_at: DateTime<Utc>) -> HashMap<String, AttributeValue> {
    let mut meta = HashMap::from([
        ("SchemaVersion".to_owned(), n(i64::from(m.schema_version))),
        ("BusinessId".to_owned(), s(m.business_id.0)),
        ("ProgramId".to_owned(), s(m.program_id)),
        ("ProgramVersion".to_owned(), n(m.program_version)),
        ("BalanceAfter".to_owned(), n(m.balance_after)),
    ]);
    if let Some(r) = m.reward_id {
        meta.insert("RewardId".into(), s(r));
    }
    if let Some(r) = m.reverses_id {
        meta.insert("ReversesId".into(), s(r));
    }
    if let Some(r) = &m.request_id {
        meta.insert("RequestId".into(), s(r));
    }
    let mut item = HashMap::from([
        ("TransactionId".to_owned(), s(m.transaction_id)),
        ("CardId".to_owned(), s(m.card_id.0)),
        ("CustomerId".to_owned(), s(m.customer_id.0)),
        ("TransactionType".to_owned(), s(m.transaction_type.as_str())),
        ("Amount".to_owned(), n(m.amount)),
        ("Timestamp".to_owned(), s(timestamp_text(m.timestamp))),
        ("ExpiresAt".to_owned(), n(expires_at.timestamp())),
        ("Metadata".to_owned(), AttributeValue::M(meta)),
    ]);
    if let Some(store) = m.store_id {
        item.insert("StoreId".into(), s(store.0));
    }
    item
}

fn bad(field: &str) -> StoreError {
    StoreError::Other(format!("dynamodb item: missing or malformed {field}"))
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, field: &str) -> Option<&'a str> {
    item.get(field).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_uuid(item: &HashMap<String, AttributeValue>, field: &str) -> StoreResult<Uuid> {
    get_s(item, field).and_then(|v| Uuid::parse_str(v).ok()).ok_or_else(|| bad(field))
}

fn opt_uuid(item: &HashMap<String, AttributeValue>, field: &str) -> StoreResult<Option<Uuid>> {
    match get_s(item, field) {
        None => Ok(None),
        Some(v) => Uuid::parse_str(v).map(Some).map_err(|_| bad(field)),
    }
}

fn get_n(item: &HashMap<String, AttributeValue>, field: &str) -> StoreResult<i64> {
    item.get(field).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| bad(field))
}

pub fn from_item(item: &HashMap<String, AttributeValue>) -> StoreResult<TransactionMessage> {
    let empty = HashMap::new();
    let meta = item.get("Metadata").and_then(|v| v.as_m().ok()).unwrap_or(&empty);
    let timestamp = get_s(item, "Timestamp")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| bad("Timestamp"))?;
    Ok(TransactionMessage {
        schema_version: u32::try_from(get_n(meta, "SchemaVersion")?).map_err(|_| bad("SchemaVersion"))?,
        transaction_id: get_uuid(item, "TransactionId")?,
        card_id: CardId(get_uuid(item, "CardId")?),
        customer_id: CustomerId(get_uuid(item, "CustomerId")?),
        business_id: BusinessId(get_uuid(meta, "BusinessId")?),
        store_id: opt_uuid(item, "StoreId")?.map(StoreId),
        program_id: get_uuid(meta, "ProgramId")?,
        program_version: get_n(meta, "ProgramVersion")?,
        transaction_type: get_s(item, "TransactionType")
            .and_then(TxKind::parse)
            .ok_or_else(|| bad("TransactionType"))?,
        amount: get_n(item, "Amount")?,
        balance_after: get_n(meta, "BalanceAfter")?,
        reward_id: opt_uuid(meta, "RewardId")?,
        reverses_id: opt_uuid(meta, "ReversesId")?,
        timestamp,
        request_id: get_s(meta, "RequestId").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_round_trip() {
        let m = TransactionMessage {
            schema_version: 1,
            transaction_id: Uuid::now_v7(),
            card_id: CardId(Uuid::now_v7()),
            customer_id: CustomerId(Uuid::now_v7()),
            business_id: BusinessId(Uuid::now_v7()),
            store_id: Some(StoreId(Uuid::now_v7())),
            program_id: Uuid::now_v7(),
            program_version: 3,
            transaction_type: TxKind::RewardRedemption,
            amount: -10,
            balance_after: 2,
            reward_id: Some(Uuid::now_v7()),
            reverses_id: None,
            timestamp: stampede_domain::ledger::now(),
            request_id: Some("req-1".into()),
        };
        let item = to_item(&m, m.timestamp);
        assert_eq!(from_item(&item).ok(), Some(m));
        assert_eq!(timestamp_text(DateTime::<Utc>::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }
}
