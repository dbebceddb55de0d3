//! The SQLite adapter (the embedded default). The same tables as PostgreSQL
//! without schemas (see `migrations/sqlite`); uuids are blobs, times RFC 3339 text.
//! Generated in shape from the PostgreSQL adapter; keep the two in step.

mod analytics;
mod audit;
mod businesses;
mod cards;
mod customers;
mod exports;
mod history;
mod inbox;
mod ledger;
mod places;
mod programs;
mod sessions;
mod staff;
mod terminals;

use async_trait::async_trait;
use sqlx::SqlitePool;
use stampede_domain::ports::{HealthCheck, Store, StoreResult};

use crate::error;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl HealthCheck for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(error::other)?;
        Ok(())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
