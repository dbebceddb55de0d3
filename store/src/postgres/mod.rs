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
mod invitations;
mod ledger;
mod mailings;
mod mfa;
pub mod nodelay;
mod places;
mod programs;
mod queue;
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
    /// Whether PostgreSQL answers now. A pooled connection that died with an
    /// earlier outage (they are not tested before each use, `open.rs`) fails
    /// and is discarded; the check then tries the next, so readiness does not
    /// report an outage that is over.
    async fn ping(&self) -> StoreResult<()> {
        let tries = self.pool.options().get_max_connections() + 1;
        let mut last = None;
        for _ in 0..tries {
            match sqlx::query("SELECT 1").execute(&self.pool).await {
                Ok(_) => return Ok(()),
                Err(e) if connection_lost(&e) => last = Some(e),
                Err(e) => return Err(error::other(e)),
            }
        }
        Err(error::other(last.unwrap_or(sqlx::Error::PoolTimedOut)))
    }
}

/// The connection, not the statement, failed: its socket, or the server ended
/// it (class 08, connection exception; 57P01–57P03, shut down or restarting).
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}
