//! What the embedded database writes: write transactions committed and rows
//! inserted, updated or deleted, counted by SQLite's own hooks on the writer
//! connection (every write of the process goes through it, the group commit's
//! included), and published as metrics. PostgreSQL counts the same in
//! `pg_stat_database`, so it needs nothing here.
//!
//! The counters are the process's: one embedded database per server.

use std::sync::atomic::{AtomicU64, Ordering};

static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
static ROWS: AtomicU64 = AtomicU64::new(0);

/// (write transactions committed, rows written) on SQLite since the process
/// started.
pub fn sqlite_writes() -> (u64, u64) {
    (TRANSACTIONS.load(Ordering::Relaxed), ROWS.load(Ordering::Relaxed))
}

/// Count what `conn` commits and writes. SQLite calls the update hook once
/// per row of a rowid table (every table of the schema is one).
pub(crate) async fn count_on(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    handle.set_commit_hook(|| {
        TRANSACTIONS.fetch_add(1, Ordering::Relaxed);
        true
    });
    handle.set_update_hook(|_| {
        ROWS.fetch_add(1, Ordering::Relaxed);
    });
    Ok(())
}
