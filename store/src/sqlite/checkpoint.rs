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
//!
//! The file itself never shrinks on its own: after a bulk import (seeding
//! 100k cards left 480 MiB) it kept its largest size. So once the database is
//! idle (a pass found nothing new since the last one, all of it copied) and
//! the file is larger than [`WAL_KEEP`], the checkpointer truncates it
//! (`TRUNCATE`, waiting at most 50 ms for readers). Not under load: cutting
//! the file back while the writer appends to it makes every commit's fsync
//! grow the file again (tried with `journal_size_limit`: p99 at 422/s went
//! from ~5 ms to 44 ms).

use std::sync::Weak;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(500);

/// A checkpoint slower than this is logged (it may delay commits beside it).
const SLOW: Duration = Duration::from_millis(20);

/// A WAL file larger than this (bytes) is truncated once the database is idle.
pub const WAL_KEEP: u64 = 32 * 1024 * 1024;

/// Checkpoint every `EVERY` until `alive` can no longer be upgraded (the store
/// was dropped).
pub(crate) fn spawn(options: SqliteConnectOptions, alive: Weak<()>) {
    let wal = {
        let mut name = options.get_filename().as_os_str().to_owned();
        name.push("-wal");
        std::path::PathBuf::from(name)
    };
    // A truncation waits for readers this long at most, then tries later.
    let options = options.busy_timeout(Duration::from_millis(50));
    tokio::spawn(async move {
        let mut conn: Option<SqliteConnection> = None;
        // The WAL's frame count at the last pass, if all of it was copied.
        let mut settled: Option<i64> = None;
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
                Ok((_, wal_pages, copied)) => {
                    if started.elapsed() > SLOW {
                        tracing::info!(
                            ms = started.elapsed().as_secs_f64() * 1e3,
                            wal_pages,
                            copied,
                            "slow WAL checkpoint"
                        );
                    }
                    let idle = copied == wal_pages && settled == Some(wal_pages);
                    settled = (copied == wal_pages).then_some(wal_pages);
                    if idle && std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_KEEP) {
                        let cut: Result<(i64, i64, i64), _> =
                            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *c).await;
                        match cut {
                            Ok((0, _, _)) => tracing::info!("idle: WAL file truncated"),
                            Ok(_) => {}
                            Err(e) => tracing::debug!(error = %e, "WAL truncation did not run"),
                        }
                    }
                }
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
