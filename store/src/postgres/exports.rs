use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use stampede_domain::customer::Customer;
use stampede_domain::export::{Export, ExportKind, ExportStatus};
use stampede_domain::ids::{BusinessId, CustomerId, StaffId};
use stampede_domain::ledger::LedgerEntry;
use stampede_domain::ports::{ExportRepo, StoreResult};
use uuid::Uuid;

use super::PgStore;
use super::customers::{SELECT as CUSTOMER, from_row as customer_from_row};
use super::ledger::{ENTRY, entry_from_row};
use crate::error;

const EXPORT: &str = "SELECT id, kind, business_id, customer_id, staff_id, date_from, date_to, status, object_key,
    rows, error, created_at, finished_at FROM loyalty.exports";

fn export_from_row(row: &PgRow) -> Result<Export, sqlx::Error> {
    let bad = |what: &str| sqlx::Error::Decode(format!("export {what}").into());
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(Export {
        id: row.try_get("id")?,
        kind: ExportKind::parse(&kind).ok_or_else(|| bad("kind"))?,
        business_id: row.try_get::<Option<Uuid>, _>("business_id")?.map(BusinessId),
        customer_id: row.try_get::<Option<Uuid>, _>("customer_id")?.map(CustomerId),
        staff_id: row.try_get::<Option<Uuid>, _>("staff_id")?.map(StaffId),
        from: row.try_get("date_from")?,
        to: row.try_get("date_to")?,
        status: ExportStatus::parse(&status).ok_or_else(|| bad("status"))?,
        object_key: row.try_get("object_key")?,
        rows: row.try_get("rows")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

#[async_trait]
impl ExportRepo for PgStore {
    async fn create_export(&self, e: &Export) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO loyalty.exports (id, kind, business_id, customer_id, staff_id, date_from, date_to, status,
                 object_key, rows, error, created_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(e.id)
        .bind(e.kind.as_str())
        .bind(e.business_id.map(|b| b.0))
        .bind(e.customer_id.map(|c| c.0))
        .bind(e.staff_id.map(|s| s.0))
        .bind(e.from)
        .bind(e.to)
        .bind(e.status.as_str())
        .bind(&e.object_key)
        .bind(e.rows)
        .bind(&e.error)
        .bind(e.created_at)
        .bind(e.finished_at)
        .execute(self.pool())
        .await
        .map_err(|err| error::map(err, "export"))?;
        Ok(())
    }

    async fn get_export(&self, id: Uuid) -> StoreResult<Option<Export>> {
        let sql = format!("{EXPORT} WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(export_from_row).transpose().map_err(error::other)
    }

    async fn list_business_exports(&self, business_id: BusinessId) -> StoreResult<Vec<Export>> {
        let sql = format!("{EXPORT} WHERE business_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(business_id.0)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(export_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn save_export(&self, e: &Export) -> StoreResult<()> {
        sqlx::query(
            "UPDATE loyalty.exports SET status = $2, object_key = $3, rows = $4, error = $5, finished_at = $6
             WHERE id = $1",
        )
        .bind(e.id)
        .bind(e.status.as_str())
        .bind(&e.object_key)
        .bind(e.rows)
        .bind(&e.error)
        .bind(e.finished_at)
        .execute(self.pool())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn stalled_exports(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Export>> {
        let sql =
            format!("{EXPORT} WHERE status IN ('pending', 'running') AND created_at < $1 ORDER BY created_at LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(export_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn business_entries(
        &self,
        business_id: BusinessId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let sql = format!(
            "{ENTRY} WHERE business_id = $1 AND created_at >= $2 AND created_at < $3
             AND ($4::uuid IS NULL OR id > $4) ORDER BY id LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(business_id.0)
            .bind(from)
            .bind(until)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(entry_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn consenting_customers(
        &self,
        business_id: BusinessId,
        after: Option<CustomerId>,
        limit: i64,
    ) -> StoreResult<Vec<Customer>> {
        let sql = format!(
            "{CUSTOMER} WHERE id IN (SELECT customer_id FROM customer.consents WHERE business_id = $1 AND marketing)
             AND deleted_at IS NULL AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(business_id.0)
            .bind(after.map(|c| c.0))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(customer_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn customer_entries(
        &self,
        customer_id: CustomerId,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let sql = format!("{ENTRY} WHERE customer_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(customer_id.0)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(entry_from_row).collect::<Result<_, _>>().map_err(error::other)
    }
}
