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

/// Clock ticks of every core since boot, from `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticks {
    /// user, nice, system, irq, softirq (guest time is in user).
    pub busy: u64,
    /// Time the hypervisor ran someone else while this machine wanted to
    /// run: not ours, so not busy.
    pub steal: u64,
    pub all: u64,
}

impl Ticks {
    pub fn until(&self, later: &Ticks) -> Ticks {
        Ticks {
            busy: later.busy.saturating_sub(self.busy),
            steal: later.steal.saturating_sub(self.steal),
            all: later.all.saturating_sub(self.all),
        }
    }

    pub fn add(&mut self, o: &Ticks) {
        self.busy += o.busy;
        self.steal += o.steal;
        self.all += o.all;
    }
}

pub fn machine_ticks() -> Option<Ticks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_ticks(stat.lines().next()?)
}

fn parse_ticks(line: &str) -> Option<Ticks> {
    let line = line.strip_prefix("cpu ")?;
    // user nice system idle iowait irq softirq steal
    let t: Vec<u64> = line.split_whitespace().take(8).map(|t| t.parse().ok()).collect::<Option<_>>()?;
    if t.len() < 8 {
        return None;
    }
    Some(Ticks { busy: t[0] + t[1] + t[2] + t[5] + t[6], steal: t[7], all: t.iter().sum() })
}

/// CPU seconds used so far by every process named `postgres` (the
/// postmaster, its backends and its auxiliary processes), by pid. A backend
/// that ends between two readings takes its time with it; the harness's
/// connections and the server's pool live through a step.
pub fn postgres_cpu() -> std::collections::HashMap<u32, f64> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Default::default() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let name = stat.split_once('(')?.1.rsplit_once(')')?.0;
            (name == "postgres").then_some(())?;
            Some((pid, cpu_seconds(pid)?))
        })
        .collect()
}

/// The CPU seconds PostgreSQL used between two [`postgres_cpu`] readings:
/// processes in both count their difference, processes that started
/// between count whole.
pub fn postgres_cpu_between(
    before: &std::collections::HashMap<u32, f64>,
    after: &std::collections::HashMap<u32, f64>,
) -> f64 {
    after.iter().map(|(pid, t)| t - before.get(pid).copied().unwrap_or(0.0)).filter(|d| *d > 0.0).sum()
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
    use super::{Ticks, histogram_totals, metric_value, parse_ticks, postgres_cpu_between};

    #[test]
    fn a_metric_is_read_by_its_exact_name() {
        let m = "# HELP stampede_outbox_backlog Outbox rows\nstampede_outbox_backlog 3\n\
                 stampede_worker_messages_handled_total 120\nstampede_outbox_backlog_x 9\n";
        assert_eq!(metric_value(m, "stampede_outbox_backlog"), Some(3.0));
        assert_eq!(metric_value(m, "stampede_worker_messages_handled_total"), Some(120.0));
        assert_eq!(metric_value(m, "stampede_worker_dead_letters_total"), None);
    }

    #[test]
    fn steal_is_counted_apart_from_busy_time() {
        let t = parse_ticks("cpu  100 5 50 1000 20 3 2 40 0 0").expect("ticks");
        assert_eq!(t, Ticks { busy: 160, steal: 40, all: 1220 });
        assert_eq!(parse_ticks("cpu0 1 2 3"), None);
    }

    #[test]
    fn postgres_time_counts_new_processes_whole() {
        let before = [(1, 10.0), (2, 5.0), (3, 1.0)].into_iter().collect();
        let after = [(1, 10.5), (2, 5.25), (4, 0.5)].into_iter().collect();
        assert!((postgres_cpu_between(&before, &after) - 1.25).abs() < 1e-9);
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
