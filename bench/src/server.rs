//! Starting and watching a server process for a run: its address, its CPU
//! time and memory from /proc, its Prometheus metrics.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use stampede_store::testing::TestDatabase;
use stampede_store::{DatabaseBackend, DatabaseOptions};

use crate::netdelay::DelayProxy;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub db: DatabaseOptions,
    /// The database this server made (dropped with it); `None` for a second
    /// server on another's database.
    _database: Option<TestDatabase>,
    /// How far away the database seems to the server (`--db-delay-us`), and
    /// the proxy that makes it so.
    db_delay: Option<Duration>,
    _proxy: Option<DelayProxy>,
    _dir: tempfile::TempDir,
}

/// Where `stampede` is: `--server-bin`, else beside this executable.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("stampede")))
        .unwrap_or_else(|| "stampede".into())
}

impl Server {
    /// A fresh database and data folder, and `stampede serve` on a free port.
    pub async fn start(
        bin: &Path,
        backend: DatabaseBackend,
        engine: &str,
        extra_env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        Self::start_with_delay(bin, backend, engine, extra_env, None).await
    }

    /// As [`Server::start`]; with `db_delay`, the server reaches PostgreSQL
    /// through a proxy that holds every chunk that long each way
    /// (`netdelay.rs`). The bench itself still connects directly.
    pub async fn start_with_delay(
        bin: &Path,
        backend: DatabaseBackend,
        engine: &str,
        extra_env: &[(String, String)],
        db_delay: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let database = TestDatabase::fresh(backend).await;
        let options = database.options.clone();
        Self::serve(bin, backend, options, Some(database), engine, extra_env, db_delay).await
    }

    /// A second server, with `engine`, on this one's database: another
    /// process writing to the same cards (the expiry sweep in Lambda, a
    /// second host).
    pub async fn start_beside(
        &self,
        bin: &Path,
        backend: DatabaseBackend,
        engine: &str,
        extra_env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        Self::serve(bin, backend, self.db.clone(), None, engine, extra_env, self.db_delay).await
    }

    async fn serve(
        bin: &Path,
        backend: DatabaseBackend,
        options: DatabaseOptions,
        database: Option<TestDatabase>,
        engine: &str,
        extra_env: &[(String, String)],
        db_delay: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (proxy, url) = match (db_delay, backend) {
            (Some(delay), DatabaseBackend::Postgres) => {
                let (proxy, url) =
                    DelayProxy::for_url(&options.url, delay).map_err(|e| anyhow::anyhow!("--db-delay-us: {e}"))?;
                (Some(proxy), url)
            }
            _ => (None, options.url.clone()),
        };
        let backend_name = match backend {
            DatabaseBackend::Sqlite => "sqlite",
            DatabaseBackend::Postgres => "postgres",
        };
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("STAMPEDE_SERVER__PORT", "0")
            .env("STAMPEDE_LOG__LEVEL", "error")
            .env("STAMPEDE_DATABASE__BACKEND", backend_name)
            .env("STAMPEDE_DATABASE__URL", &url)
            .env("STAMPEDE_DATABASE__MAX_CONNECTIONS", "16")
            .env("STAMPEDE_RUNTIME__ENGINE", engine)
            // 100 requests/s per terminal, bursts of 300: the abuser (~200/s on
            // one terminal) is refused, the other terminals are not.
            .env("STAMPEDE_RATE_LIMITS__POS_PER_TERMINAL__COUNT", "300")
            .env("STAMPEDE_RATE_LIMITS__POS_PER_TERMINAL__PERIOD_SECS", "3")
            // The app users sign in from one address before the load.
            .env("STAMPEDE_RATE_LIMITS__LOGIN_PER_IP__COUNT", "100000")
            .env("STAMPEDE_RATE_LIMITS__LOGIN_PER_IP__PERIOD_SECS", "60");
        for (k, v) in extra_env {
            if !matches!(
                k.as_str(),
                "STAMPEDE_SERVER__PORT"
                    | "STAMPEDE_DATABASE__BACKEND"
                    | "STAMPEDE_DATABASE__URL"
                    | "STAMPEDE_RUNTIME__ENGINE"
            ) {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut port = None;
        for line in lines.by_ref() {
            let line = line?;
            if let Some(rest) = line.strip_prefix("Stampede is listening on http://127.0.0.1:") {
                port = rest.split(' ').next().and_then(|p| p.parse::<u16>().ok());
            }
            if line.starts_with("  health:") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let port = port.ok_or_else(|| anyhow::anyhow!("the server did not start"))?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            db: options,
            _database: database,
            db_delay,
            _proxy: proxy,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) a process has used.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// (busy, all) clock ticks of every core since boot, from `/proc/stat`; idle
/// and I/O wait are not busy.
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let ticks: Vec<u64> = line.split_whitespace().take(8).map(|t| t.parse().ok()).collect::<Option<_>>()?;
    let all: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((all - idle, all))
}

/// (current RSS, peak RSS) in KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// One sample of a Prometheus text exposition, by its exact name (the first
/// series, whatever its labels).
pub fn metric_value(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        rest.starts_with([' ', '{']).then(|| rest.rsplit(' ').next()?.trim().parse::<f64>().ok())?
    })
}

/// Sum and count of a Prometheus histogram in a text exposition (0 where absent).
pub fn histogram_totals(metrics: &str, name: &str) -> (f64, f64) {
    let value = |suffix: &str| metric_value(metrics, &format!("{name}_{suffix}")).unwrap_or(0.0);
    (value("sum"), value("count"))
}

#[cfg(test)]
mod tests {
    use super::{histogram_totals, metric_value};

    #[test]
    fn a_metric_is_read_by_its_exact_name() {
        let m = "# HELP stampede_outbox_backlog Outbox rows\nstampede_outbox_backlog 3\n\
                 stampede_worker_messages_handled_total 120\nstampede_outbox_backlog_x 9\n";
        assert_eq!(metric_value(m, "stampede_outbox_backlog"), Some(3.0));
        assert_eq!(metric_value(m, "stampede_worker_messages_handled_total"), Some(120.0));
        assert_eq!(metric_value(m, "stampede_worker_dead_letters_total"), None);
    }

    #[test]
    fn a_histograms_sum_and_count_are_read_with_or_without_labels() {
        let m = "stampede_commit_batch_size_sum 12.5\nstampede_commit_batch_size_count 5\n\
                 stampede_commit_duration_seconds_sum{backend=\"sqlite\"} 0.25\n\
                 stampede_commit_duration_seconds_count{backend=\"sqlite\"} 100\n";
        assert_eq!(histogram_totals(m, "stampede_commit_batch_size"), (12.5, 5.0));
        assert_eq!(histogram_totals(m, "stampede_commit_duration_seconds"), (0.25, 100.0));
        assert_eq!(histogram_totals(m, "stampede_missing"), (0.0, 0.0));
    }
}
