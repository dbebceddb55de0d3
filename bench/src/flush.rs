//! Writes that are still on their way to the disk, finished before a measured
//! phase begins.
//!
//! Seeding 100k cards leaves 90–220 MiB of dirty pages in the kernel (and,
//! on PostgreSQL, in its shared buffers). Linux writes a dirty page back once
//! it is 30 s old (`vm.dirty_expire_centisecs`), so that backlog reaches the
//! device in one burst about 30 s after seeding: ~107 MB in one second,
//! measured here, on the sweep's third or fourth step. A commit's fsync
//! queued behind such a burst waits for it. The burst belongs to the
//! harness's seeding, not to the load it measures, so before the first step
//! (and before the half-load step, after an overload) the harness finishes
//! those writes:
//!
//! - on PostgreSQL, `CHECKPOINT`: its dirty buffers go to the kernel and are
//!   synced (needs superuser or `pg_checkpoint`; refused, the report says so);
//! - then `sync`: the kernel writes every dirty page and waits for it.
//!
//! What the load itself dirties during the steps is written back as usual,
//! and the per-step `disk MB/s` column shows it.

use std::time::Instant;

use serde::Serialize;
use sqlx::Connection;
use stampede_store::{DatabaseBackend, DatabaseOptions};

/// What was flushed, and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Flushed {
    /// Dirty and writeback pages the kernel held before (`/proc/meminfo`).
    pub dirty_mib: Option<f64>,
    pub secs: f64,
    /// PostgreSQL's `CHECKPOINT`: `None` on SQLite, else whether it ran.
    pub checkpoint: Option<Result<(), String>>,
}

/// One line for a report: "98.4 MiB dirty, written in 0.62 s (after a CHECKPOINT)".
pub fn describe(f: &Flushed) -> String {
    let dirty = f.dirty_mib.map_or_else(|| "unknown dirty pages".to_owned(), |m| format!("{m:.1} MiB dirty"));
    let checkpoint = match &f.checkpoint {
        None => String::new(),
        Some(Ok(())) => " (after a PostgreSQL CHECKPOINT)".to_owned(),
        Some(Err(e)) => format!(" (PostgreSQL CHECKPOINT refused: {e})"),
    };
    format!("{dirty}, written in {:.2} s{checkpoint}", f.secs)
}

/// The kernel's dirty and writeback pages, in MiB, from `/proc/meminfo`.
pub fn dirty_mib(meminfo: &str) -> Option<f64> {
    let kib = |name: &str| {
        meminfo.lines().find_map(|l| l.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
    };
    Some((kib("Dirty:")? + kib("Writeback:")?) / 1024.0)
}

/// Finish the writes on their way to the disk (the module's doc says why).
pub async fn flush(db: &DatabaseOptions) -> Flushed {
    let started = Instant::now();
    let dirty = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| dirty_mib(&m));
    let checkpoint = match db.backend {
        DatabaseBackend::Postgres => Some(checkpoint(&db.url).await),
        DatabaseBackend::Sqlite => None,
    };
    // Whatever `sync` answers, the step runs: a machine without it measures
    // as before, and the report's figures show what was pending.
    let _ = tokio::process::Command::new("sync").status().await;
    Flushed { dirty_mib: dirty, secs: started.elapsed().as_secs_f64(), checkpoint }
}

async fn checkpoint(url: &str) -> Result<(), String> {
    let mut conn = sqlx::postgres::PgConnection::connect(url).await.map_err(|e| e.to_string())?;
    let done = sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await.map(|_| ()).map_err(|e| e.to_string());
    let _ = conn.close().await;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_pages_are_read_from_meminfo() {
        let m = "MemTotal:       24684544 kB\nDirty:             92160 kB\nWriteback:          10240 kB\n";
        assert_eq!(dirty_mib(m), Some(100.0));
    }

    #[test]
    fn meminfo_without_the_counters_gives_nothing() {
        assert_eq!(dirty_mib("MemTotal:       24684544 kB\n"), None);
    }

    #[test]
    fn a_refused_checkpoint_is_reported() {
        let f = Flushed { dirty_mib: Some(1.5), secs: 0.25, checkpoint: Some(Err("permission denied".into())) };
        assert_eq!(describe(&f), "1.5 MiB dirty, written in 0.25 s (PostgreSQL CHECKPOINT refused: permission denied)");
        let f = Flushed { dirty_mib: None, secs: 0.1, checkpoint: None };
        assert_eq!(describe(&f), "unknown dirty pages, written in 0.10 s");
    }
}
