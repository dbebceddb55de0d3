use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use stampede_domain::business::{Brand, NewStore, Store};
use stampede_domain::ids::{BrandId, BusinessId, StoreId};
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{Audit, PlaceRepo, StoreError, StoreResult};

use super::SqliteStore;
use super::audit::commit_with;
use crate::error;

fn brand_from_row(row: &SqliteRow) -> Result<Brand, sqlx::Error> {
    Ok(Brand {
        id: BrandId(row.try_get("id")?),
        business_id: BusinessId(row.try_get("business_id")?),
        name: row.try_get("name")?,
        is_active: row.try_get("is_active")?,
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
    })
}

fn store_from_row(row: &SqliteRow) -> Result<Store, sqlx::Error> {
    Ok(Store {
        id: StoreId(row.try_get("id")?),
        business_id: BusinessId(row.try_get("business_id")?),
        brand_id: row.try_get::<Option<uuid::Uuid>, _>("brand_id")?.map(BrandId),
        name: row.try_get("name")?,
        timezone: row.try_get("timezone")?,
        address: row.try_get::<sqlx::types::Json<serde_json::Value>, _>("address")?.0,
        is_active: row.try_get("is_active")?,
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
    })
}

#[async_trait]
impl PlaceRepo for SqliteStore {
    async fn create_brand(&self, business_id: BusinessId, name: &str, audit: Audit<'_>) -> StoreResult<Brand> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "INSERT INTO brands (id, business_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             RETURNING id, business_id, name, is_active, created_at, version",
        )
        .bind(BrandId::new().0)
        .bind(business_id.0)
        .bind(name)
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await
        .map_err(error::other)?;
        let created = brand_from_row(&row).map_err(error::other)?;
        commit_with(tx, audit.map(|e| e.created(created.business_id, created.id.0, &created))).await?;
        Ok(created)
    }

    async fn get_brand(&self, id: BrandId) -> StoreResult<Option<Brand>> {
        let row = sqlx::query("SELECT id, business_id, name, is_active, created_at, version FROM brands WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?;
        row.as_ref().map(brand_from_row).transpose().map_err(error::other)
    }

    async fn create_store(&self, new: NewStore, audit: Audit<'_>) -> StoreResult<Store> {
        if let Some(brand_id) = new.brand_id {
            match self.get_brand(brand_id).await? {
                Some(b) if b.business_id == new.business_id => {}
                _ => return Err(StoreError::Other("the brand is not of this business".into())),
            }
        }
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "INSERT INTO stores (id, business_id, brand_id, name, timezone, address, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $7, $6, $6)
             RETURNING id, business_id, brand_id, name, timezone, address, is_active, created_at, version",
        )
        .bind(StoreId::new().0)
        .bind(new.business_id.0)
        .bind(new.brand_id.map(|b| b.0))
        .bind(new.name.as_str())
        .bind(&new.timezone)
        .bind(Utc::now())
        .bind(sqlx::types::Json(&new.address))
        .fetch_one(&mut *tx)
        .await
        .map_err(error::other)?;
        let created = store_from_row(&row).map_err(error::other)?;
        commit_with(tx, audit.map(|e| e.created(created.business_id, created.id.0, &created))).await?;
        Ok(created)
    }

    async fn get_store(&self, id: StoreId) -> StoreResult<Option<Store>> {
        let row = sqlx::query(
            "SELECT id, business_id, brand_id, name, timezone, address, is_active, created_at, version
             FROM stores WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(error::other)?;
        row.as_ref().map(store_from_row).transpose().map_err(error::other)
    }

    async fn list_brands(&self, business_id: BusinessId) -> StoreResult<Vec<Brand>> {
        let rows = sqlx::query(
            "SELECT id, business_id, name, is_active, created_at, version FROM brands
             WHERE business_id = $1 ORDER BY id",
        )
        .bind(business_id.0)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter().map(brand_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn save_brand(&self, b: &Brand, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Brand>> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "UPDATE brands SET name = $3, is_active = $4, updated_at = $5, version = version + 1
             WHERE id = $1 AND version = $2
             RETURNING id, business_id, name, is_active, created_at, version",
        )
        .bind(b.id.0)
        .bind(expected_version)
        .bind(&b.name)
        .bind(b.is_active)
        .bind(Utc::now())
        .fetch_optional(&mut *tx)
        .await
        .map_err(error::other)?;
        match row {
            Some(row) => {
                let saved = brand_from_row(&row).map_err(error::other)?;
                commit_with(tx, audit.map(|e| e.written(&saved))).await?;
                Ok(Some(saved))
            }
            None => match self.get_brand(b.id).await? {
                Some(_) => Err(StoreError::VersionMismatch),
                None => Ok(None),
            },
        }
    }

    async fn list_stores(
        &self,
        business_id: BusinessId,
        brand_id: Option<BrandId>,
        active_only: bool,
        page: PageRequest,
    ) -> StoreResult<Page<Store>> {
        let rows = sqlx::query(
            "SELECT id, business_id, brand_id, name, timezone, address, is_active, created_at, version
             FROM stores
             WHERE business_id = $1 AND ($2 IS NULL OR brand_id = $2) AND (NOT $3 OR is_active)
               AND ($4 IS NULL OR id > $4)
             ORDER BY id LIMIT $5",
        )
        .bind(business_id.0)
        .bind(brand_id.map(|b| b.0))
        .bind(active_only)
        .bind(page.after)
        .bind(page.fetch_limit())
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        let items = rows.iter().map(store_from_row).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        Ok(Page::from_rows(items, page, |s| s.id.0))
    }

    async fn save_store(&self, s: &Store, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Store>> {
        if let Some(brand_id) = s.brand_id {
            match self.get_brand(brand_id).await? {
                Some(b) if b.business_id == s.business_id => {}
                _ => return Err(StoreError::Other("the brand is not of this business".into())),
            }
        }
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "UPDATE stores SET brand_id = $3, name = $4, timezone = $5, address = $6, is_active = $7,
                 updated_at = $8, version = version + 1
             WHERE id = $1 AND version = $2
             RETURNING id, business_id, brand_id, name, timezone, address, is_active, created_at, version",
        )
        .bind(s.id.0)
        .bind(expected_version)
        .bind(s.brand_id.map(|b| b.0))
        .bind(&s.name)
        .bind(&s.timezone)
        .bind(sqlx::types::Json(&s.address))
        .bind(s.is_active)
        .bind(Utc::now())
        .fetch_optional(&mut *tx)
        .await
        .map_err(error::other)?;
        match row {
            Some(row) => {
                let saved = store_from_row(&row).map_err(error::other)?;
                commit_with(tx, audit.map(|e| e.written(&saved))).await?;
                Ok(Some(saved))
            }
            None => match self.get_store(s.id).await? {
                Some(_) => Err(StoreError::VersionMismatch),
                None => Ok(None),
            },
        }
    }
}
