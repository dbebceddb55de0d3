//! The scenarios. Each runs steps against one server, then the correctness
//! check.
//!
//! A sweep finds two rates. **Peak**: the most committed writes per second
//! any step served with errors at most 0.1%, whatever its latency.
//! **Max sustainable**: the highest offered rate whose steps, pooled, kept p99
//! within the target, errors within 0.1% and served at least 95% of what was
//! offered. The search multiplies the rate by `growth` until a rate misses the
//! targets *and* committed writes stop growing (past the knee, so the peak is
//! seen), then bisects between the last rate that met the targets and the
//! first that did not. When even the first rate misses, it steps down (to an
//! eighth of it at most) until one meets them. Every rate runs `repeats` times; a rate is judged on
//! its repetitions pooled (their latencies in one histogram), so one unlucky
//! run neither makes nor breaks it.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use stampede_store::{DatabaseBackend, DatabaseOptions};

use crate::check::{buried, check};
use crate::disk::{DiskProbe, PROBE_WRITES, describe};
use crate::flush::{Flushed, flush};
use crate::lanes::{Counts, Tally};
use crate::load::{CpuPerWrite, Load, Samples, Shared, Step, StepResult, summarise};
use crate::report::RunReport;
use crate::server::{
    Ticks, cpu_seconds, histogram_totals, machine_ticks, memory_kib, metric_value, postgres_cpu, postgres_cpu_between,
};

#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub p99_ms: f64,
    pub max_error_rate: f64,
    /// Served per offered, at least.
    pub min_served: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self { p99_ms: 10.0, max_error_rate: 0.001, min_served: 0.95 }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepPlan {
    pub start_rps: f64,
    pub growth: f64,
    pub max_steps: usize,
    #[serde(serialize_with = "secs")]
    pub step: Duration,
    #[serde(serialize_with = "secs")]
    pub warmup: Duration,
    pub repeats: u32,
    /// Bisections between the last rate that met the targets and the first
    /// that did not.
    pub refine: u32,
    pub hot_card: bool,
    /// The rate-limited terminal's own rate (0: none), at most
    /// `abuser_share` of the offered rate: at low rates it must not become
    /// the load.
    pub abuser_rps: f64,
    pub abuser_share: f64,
}

impl SweepPlan {
    fn abuser_at(&self, rate: f64) -> f64 {
        self.abuser_rps.min(self.abuser_share * rate)
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Where a run happens: the server's address and process, and its database.
pub struct Target<'a> {
    pub base: &'a str,
    pub pid: Option<u32>,
    pub db: &'a DatabaseOptions,
}

/// One offered rate: each repetition, and them pooled.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub rate: f64,
    pub reps: Vec<StepResult>,
    pub pooled: StepResult,
    pub passed: bool,
}

async fn metrics(client: &reqwest::Client, base: &str) -> String {
    match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Wait (up to 30 s) until the server's outbox is delivered and its
/// in-process workers have stopped handling messages (their counter still for
/// 500 ms), finish the writes still on their way to the disk ([`flush`]),
/// then wait a second more: the step after an overloaded one then measures
/// the load it offers, not the backlog the overload left behind.
async fn settle(client: &reqwest::Client, base: &str, db: &DatabaseOptions) -> (Duration, Flushed) {
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_secs(30);
    let mut handled: Option<f64> = None;
    while std::time::Instant::now() < deadline {
        let m = metrics(client, base).await;
        let backlog = metric_value(&m, "stampede_outbox_backlog");
        let now = metric_value(&m, "stampede_worker_messages_handled_total");
        if backlog.is_none_or(|b| b <= 0.0) && (now.is_none() || now == handled) {
            break;
        }
        handled = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let waited = started.elapsed();
    let flushed = flush(db).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    (waited, flushed)
}

/// What the server and the machine did during a step, as raw totals, so
/// that repetitions pool by adding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw {
    server_cpu_s: Option<f64>,
    postgres_cpu_s: Option<f64>,
    bench_cpu_s: Option<f64>,
    ticks: Option<Ticks>,
    /// Operations and commits (the runtime's batch-size histogram), and
    /// seconds spent committing.
    ops: f64,
    commits: f64,
    commit_s: f64,
    /// Database transactions and rows written.
    db: Option<(f64, f64)>,
    rss_kib: Option<u64>,
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

impl Raw {
    fn pool(&self, o: &Raw) -> Raw {
        Raw {
            server_cpu_s: add(self.server_cpu_s, o.server_cpu_s),
            postgres_cpu_s: add(self.postgres_cpu_s, o.postgres_cpu_s),
            bench_cpu_s: add(self.bench_cpu_s, o.bench_cpu_s),
            ticks: self.ticks.zip(o.ticks).map(|(mut a, b)| {
                a.add(&b);
                a
            }),
            ops: self.ops + o.ops,
            commits: self.commits + o.commits,
            commit_s: self.commit_s + o.commit_s,
            db: self.db.zip(o.db).map(|(a, b)| (a.0 + b.0, a.1 + b.1)),
            rss_kib: self.rss_kib.max(o.rss_kib),
        }
    }

    /// The per-write and per-second figures of a step from its totals.
    fn fill(&self, r: &mut StepResult) {
        let writes = r.counts.committed + r.abuser.as_ref().map_or(0, |a| a.counts.committed);
        let requests = r.counts.sent + r.abuser.as_ref().map_or(0, |a| a.counts.sent);
        let per_write = |s: Option<f64>| s.filter(|_| writes > 0).map(|s| s * 1e6 / writes as f64);
        r.cpu_per_write = CpuPerWrite {
            server_us: per_write(self.server_cpu_s),
            postgres_us: per_write(self.postgres_cpu_s),
            bench_us: per_write(self.bench_cpu_s),
        };
        r.bench_us_per_request = self.bench_cpu_s.filter(|_| requests > 0).map(|s| s * 1e6 / requests as f64);
        if let Some(t) = self.ticks.filter(|t| t.all > 0) {
            r.steal = Some(t.steal as f64 / t.all as f64);
            r.machine_busy = Some(t.busy as f64 / t.all as f64);
        }
        r.server_rss_kib = self.rss_kib;
        if self.commits > 0.0 {
            r.ops_per_commit = Some(self.ops / self.commits);
            r.commits_ps = Some(self.commits / r.duration_s);
            r.mean_commit_ms = Some(self.commit_s * 1000.0 / self.commits);
        }
        if let Some((xacts, rows)) = self.db.filter(|_| writes > 0) {
            r.db_xacts_per_write = Some(xacts / writes as f64);
            r.db_rows_per_write = Some(rows / writes as f64);
        }
    }
}

/// Reads the database's own counters of transactions and rows written.
pub struct DbCounters {
    pg: Option<sqlx::PgPool>,
}

impl DbCounters {
    pub async fn connect(db: &DatabaseOptions) -> Self {
        let pg = match db.backend {
            DatabaseBackend::Postgres => {
                sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&db.url).await.ok()
            }
            DatabaseBackend::Sqlite => None,
        };
        Self { pg }
    }

    /// (transactions committed, rows inserted + updated + deleted) so far:
    /// PostgreSQL's statistics for this database (which lag up to a second:
    /// backends report them at most that often), else the server's metrics.
    async fn read(&self, server_metrics: &str) -> Option<(f64, f64)> {
        match &self.pg {
            Some(pool) => {
                let row: (i64, i64) = sqlx::query_as(
                    "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted
                     FROM pg_stat_database WHERE datname = current_database()",
                )
                .fetch_one(pool)
                .await
                .ok()?;
                Some((row.0 as f64, row.1 as f64))
            }
            None => Some((
                metric_value(server_metrics, "stampede_db_transactions_total")?,
                metric_value(server_metrics, "stampede_db_rows_written_total")?,
            )),
        }
    }
}

/// A step measured: its result, its latencies and counts (to pool), its raw
/// totals.
pub struct Measured {
    pub result: StepResult,
    samples: Samples,
    raw: Raw,
}

/// One step, with the server's, PostgreSQL's, the harness's and the
/// machine's figures around it.
pub async fn measured_step(
    shared: &Arc<Shared>,
    t: &Target<'_>,
    counters: &DbCounters,
    load: Load,
    step: Step,
) -> anyhow::Result<Measured> {
    let postgres = t.db.backend == DatabaseBackend::Postgres;
    // Planned before any reading: building the requests is not the step's.
    let plan = shared.prepare(load, step).await?;
    let m0 = metrics(&shared.client, t.base).await;
    let db0 = counters.read(&m0).await;
    let device = crate::disk::Device::of(&crate::disk::database_folder(t.db));
    let disk0 = device.and_then(|d| d.counters());
    let pg0 = postgres.then(postgres_cpu);
    let (cpu0, own0, ticks0) = (t.pid.and_then(cpu_seconds), cpu_seconds(std::process::id()), machine_ticks());
    let sent = shared.send_plan(plan, &step).await?;
    let (cpu1, own1, ticks1) = (t.pid.and_then(cpu_seconds), cpu_seconds(std::process::id()), machine_ticks());
    let pg1 = postgres.then(postgres_cpu);
    let disk1 = device.and_then(|d| d.counters());
    let m1 = metrics(&shared.client, t.base).await;
    let db1 = counters.read(&m1).await;
    let samples = shared.finish(sent)?;
    let diff = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    let (bs0, bc0) = histogram_totals(&m0, "stampede_commit_batch_size");
    let (bs1, bc1) = histogram_totals(&m1, "stampede_commit_batch_size");
    let (cs0, _) = histogram_totals(&m0, "stampede_commit_duration_seconds");
    let (cs1, _) = histogram_totals(&m1, "stampede_commit_duration_seconds");
    let raw = Raw {
        server_cpu_s: diff(cpu0, cpu1),
        postgres_cpu_s: pg0.zip(pg1).map(|(a, b)| postgres_cpu_between(&a, &b)),
        bench_cpu_s: diff(own0, own1),
        ticks: ticks0.zip(ticks1).map(|(a, b)| a.until(&b)),
        ops: bs1 - bs0,
        commits: bc1 - bc0,
        commit_s: cs1 - cs0,
        db: db0.zip(db1).map(|(a, b)| (b.0 - a.0, b.1 - a.1)),
        rss_kib: t.pid.and_then(memory_kib).map(|(_, peak)| peak),
    };
    let mut result = summarise(&step, &samples);
    raw.fill(&mut result);
    if let (Some(a), Some(b)) = (disk0, disk1) {
        result.disk = Some(a.until(&b));
    }
    Ok(Measured { result, samples, raw })
}

/// Repetitions of one rate pooled: their latencies in one histogram, their
/// counts and totals added.
fn pool(step: &Step, reps: &[Measured]) -> StepResult {
    let mut tally = Tally::default();
    let mut raw: Option<Raw> = None;
    let (mut elapsed, mut planned, mut abuser_planned) = (Duration::ZERO, 0, 0);
    for m in reps {
        tally.merge(m.samples.tally.latencies());
        raw = Some(raw.map_or(m.raw, |r| r.pool(&m.raw)));
        elapsed += m.samples.elapsed;
        planned += m.samples.planned;
        abuser_planned += m.samples.abuser_planned;
    }
    let pooled = Samples { tally, elapsed, planned, abuser_planned };
    let mut r = summarise(step, &pooled);
    if let Some(raw) = raw {
        raw.fill(&mut r);
    }
    r
}

/// The disk probe (`disk`), off the runtime's threads; `None` where the
/// database's folder cannot be written.
async fn probe_disk(t: &Target<'_>) -> Option<DiskProbe> {
    let folder = crate::disk::database_folder(t.db);
    tokio::task::spawn_blocking(move || crate::disk::probe(&folder, PROBE_WRITES).ok()).await.ok().flatten()
}

fn within(r: &StepResult, targets: &Targets) -> bool {
    r.p99_ms <= targets.p99_ms && r.error_rate <= targets.max_error_rate && r.served_share >= targets.min_served
}

/// A sweep in progress: what it has run and counted.
struct Sweep<'a> {
    shared: &'a Arc<Shared>,
    t: &'a Target<'a>,
    counters: DbCounters,
    plan: &'a SweepPlan,
    targets: &'a Targets,
    load: Load,
    label: &'a str,
    progress: &'a dyn Fn(&str),
    /// Every request the run sent, the abuser's included.
    totals: Counts,
}

impl Sweep<'_> {
    fn step(&self, rate: f64, duration: Duration, abuser_rps: f64) -> Step {
        Step { rate, duration, hot_card: self.plan.hot_card, abuser_rps, health_only: false }
    }

    async fn measure(&mut self, step: Step) -> anyhow::Result<Measured> {
        let m = measured_step(self.shared, self.t, &self.counters, self.load, step).await?;
        self.totals.add(&m.result.counts);
        if let Some(a) = &m.result.abuser {
            self.totals.add(&a.counts);
        }
        Ok(m)
    }

    /// Run `rate` `repeats` times; settle after a repetition that missed the
    /// targets, so the next measures its own load.
    async fn level(&mut self, rate: f64, abuser_rps: f64) -> anyhow::Result<Level> {
        let step = self.step(rate, self.plan.step, abuser_rps);
        let mut reps = Vec::new();
        for i in 0..self.plan.repeats.max(1) {
            let mut m = self.measure(step).await?;
            m.result.repetition = Some(i);
            let ok = within(&m.result, self.targets);
            (self.progress)(&line(self.label, &m.result, if ok { "ok" } else { "over target" }));
            if !ok {
                settle(&self.shared.client, self.t.base, self.t.db).await;
            } else {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            reps.push(m);
        }
        let pooled = pool(&step, &reps);
        let passed = within(&pooled, self.targets);
        (self.progress)(&line(self.label, &pooled, if passed { "pooled: ok" } else { "pooled: over target" }));
        Ok(Level { rate, reps: reps.into_iter().map(|m| m.result).collect(), pooled, passed })
    }
}

fn line(label: &str, r: &StepResult, verdict: &str) -> String {
    format!(
        "  [{label}] {:.0}/s{}: committed {:.0} w/s, reads {:.0}/s, errors {:.2}%, served {:.1}%, p50 {:.1} ms p99 {:.1} ms p99.9 {:.1} ms — {verdict}",
        r.offered_rps,
        r.repetition.map(|i| format!(" #{}", i + 1)).unwrap_or_default(),
        r.committed_wps,
        r.reads_ps,
        r.error_rate * 100.0,
        r.served_share * 100.0,
        r.p50_ms,
        r.p99_ms,
        r.p999_ms,
    )
}

/// The search (module docs): grow until past the knee, then bisect.
async fn search(s: &mut Sweep<'_>) -> anyhow::Result<Vec<Level>> {
    let (plan, targets) = (s.plan, s.targets);
    let mut levels: Vec<Level> = Vec::new();
    let (mut pass, mut fail): (Option<f64>, Option<f64>) = (None, None);
    let mut best = 0.0_f64;
    let mut rate = plan.start_rps;
    for _ in 0..plan.max_steps {
        let level = s.level(rate, plan.abuser_at(rate)).await?;
        if level.passed {
            pass = Some(rate);
        } else {
            fail = fail.or(Some(rate));
        }
        let grew = level.pooled.committed_wps > best * 1.05;
        best = best.max(level.pooled.committed_wps);
        let broken = level.pooled.error_rate > targets.max_error_rate;
        levels.push(level);
        if fail.is_some() && (!grew || broken) {
            break;
        }
        rate *= plan.growth;
    }
    // Nothing met the targets: step down from the start, as far as 1/8 of
    // it, until a rate does, so the bisection has a floor.
    let mut down = plan.start_rps;
    while pass.is_none() && down / plan.growth >= plan.start_rps / 8.0 {
        down /= plan.growth;
        let level = s.level(down, plan.abuser_at(down)).await?;
        if level.passed {
            pass = Some(down);
        } else {
            fail = Some(down);
        }
        levels.push(level);
    }
    for _ in 0..plan.refine {
        let (Some(lo), Some(hi)) = (pass, fail) else { break };
        if hi <= lo * 1.02 {
            break;
        }
        let mid = (lo * hi).sqrt();
        let level = s.level(mid, plan.abuser_at(mid)).await?;
        if level.passed {
            pass = Some(mid)
        } else {
            fail = Some(mid)
        }
        levels.push(level);
    }
    levels.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    Ok(levels)
}

/// The repetition with the most committed writes per second among those
/// with errors within the target.
fn peak(levels: &[Level], targets: &Targets) -> Option<StepResult> {
    levels
        .iter()
        .flat_map(|l| l.reps.iter())
        .filter(|r| r.error_rate <= targets.max_error_rate)
        .max_by(|a, b| a.committed_wps.total_cmp(&b.committed_wps))
        .cloned()
}

/// Warm up, search, run half the rate the peak step served, resolve, check.
pub async fn sweep(
    shared: &Arc<Shared>,
    t: &Target<'_>,
    label: &str,
    plan: &SweepPlan,
    targets: &Targets,
    load: Load,
    progress: &dyn Fn(&str),
) -> anyhow::Result<RunReport> {
    let buried_before = buried(t.db).await?;
    let counters = DbCounters::connect(t.db).await;
    let mut s = Sweep { shared, t, counters, plan, targets, load, label, progress, totals: Counts::default() };
    // Warm the caches, actors and connections first (not reported).
    let warm = s.step(plan.start_rps, plan.warmup, 0.0);
    s.measure(warm).await?;
    progress(&format!("  [{label}] warmed up"));
    let flushed = flush(t.db).await;
    progress(&format!("  [{label}] pending writes: {}", crate::flush::describe(&flushed)));
    let disk_before = probe_disk(t).await;
    progress(&format!("  [{label}] disk before the run: {}", describe(&disk_before)));
    let levels = search(&mut s).await?;
    let peak = peak(&levels, targets);
    let max_sustainable = levels.iter().filter(|l| l.passed).max_by(|a, b| a.rate.total_cmp(&b.rate));
    let max_sustainable = max_sustainable.map(|l| l.pooled.clone());
    let (half_load, flushed_before_half) = match &peak {
        Some(p) if p.committed_wps > 0.0 => {
            let (waited, flushed) = settle(&shared.client, t.base, t.db).await;
            // Half of what the peak step served per second: past the knee
            // its offered rate (even times its served share, which counts
            // answers that came after the step's end) is more than the
            // server did.
            let half = p.served_ps / 2.0;
            progress(&format!(
                "  [{label}] half the peak, {half:.0}/s, after {:.1} s for the backlog",
                waited.as_secs_f64()
            ));
            let level = s.level(half, 0.0).await?;
            (Some(level.pooled), Some(flushed))
        }
        _ => (None, None),
    };
    progress(&format!("  [{label}] resolving writes without a definitive answer, then checking…"));
    shared.resolve().await?;
    let check = check(shared, t.db, buried_before).await?;
    progress(&format!(
        "  [{label}] check {}: {} acknowledged writes, {} ledger rows{}",
        if check.passed { "passed" } else { "FAILED" },
        check.acknowledged_writes,
        check.ledger_rows,
        if check.problems.is_empty() { String::new() } else { format!(" — {}", check.problems.join("; ")) }
    ));
    let disk_after = probe_disk(t).await;
    progress(&format!("  [{label}] disk after the run: {}", describe(&disk_after)));
    Ok(RunReport {
        label: label.to_owned(),
        scenario: if plan.hot_card { "hot-card" } else { "sweep" }.into(),
        levels,
        peak,
        max_sustainable,
        half_load,
        totals: s.totals,
        resolved: *shared.resolved.lock().map_err(|_| anyhow::anyhow!("lock"))?,
        check,
        flushed_before: Some(flushed),
        flushed_before_half,
        disk_before,
        disk_after,
        load,
        sweep: Some(plan.clone()),
        app_users: shared.world.app_users.len(),
    })
}

/// A fixed rate for a fixed time (`soak`, `burst`, `smoke`), then the check.
pub async fn fixed(
    shared: &Arc<Shared>,
    t: &Target<'_>,
    label: &str,
    scenario: &str,
    step: Step,
    load: Load,
) -> anyhow::Result<RunReport> {
    let buried_before = buried(t.db).await?;
    let counters = DbCounters::connect(t.db).await;
    let flushed = flush(t.db).await;
    let disk_before = probe_disk(t).await;
    let m = measured_step(shared, t, &counters, load, step).await?;
    let mut totals = m.result.counts;
    if let Some(a) = &m.result.abuser {
        totals.add(&a.counts);
    }
    shared.resolve().await?;
    let check = check(shared, t.db, buried_before).await?;
    let disk_after = probe_disk(t).await;
    let r = m.result;
    Ok(RunReport {
        label: label.to_owned(),
        scenario: scenario.into(),
        levels: vec![Level {
            rate: step.rate,
            reps: vec![r.clone()],
            pooled: r.clone(),
            passed: within(&r, &Targets::default()),
        }],
        peak: Some(r),
        max_sustainable: None,
        half_load: None,
        totals,
        resolved: *shared.resolved.lock().map_err(|_| anyhow::anyhow!("lock"))?,
        check,
        flushed_before: Some(flushed),
        flushed_before_half: None,
        disk_before,
        disk_after,
        load,
        sweep: None,
        app_users: shared.world.app_users.len(),
    })
}
