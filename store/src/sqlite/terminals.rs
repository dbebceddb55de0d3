use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use stampede_domain::identity::Terminal;
use stampede_domain::ids::{BrandId, BusinessId, StoreId};
use stampede_domain::ports::{Audit, StoreResult, TerminalRepo};
use uuid::Uuid;

use super::SqliteStore;
use super::audit::commit_with;
use crate::error;

const SELECT: &str = "SELECT id, business_id, brand_id, store_id, name, key_prefix, key_hash, created_at,
    last_used_at, revoked_at FROM terminals";

fn from_row(row: &SqliteRow) -> Result<Terminal, sqlx::Error> {
    Ok(Terminal {
        id: row.try_get("id")?,
        business_id: BusinessId(row.try_get("business_id")?),
        brand_id: row.try_get::<Option<Uuid>, _>("brand_id")?.map(BrandId),
        store_id: StoreId(row.try_get("store_id")?),
        name: row.try_get("name")?,
        key_prefix: row.try_get("key_prefix")?,
        key_hash: row.try_get("key_hash")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

#[async_trait]
impl TerminalRepo for SqliteStore {
    async fn create_terminal(&self, t: &Terminal, audit: Audit<'_>) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query(
            "INSERT INTO terminals (id, business_id, brand_id, store_id, name, key_prefix, key_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(t.id)
        .bind(t.business_id.0)
        .bind(t.brand_id.map(|b| b.0))
        .bind(t.store_id.0)
        .bind(&t.name)
        .bind(&t.key_prefix)
        .bind(&t.key_hash)
        .bind(t.created_at)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        commit_with(tx, audit.cloned()).await
    }

    async fn get_terminal(&self, id: Uuid) -> StoreResult<Option<Terminal>> {
        let sql = format!("{SELECT} WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(from_row).transpose().map_err(error::other)
    }

    async fn list_terminals(&self, store_id: StoreId) -> StoreResult<Vec<Terminal>> {
        let sql = format!("{SELECT} WHERE store_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(store_id.0)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn revoke_terminal(&self, id: Uuid, at: DateTime<Utc>, audit: Audit<'_>) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let done = sqlx::query("UPDATE terminals SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit_with(tx, audit.cloned()).await?;
        Ok(true)
    }

    async fn rename_terminal(&self, id: Uuid, name: &str, audit: Audit<'_>) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let done = sqlx::query("UPDATE terminals SET name = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit_with(tx, audit.cloned()).await?;
        Ok(true)
    }

    async fn touch_terminal(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE terminals SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }
}
