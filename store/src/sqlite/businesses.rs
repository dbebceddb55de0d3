use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use stampede_domain::business::{Business, NewBusiness};
use stampede_domain::ids::BusinessId;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{Audit, BusinessRepo, StoreResult};

use super::SqliteStore;
use super::audit::commit_with;
use crate::error;

const COLUMNS: &str =
    "id, name, description, tax_id, logo_url, website, is_active, require_mfa, created_at, updated_at, version";

fn from_row(row: &SqliteRow) -> Result<Business, sqlx::Error> {
    Ok(Business {
        id: BusinessId(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        tax_id: row.try_get("tax_id")?,
        logo_url: row.try_get("logo_url")?,
        website: row.try_get("website")?,
        is_active: row.try_get("is_active")?,
        require_mfa: row.try_get("require_mfa")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
    })
}

/// Insert a business on a connection (or inside a transaction).
pub(super) async fn insert(conn: &mut SqliteConnection, new: NewBusiness) -> StoreResult<Business> {
    let now = Utc::now();
    let row = sqlx::query(
        "INSERT INTO businesses (id, name, description, tax_id, website, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             RETURNING id, name, description, tax_id, logo_url, website, is_active, require_mfa, created_at, updated_at,
                 version",
    )
    .bind(BusinessId::new().0)
    .bind(new.name.as_str())
    .bind(&new.description)
    .bind(&new.tax_id)
    .bind(&new.website)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(error::other)?;
    from_row(&row).map_err(error::other)
}

#[async_trait]
impl BusinessRepo for SqliteStore {
    async fn create_business(&self, new: NewBusiness, audit: Audit<'_>) -> StoreResult<Business> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let business = insert(&mut tx, new).await?;
        commit_with(tx, audit.map(|e| e.created(business.id, business.id.0, &business))).await?;
        Ok(business)
    }

    async fn get_business(&self, id: BusinessId) -> StoreResult<Option<Business>> {
        let sql = format!("SELECT {COLUMNS} FROM businesses WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(from_row).transpose().map_err(error::other)
    }

    async fn list_businesses(&self, page: PageRequest, active_only: bool) -> StoreResult<Page<Business>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM businesses
             WHERE ($1 IS NULL OR id > $1) AND (NOT $2 OR is_active)
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(page.after)
            .bind(active_only)
            .bind(page.fetch_limit())
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        Ok(Page::from_rows(items, page, |b| b.id.0))
    }

    async fn deactivate_business(&self, id: BusinessId, expected_version: i64) -> StoreResult<Option<Business>> {
        let sql = format!(
            "UPDATE businesses SET is_active = 0, updated_at = $3, version = version + 1
             WHERE id = $1 AND version = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .bind(expected_version)
            .bind(Utc::now())
            .fetch_optional(self.writer())
            .await
            .map_err(error::other)?;
        match row {
            Some(row) => from_row(&row).map(Some).map_err(error::other),
            // Tell "no such business" from "changed by someone else".
            None => match self.get_business(id).await? {
                Some(_) => Err(stampede_domain::ports::StoreError::VersionMismatch),
                None => Ok(None),
            },
        }
    }

    async fn save_business(
        &self,
        b: &Business,
        expected_version: i64,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Business>> {
        let sql = format!(
            "UPDATE businesses SET name = $3, description = $4, tax_id = $5, logo_url = $6, website = $7,
                 is_active = $8, updated_at = $9, require_mfa = $10, version = version + 1
             WHERE id = $1 AND version = $2 RETURNING {COLUMNS}"
        );
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(b.id.0)
            .bind(expected_version)
            .bind(&b.name)
            .bind(&b.description)
            .bind(&b.tax_id)
            .bind(&b.logo_url)
            .bind(&b.website)
            .bind(b.is_active)
            .bind(Utc::now())
            .bind(b.require_mfa)
            .fetch_optional(&mut *tx)
            .await
            .map_err(error::other)?;
        match row {
            Some(row) => {
                let saved = from_row(&row).map_err(error::other)?;
                commit_with(tx, audit.map(|e| e.written(&saved))).await?;
                Ok(Some(saved))
            }
            None => match self.get_business(b.id).await? {
                Some(_) => Err(stampede_domain::ports::StoreError::VersionMismatch),
                None => Ok(None),
            },
        }
    }
}
