//! The PostgreSQL adapter. Tables live in the schemas `customer`, `business`,
//! `loyalty` and `analytics` (see `migrations/postgres`).

mod analytics;
mod audit;
mod businesses;
mod cards;
mod customers;
mod exports;
mod history;
mod inbox;
mod ledger;
pub mod nodelay;
mod places;
mod programs;
mod sessions;
mod staff;
mod terminals;

use async_trait::async_trait;
use sqlx::PgPool;
use stampede_domain::ports::{HealthCheck, Store, StoreResult};

use crate::error;

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl HealthCheck for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(error::other)?;
        Ok(())
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}
