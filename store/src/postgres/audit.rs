use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use stampede_domain::identity::AuditEvent;
use stampede_domain::ids::BusinessId;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{AuditOutbox, AuditRepo, StoreResult};
use uuid::Uuid;

use super::PgStore;
use crate::error;

fn from_row(row: &PgRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        business_id: row.try_get::<Option<Uuid>, _>("business_id")?.map(BusinessId),
        actor_kind: row.try_get("actor_kind")?,
        actor_id: row.try_get("actor_id")?,
        action: row.try_get("action")?,
        resource_type: row.try_get("resource_type")?,
        resource_id: row.try_get("resource_id")?,
        before: row.try_get::<Option<Json<serde_json::Value>>, _>("before")?.map(|j| j.0),
        after: row.try_get::<Option<Json<serde_json::Value>>, _>("after")?.map(|j| j.0),
    })
}

/// Stage `e` for the audit store inside the caller's transaction.
pub(super) async fn stage(tx: &mut PgConnection, e: &AuditEvent) -> StoreResult<()> {
    sqlx::query("INSERT INTO business.audit_outbox (id, event) VALUES ($1, $2)")
        .bind(e.id)
        .bind(Json(e))
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
    Ok(())
}

/// Commit `tx` with `event` (if any) staged in it: an admin change and its
/// audit record land together or not at all.
pub(super) async fn commit_with(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    event: Option<AuditEvent>,
) -> StoreResult<()> {
    if let Some(e) = &event {
        stage(&mut tx, e).await?;
    }
    tx.commit().await.map_err(error::other)
}

#[async_trait]
impl AuditOutbox for PgStore {
    async fn stage_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.pool().acquire().await.map_err(error::other)?;
        stage(&mut conn, e).await
    }

    async fn staged_audit(&self, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let rows: Vec<Json<AuditEvent>> =
            sqlx::query_scalar("SELECT event FROM business.audit_outbox ORDER BY id LIMIT $1")
                .bind(limit)
                .fetch_all(self.pool())
                .await
                .map_err(error::other)?;
        Ok(rows.into_iter().map(|j| j.0).collect())
    }

    async fn audit_delivered(&self, ids: &[Uuid]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        for id in ids {
            sqlx::query("DELETE FROM business.audit_outbox WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(error::other)?;
        }
        tx.commit().await.map_err(error::other)
    }
}

#[async_trait]
impl AuditRepo for PgStore {
    async fn record_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO business.audit_events
                 (id, at, business_id, actor_kind, actor_id, action, resource_type, resource_id, before, after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(e.id)
        .bind(e.at)
        .bind(e.business_id.map(|b| b.0))
        .bind(&e.actor_kind)
        .bind(e.actor_id)
        .bind(&e.action)
        .bind(&e.resource_type)
        .bind(e.resource_id)
        .bind(e.before.as_ref().map(Json))
        .bind(e.after.as_ref().map(Json))
        .execute(self.pool())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn list_audit(&self, business_id: BusinessId, page: PageRequest) -> StoreResult<Page<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, business_id, actor_kind, actor_id, action, resource_type, resource_id, before, after
             FROM business.audit_events WHERE business_id = $1 AND ($2 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(business_id.0)
        .bind(page.after)
        .bind(page.fetch_limit())
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        Ok(Page::from_rows(items, page, |e| e.id))
    }
}
