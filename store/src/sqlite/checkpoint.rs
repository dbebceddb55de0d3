//! WAL checkpoints off the write path.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past
//! 1,000 pages: that commit copies the WAL into the database file and fsyncs
//! it before it returns, so under load every few hundred milliseconds one
//! group commit (and every POS request waiting on it) took several
//! milliseconds longer. The writer connection therefore runs with
//! `wal_autocheckpoint = 0`, and this task checkpoints from its own connection
//! instead: `PASSIVE`, which copies what no reader still needs and never
//! blocks the writer (it appends while the copy runs). The WAL is reused from
//! its start once a checkpoint has caught up, so it stays bounded by what is
//! written between two passes.

use std::sync::Weak;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(500);

/// A checkpoint slower than this is logged (it may delay commits beside it).
const SLOW: Duration = Duration::from_millis(20);

/// Checkpoint every `EVERY` until `alive` can no longer be upgraded (the store
/// was dropped).
pub(crate) fn spawn(options: SqliteConnectOptions, alive: Weak<()>) {
    tokio::spawn(async move {
        let mut conn: Option<SqliteConnection> = None;
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if alive.upgrade().is_none() {
                break;
            }
            if conn.is_none() {
                match SqliteConnection::connect_with(&options).await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open the WAL checkpoint connection");
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            let started = std::time::Instant::now();
            let pass: Result<(i64, i64, i64), _> =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&mut *c).await;
            match pass {
                Ok((_, wal_pages, copied)) if started.elapsed() > SLOW => {
                    tracing::info!(ms = started.elapsed().as_secs_f64() * 1e3, wal_pages, copied, "slow WAL checkpoint")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                    conn = None;
                }
            }
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
    });
}
