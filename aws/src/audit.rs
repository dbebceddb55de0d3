//! The audit table: security and admin events, keyed by `AuditId`, listed per
//! business through GSI1 (`BusinessId`, `Timestamp`), newest first; TTL on
//! `ExpiresAt` keeps them for the configured retention. The event itself is
//! stored whole as JSON in `Event`, so the item reads back exactly.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use stampede_domain::identity::AuditEvent;
use stampede_domain::ids::BusinessId;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{AuditRepo, StoreError, StoreResult};

use crate::history::timestamp_text;
use crate::paging::Index;
use crate::sdk_error;

pub struct DynamoAudit {
    client: Client,
    table: String,
    retention: chrono::Duration,
}

impl DynamoAudit {
    pub fn new(client: Client, table: impl Into<String>, retention_days: u32) -> Self {
        Self { client, table: table.into(), retention: chrono::Duration::days(i64::from(retention_days)) }
    }

    pub fn from_conf(conf: &aws_config::SdkConfig, table: impl Into<String>, retention_days: u32) -> Self {
        Self::new(Client::new(conf), table, retention_days)
    }
}

fn event_of(item: &HashMap<String, AttributeValue>) -> StoreResult<AuditEvent> {
    item.get("Event")
        .and_then(|v| v.as_s().ok())
        .and_then(|e| serde_json::from_str(e).ok())
        .ok_or_else(|| StoreError::Other("audit item: bad Event".into()))
}

#[async_trait]
impl AuditRepo for DynamoAudit {
    async fn record_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let event = serde_json::to_string(e).map_err(|err| StoreError::Other(format!("audit event: {err}")))?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("AuditId", AttributeValue::S(e.id.to_string()))
            .item("Timestamp", AttributeValue::S(timestamp_text(e.at)))
            .item("Action", AttributeValue::S(e.action.clone()))
            .item("ExpiresAt", AttributeValue::N((e.at + self.retention).timestamp().to_string()))
            .item("Event", AttributeValue::S(event));
        // Events without a business (sign-in failures, say) stay off the index.
        if let Some(b) = e.business_id {
            req = req.item("BusinessId", AttributeValue::S(b.0.to_string()));
        }
        req.send().await.map_err(|err| sdk_error("dynamodb put audit", err))?;
        Ok(())
    }

    async fn list_audit(&self, business_id: BusinessId, page: PageRequest) -> StoreResult<Page<AuditEvent>> {
        let index = Index {
            table: &self.table,
            table_key: "AuditId",
            name: "GSI1",
            partition: "BusinessId",
            sort: "Timestamp",
        };
        let after = page.after.map(|a| a.to_string());
        let found = index
            .newest_first(&self.client, &business_id.0.to_string(), after.as_deref(), page.fetch_limit() as usize)
            .await?;
        let Some(items) = found else { return Ok(Page { items: Vec::new(), next_cursor: None }) };
        let events = items.iter().map(event_of).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(events, page, |e| e.id))
    }
}
