//! WAL checkpoints off the write path.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past
//! 1,000 pages: that commit copies the WAL into the database file and fsyncs
//! it before it returns, so under load every few hundred milliseconds one
//! group commit (and every POS request waiting on it) took several
//! milliseconds longer. The writer connection therefore runs with
//! `wal_autocheckpoint = 0`, and this task checkpoints instead, every
//! [`EVERY`], in two parts:
//!
//! 1. `PASSIVE` from its own connection: it copies what the WAL held when the
//!    pass started, and never blocks the writer, which appends meanwhile.
//!    A pass that took longer than [`SHORT`] left many commits behind it, so
//!    it is repeated, up to [`CATCH_UP`] more times, until one is short.
//! 2. `PASSIVE` again on the writer connection, taken from its pool so that
//!    nothing is appended while it runs: it copies only what was committed
//!    during part 1, and leaves the WAL fully copied. The writer's next
//!    commit then starts the WAL over from its beginning.
//!
//! Part 2 holds every commit behind it. In a logged step at 1,500 ops/s
//! (spread load), without the repeats in part 1, it held the writer for
//! 9.8 ms (median) twice a second, and that made the step's p99; with repeats
//! by the same rule, 1.0 ms.
//!
//! SQLite restarts the WAL only when a write begins while every frame has
//! been copied. Under steady load part 1 alone never got there (a commit
//! always landed while it ran), so the WAL grew for as long as the load
//! lasted: 4.3 GB in a 60-second step at 2,000 ops/s, every commit appending
//! to new blocks of the file. Part 2 holds the writer for the copy of one
//! pass's worth of commits and the database file's fsync.
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
use sqlx::{Connection, SqliteConnection, SqlitePool};

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(500);

/// A checkpoint slower than this is logged (it may delay commits beside it).
const SLOW: Duration = Duration::from_millis(20);

/// More passes from the checkpointer's own connection before the one on the
/// writer, while a pass took longer than [`SHORT`].
const CATCH_UP: usize = 3;

/// A pass this quick left little behind it for the pass on the writer.
const SHORT: Duration = Duration::from_millis(2);

/// A WAL file larger than this (bytes) is truncated once the database is idle.
pub const WAL_KEEP: u64 = 32 * 1024 * 1024;

/// Checkpoint every `EVERY` until `writer` can no longer be upgraded (the
/// store was dropped).
pub(crate) fn spawn(options: SqliteConnectOptions, writer: Weak<SqlitePool>) {
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
            let Some(pool) = writer.upgrade() else { break };
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
            let mut pass: Result<(i64, i64, i64), _> = sqlx::query_as(PASS).fetch_one(&mut *c).await;
            // Catch up before holding the writer: while a pass took long, the
            // commits that landed meanwhile are many; copy them from here.
            let (mut last, mut passes) = (started.elapsed(), 1);
            for _ in 0..CATCH_UP {
                if last <= SHORT || pass.is_err() {
                    break;
                }
                let again = std::time::Instant::now();
                pass = sqlx::query_as(PASS).fetch_one(&mut *c).await;
                (last, passes) = (again.elapsed(), passes + 1);
            }
            match pass {
                Ok((_, wal_pages, copied)) => {
                    if started.elapsed() > SLOW {
                        // All of part 1's passes; none of them blocks the writer.
                        tracing::info!(
                            ms = started.elapsed().as_secs_f64() * 1e3,
                            passes,
                            wal_pages,
                            copied,
                            "slow WAL checkpoint"
                        );
                    }
                    let idle = copied == wal_pages && settled == Some(wal_pages);
                    settled = (copied == wal_pages).then_some(wal_pages);
                    if idle {
                        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_KEEP) {
                            truncate(c).await;
                        }
                    } else if wal_pages > 0 {
                        finish_on_writer(&pool).await;
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

const PASS: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// Part 2 (module docs): copy the rest on the writer connection, so the
/// writer's next commit finds the WAL fully copied and starts it over.
async fn finish_on_writer(writer: &SqlitePool) {
    let started = std::time::Instant::now();
    let mut w = match writer.acquire().await {
        Ok(w) => w,
        Err(e) => {
            tracing::debug!(error = %e, "no writer connection for the WAL checkpoint");
            return;
        }
    };
    let waited = started.elapsed();
    match sqlx::query_as::<_, (i64, i64, i64)>(PASS).fetch_one(&mut *w).await {
        Ok((_, wal_pages, copied)) if started.elapsed() > SLOW => tracing::info!(
            waited_ms = waited.as_secs_f64() * 1e3,
            held_ms = (started.elapsed() - waited).as_secs_f64() * 1e3,
            wal_pages,
            copied,
            "slow WAL checkpoint on the writer"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint on the writer failed"),
    }
}

/// Cut an idle WAL file back to nothing (waiting at most 50 ms for readers).
async fn truncate(c: &mut SqliteConnection) {
    let cut: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *c).await;
    match cut {
        Ok((0, _, _)) => tracing::info!("idle: WAL file truncated"),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "WAL truncation did not run"),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    /// A pass from `c`, as part 1 runs it.
    async fn part_1(c: &mut SqliteConnection) {
        let _: (i64, i64, i64) = sqlx::query_as(PASS).fetch_one(c).await.expect("checkpoint");
    }

    async fn write(writer: &SqlitePool, rows: usize) {
        let mut tx = writer.begin().await.expect("begin");
        for _ in 0..rows {
            sqlx::query("INSERT INTO t VALUES (randomblob(3000))").execute(&mut *tx).await.expect("insert");
        }
        tx.commit().await.expect("commit");
    }

    /// Under steady load a commit lands while the checkpointer's own pass
    /// runs, so that pass never leaves the WAL fully copied and SQLite never
    /// starts it over. The pass on the writer copies the rest: the next commit
    /// writes from the WAL's start again.
    #[tokio::test]
    async fn the_pass_on_the_writer_lets_the_wal_start_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("wal.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .expect("writer");
        sqlx::query("CREATE TABLE t (b BLOB)").execute(&writer).await.expect("create");
        let mut own = SqliteConnection::connect_with(&options).await.expect("checkpoint connection");

        write(&writer, 200).await;
        let wal = dir.path().join("wal.db-wal");
        let size = || std::fs::metadata(&wal).expect("the WAL file").len();
        // One checkpointer tick under steady load: a commit begins before
        // part 1 ends (part 1 copies what was committed when it started; the
        // commit appends after it), then another commit.
        let tick = async |own: &mut SqliteConnection, with_part_2: bool| {
            let mut tx = writer.begin().await.expect("begin");
            sqlx::query("INSERT INTO t VALUES (randomblob(3000))").execute(&mut *tx).await.expect("insert");
            part_1(own).await;
            tx.commit().await.expect("commit");
            if with_part_2 {
                finish_on_writer(&writer).await;
            }
            write(&writer, 1).await;
        };
        let mut last = size();
        for _ in 0..3 {
            tick(&mut own, false).await;
            assert!(size() > last, "with part 1 alone every tick appends to the WAL ({last} → {} bytes)", size());
            last = size();
        }
        tick(&mut own, true).await; // its first commit still appends, then the WAL starts over
        let settled = size();
        for _ in 0..3 {
            tick(&mut own, true).await;
        }
        assert_eq!(size(), settled, "with part 2 the WAL is written from its start again");
    }
}
