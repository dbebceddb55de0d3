use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::postgres::PgRow;
use stampede_domain::business::{Brand, NewStore, Store};
use stampede_domain::ids::{BrandId, BusinessId, StoreId};
use stampede_domain::ports::{PlaceRepo, StoreError, StoreResult};

use super::PgStore;
use crate::error;

fn brand_from_row(row: &PgRow) -> Result<Brand, sqlx::Error> {
    Ok(Brand {
        id: BrandId(row.try_get("id")?),
        business_id: BusinessId(row.try_get("business_id")?),
        name: row.try_get("name")?,
        is_active: row.try_get("is_active")?,
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
    })
}

fn store_from_row(row: &PgRow) -> Result<Store, sqlx::Error> {
    Ok(Store {
        id: StoreId(row.try_get("id")?),
        business_id: BusinessId(row.try_get("business_id")?),
        brand_id: row.try_get::<Option<uuid::Uuid>, _>("brand_id")?.map(BrandId),
        name: row.try_get("name")?,
        timezone: row.try_get("timezone")?,
        is_active: row.try_get("is_active")?,
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
    })
}

#[async_trait]
impl PlaceRepo for PgStore {
    async fn create_brand(&self, business_id: BusinessId, name: &str) -> StoreResult<Brand> {
        let row = sqlx::query(
            "INSERT INTO business.brands (id, business_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             RETURNING id, business_id, name, is_active, created_at, version",
        )
        .bind(BrandId::new().0)
        .bind(business_id.0)
        .bind(name)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await
        .map_err(error::other)?;
        brand_from_row(&row).map_err(error::other)
    }

    async fn get_brand(&self, id: BrandId) -> StoreResult<Option<Brand>> {
        let row = sqlx::query(
            "SELECT id, business_id, name, is_active, created_at, version FROM business.brands WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(error::other)?;
        row.as_ref().map(brand_from_row).transpose().map_err(error::other)
    }

    async fn create_store(&self, new: NewStore) -> StoreResult<Store> {
        if let Some(brand_id) = new.brand_id {
            match self.get_brand(brand_id).await? {
                Some(b) if b.business_id == new.business_id => {}
                _ => return Err(StoreError::Other("the brand is not of this business".into())),
            }
        }
        let row = sqlx::query(
            "INSERT INTO business.stores (id, business_id, brand_id, name, timezone, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             RETURNING id, business_id, brand_id, name, timezone, is_active, created_at, version",
        )
        .bind(StoreId::new().0)
        .bind(new.business_id.0)
        .bind(new.brand_id.map(|b| b.0))
        .bind(new.name.as_str())
        .bind(&new.timezone)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await
        .map_err(error::other)?;
        store_from_row(&row).map_err(error::other)
    }

    async fn get_store(&self, id: StoreId) -> StoreResult<Option<Store>> {
        let row = sqlx::query(
            "SELECT id, business_id, brand_id, name, timezone, is_active, created_at, version
             FROM business.stores WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(error::other)?;
        row.as_ref().map(store_from_row).transpose().map_err(error::other)
    }
}
