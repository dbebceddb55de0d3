//! The SQLite adapter (the embedded default). The same tables as PostgreSQL
//! without schemas (see `migrations/sqlite`); uuids are blobs, times RFC 3339 text.
//! Generated in shape from the PostgreSQL adapter (all but this file, `queue.rs` and
//! `ledger.rs`, by `scripts/gen-sqlite-adapter.py`); keep the two in step.
//!
//! Two pools over one file. SQLite lets one writer in at a time; a second
//! connection that wants to write meets `SQLITE_BUSY` and sleeps in SQLite's
//! busy handler (1, 2, 5, 10… ms) however soon the lock frees, which under load
//! turned into tail latency and idle CPU. So every method that writes runs on
//! `writer()`, a pool of exactly one connection, where writers wait their turn
//! in order and wake the moment it is free; reads run on `pool()`, read-only
//! connections that WAL lets proceed beside the writer.

mod analytics;
mod audit;
mod businesses;
mod cards;
pub(crate) mod checkpoint;
mod customers;
mod direct;
mod exports;
mod history;
mod inbox;
mod invitations;
mod ledger;
mod mailings;
mod mfa;
mod places;
mod programs;
mod queue;
mod sessions;
mod staff;
mod terminals;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use sqlx::SqlitePool;
use stampede_domain::ports::{HealthCheck, Store, StoreResult};

use crate::error;

pub use checkpoint::WAL_KEEP;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    reads: SqlitePool,
    writes: SqlitePool,
    /// The writer pool again, for the WAL checkpointer (`checkpoint.rs`): it
    /// runs while any clone of the store lives, and ends when it cannot
    /// upgrade its weak handle to this.
    alive: Arc<SqlitePool>,
}

impl SqliteStore {
    /// `writes` should hold one connection (see the module docs); `reads` may
    /// be read-only.
    pub fn new(reads: SqlitePool, writes: SqlitePool) -> Self {
        Self { alive: Arc::new(writes.clone()), reads, writes }
    }

    /// The writer pool, as long as some clone of the store lives.
    pub(crate) fn alive(&self) -> Weak<SqlitePool> {
        Arc::downgrade(&self.alive)
    }

    /// The read pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.reads
    }

    /// The one writer connection.
    pub fn writer(&self) -> &SqlitePool {
        &self.writes
    }
}

#[async_trait]
impl HealthCheck for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reads).await.map_err(error::other)?;
        Ok(())
    }

    /// Each idle connection drops its page cache (up to ~2 MiB each: SQLite's
    /// default `cache_size`). After a million cards were read, that was most of
    /// what stayed in use once their actors had passivated.
    async fn release_memory(&self) {
        for pool in [&self.reads, &self.writes] {
            // Held until all are done, so each idle connection is visited once.
            let mut idle = Vec::new();
            while let Some(c) = pool.try_acquire() {
                idle.push(c);
            }
            for c in &mut idle {
                if let Err(e) = sqlx::query("PRAGMA shrink_memory").execute(&mut **c).await {
                    tracing::debug!(error = %e, "shrink_memory failed");
                }
            }
        }
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
