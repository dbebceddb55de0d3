//! The disk under the database, watched, so that a report shows whether a run
//! measured the code or the disk.
//!
//! On the VMs these numbers come from, the same binary held a step on one run
//! and broke it on the next: a 4 KiB synchronous write took 0.15 ms on a quiet
//! disk and 30–100 ms during its stalls, and one such stall inside a 5-second
//! step is enough to put p99 over 10 ms. Two readings tell a quiet run from a
//! stalling one:
//!
//! - [`probe`], before and after each run: a few hundred 4 KiB writes, each
//!   followed by `fdatasync` (what a SQLite commit does), in the database's
//!   folder, timed one by one. It adds its own writes, so it never runs
//!   during a step.
//! - [`Device::counters`] around each step: the kernel's counters for the
//!   device holding the database (`/proc/diskstats`), read, not disturbed:
//!   megabytes written, and the mean time a write request took.

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use stampede_store::{DatabaseBackend, DatabaseOptions};

/// Writes per probe: ~50 ms on a quiet disk here.
pub const PROBE_WRITES: usize = 300;

/// The folder whose disk a run's database lives on: a SQLite file's folder,
/// else (PostgreSQL, whose data folder the harness does not know) the
/// temporary folder, which on a one-disk machine is the same disk.
pub fn database_folder(db: &DatabaseOptions) -> PathBuf {
    let tmp = std::env::temp_dir();
    if db.backend != DatabaseBackend::Sqlite {
        return tmp;
    }
    let path = db.url.strip_prefix("sqlite://").or_else(|| db.url.strip_prefix("sqlite:")).unwrap_or(&db.url);
    let path = path.split('?').next().unwrap_or(path);
    match Path::new(path).parent() {
        Some(p) if p.as_os_str().is_empty() => PathBuf::from("."),
        Some(p) => p.to_path_buf(),
        None => tmp,
    }
}

/// Synchronous 4 KiB writes, timed one by one.
#[derive(Debug, Clone, Serialize)]
pub struct DiskProbe {
    pub writes: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One line for a report: "median 0.15 ms, p99 0.40 ms, max 1.20 ms".
pub fn describe(p: &Option<DiskProbe>) -> String {
    match p {
        Some(p) => format!("median {:.2} ms, p99 {:.2} ms, max {:.2} ms", p.median_ms, p.p99_ms, p.max_ms),
        None => "not measured".into(),
    }
}

/// Time `writes` synchronous 4 KiB writes (each a `write` and an
/// `fdatasync`) into a temporary file in `folder`, cycling over 16 blocks of
/// a file written and synced once first, so that no write grows the file.
pub fn probe(folder: &Path, writes: usize) -> std::io::Result<DiskProbe> {
    let mut file = tempfile::tempfile_in(folder)?;
    let block = [0x5a_u8; 4096];
    for _ in 0..16 {
        file.write_all(&block)?;
    }
    file.sync_all()?;
    let mut took: Vec<Duration> = Vec::with_capacity(writes);
    for i in 0..writes.max(1) {
        file.seek(SeekFrom::Start((i % 16) as u64 * 4096))?;
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        took.push(started.elapsed());
    }
    took.sort_unstable();
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    Ok(DiskProbe { writes: took.len(), median_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1.0) })
}

/// A block device, by its major and minor numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    major: u64,
    minor: u64,
}

/// The counters of `/proc/diskstats` a step's figures come from.
#[derive(Debug, Clone, Copy)]
pub struct DiskCounters {
    writes: u64,
    sectors_written: u64,
    ms_writing: u64,
    at: Instant,
}

/// What the disk did during one step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DiskStep {
    pub write_mb_s: f64,
    pub writes_per_s: f64,
    /// Mean time a completed write request took, queueing included.
    pub write_wait_ms: Option<f64>,
}

impl Device {
    /// The device holding `path` (Linux's encoding of `st_dev`).
    pub fn of(path: &Path) -> Option<Self> {
        let dev = std::fs::metadata(path).ok()?.dev();
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        Some(Self { major, minor })
    }

    /// Its counters now; `None` where `/proc/diskstats` does not list it (an
    /// overlay or a tmpfs has no device of its own).
    pub fn counters(&self) -> Option<DiskCounters> {
        let stats = std::fs::read_to_string("/proc/diskstats").ok()?;
        parse_counters(&stats, *self)
    }
}

fn parse_counters(stats: &str, device: Device) -> Option<DiskCounters> {
    stats.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        // major minor name, reads (4 fields), writes completed, merged,
        // sectors written, ms writing, …
        (num(0)? == device.major && num(1)? == device.minor).then_some(())?;
        Some(DiskCounters { writes: num(7)?, sectors_written: num(9)?, ms_writing: num(10)?, at: Instant::now() })
    })
}

impl DiskCounters {
    /// From `self` to `later`.
    pub fn until(&self, later: &DiskCounters) -> DiskStep {
        let secs = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let writes = later.writes.saturating_sub(self.writes);
        let sectors = later.sectors_written.saturating_sub(self.sectors_written);
        let ms = later.ms_writing.saturating_sub(self.ms_writing);
        DiskStep {
            // Sectors are 512 bytes in /proc/diskstats, whatever the device's.
            write_mb_s: sectors as f64 * 512.0 / 1e6 / secs,
            writes_per_s: writes as f64 / secs,
            write_wait_ms: (writes > 0).then(|| ms as f64 / writes as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_devices_write_counters_are_read_from_its_line() {
        let stats = " 254       0 vda 213705 10099 12322322 276558 77407 48494 30391840 82328 0 18576 361338 11751 83 15535760 1885 15788 566\n 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let c = parse_counters(stats, Device { major: 254, minor: 0 }).expect("vda is listed");
        assert_eq!((c.writes, c.sectors_written, c.ms_writing), (77407, 30391840, 82328));
        assert!(parse_counters(stats, Device { major: 8, minor: 1 }).is_none());
    }

    #[test]
    fn a_step_reports_rates_and_the_mean_wait_per_write() {
        let at = Instant::now();
        let a = DiskCounters { writes: 1_000, sectors_written: 0, ms_writing: 500, at };
        let b = DiskCounters {
            writes: 3_000,
            sectors_written: 400_000,
            ms_writing: 2_500,
            at: at + Duration::from_secs(2),
        };
        let s = a.until(&b);
        assert_eq!(s.writes_per_s, 1_000.0);
        assert_eq!(s.write_mb_s, 102.4);
        assert_eq!(s.write_wait_ms, Some(1.0));
        assert_eq!(a.until(&a).write_wait_ms, None);
    }

    #[test]
    fn the_probe_times_every_write_and_orders_its_percentiles() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let p = probe(dir.path(), 20).expect("probe");
        assert_eq!(p.writes, 20);
        assert!(p.median_ms > 0.0 && p.median_ms <= p.p99_ms && p.p99_ms <= p.max_ms, "{p:?}");
    }

    #[test]
    fn the_database_folder_is_the_sqlite_files_folder() {
        let db = |backend, url: &str| DatabaseOptions {
            backend,
            url: url.into(),
            max_connections: 1,
            min_connections: 1,
            connect_timeout: Duration::from_secs(1),
            migrate: false,
            sqlite_sync: stampede_store::SqliteSync::Full,
        };
        assert_eq!(
            database_folder(&db(DatabaseBackend::Sqlite, "sqlite:///srv/data/s.db?mode=rwc")),
            Path::new("/srv/data")
        );
        assert_eq!(database_folder(&db(DatabaseBackend::Sqlite, "s.db")), Path::new("."));
        assert_eq!(database_folder(&db(DatabaseBackend::Sqlite, "sqlite:d/s.db")), Path::new("d"));
        assert_eq!(database_folder(&db(DatabaseBackend::Postgres, "postgres://localhost/x")), std::env::temp_dir());
    }
}
