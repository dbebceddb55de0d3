//! The scenarios. Each runs steps against one server, then the correctness
//! check.

use std::sync::Arc;
use std::time::Duration;

use stampede_store::DatabaseOptions;

use crate::check::{buried, check};
use crate::disk::{DiskProbe, PROBE_WRITES, describe};
use crate::flush::{Flushed, flush};
use crate::load::{Mix, Shared, Step, StepResult, summarise};
use crate::report::RunReport;
use crate::server::{cpu_seconds, histogram_totals, machine_ticks, memory_kib, metric_value};

#[derive(Debug, Clone)]
pub struct Targets {
    pub p99_ms: f64,
    pub max_error_rate: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self { p99_ms: 10.0, max_error_rate: 0.001 }
    }
}

#[derive(Debug, Clone)]
pub struct SweepPlan {
    pub start_rps: f64,
    pub growth: f64,
    pub max_steps: usize,
    pub step: Duration,
    pub hot_card: bool,
    pub max_inflight: u64,
}

/// Where a run happens: the server's address and process, and its database.
pub struct Target<'a> {
    pub base: &'a str,
    pub pid: Option<u32>,
    pub db: &'a DatabaseOptions,
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

/// One step, with the server's CPU, memory and commit statistics around it.
pub async fn measured_step(
    shared: &Arc<Shared>,
    t: &Target<'_>,
    mix: Mix,
    step: Step,
    max_inflight: u64,
) -> StepResult {
    let cpu0 = t.pid.and_then(cpu_seconds);
    let m0 = metrics(&shared.client, t.base).await;
    let device = crate::disk::Device::of(&crate::disk::database_folder(t.db));
    let (own0, machine0, disk0) = (cpu_seconds(std::process::id()), machine_ticks(), device.and_then(|d| d.counters()));
    let samples = shared.step(mix, step, max_inflight).await;
    let (own1, machine1, disk1) = (cpu_seconds(std::process::id()), machine_ticks(), device.and_then(|d| d.counters()));
    let m1 = metrics(&shared.client, t.base).await;
    let cpu1 = t.pid.and_then(cpu_seconds);
    let mut r = summarise(&step, &samples);
    let per_op = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if r.ok > 0 => Some((b - a) * 1000.0 / r.ok as f64),
        _ => None,
    };
    r.server_cpu_ms_per_op = per_op(cpu0, cpu1);
    r.bench_cpu_ms_per_op = per_op(own0, own1);
    if let (Some((busy0, all0)), Some((busy1, all1))) = (machine0, machine1)
        && all1 > all0
    {
        r.machine_busy = Some((busy1 - busy0) as f64 / (all1 - all0) as f64);
    }
    r.server_rss_kib = t.pid.and_then(memory_kib).map(|(_, peak)| peak);
    if let (Some(a), Some(b)) = (disk0, disk1) {
        r.disk = Some(a.until(&b));
    }
    let (bs0, bc0) = histogram_totals(&m0, "stampede_commit_batch_size");
    let (bs1, bc1) = histogram_totals(&m1, "stampede_commit_batch_size");
    let (cs0, cc0) = histogram_totals(&m0, "stampede_commit_duration_seconds");
    let (cs1, cc1) = histogram_totals(&m1, "stampede_commit_duration_seconds");
    if bc1 > bc0 {
        r.mean_batch_size = Some((bs1 - bs0) / (bc1 - bc0));
    }
    if cc1 > cc0 {
        r.mean_commit_ms = Some((cs1 - cs0) * 1000.0 / (cc1 - cc0));
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
    r.p99_ms <= targets.p99_ms && r.error_rate <= targets.max_error_rate && r.achieved_rps >= 0.9 * r.offered_rps
}

/// Step the offered rate up until p99 or errors break the targets; then run
/// half the best rate once more, after the overload's backlog drained; then
/// check correctness.
pub async fn sweep(
    shared: &Arc<Shared>,
    t: &Target<'_>,
    label: &str,
    plan: &SweepPlan,
    targets: &Targets,
    mix: Mix,
    progress: &dyn Fn(&str),
) -> anyhow::Result<RunReport> {
    let buried_before = buried(t.db).await?;
    // Warm the caches and actors first (not reported).
    let warm = Step { rate: plan.start_rps, duration: Duration::from_secs(3), hot_card: plan.hot_card, abuser: false };
    let _ = shared.step(mix, warm, plan.max_inflight).await;
    progress(&format!("  [{label}] warmed up"));
    let flushed = flush(t.db).await;
    progress(&format!("  [{label}] pending writes: {}", crate::flush::describe(&flushed)));
    let disk_before = probe_disk(t).await;
    progress(&format!("  [{label}] disk before the run: {}", describe(&disk_before)));
    let mut steps = Vec::new();
    let mut best: f64 = 0.0;
    let mut rate = plan.start_rps;
    for i in 0..plan.max_steps {
        let step = Step { rate, duration: plan.step, hot_card: plan.hot_card, abuser: !plan.hot_card };
        let r = measured_step(shared, t, mix, step, plan.max_inflight).await;
        let ok = within(&r, targets);
        progress(&format!(
            "  [{label}] step {i}: offered {:.0}/s achieved {:.0}/s p50 {:.1} ms p99 {:.1} ms p99.9 {:.1} ms errors {:.2}% {}",
            r.offered_rps,
            r.achieved_rps,
            r.p50_ms,
            r.p99_ms,
            r.p999_ms,
            r.error_rate * 100.0,
            if ok { "ok" } else { "over target: stop" }
        ));
        steps.push(r.clone());
        if !ok {
            break;
        }
        best = best.max(r.achieved_rps);
        rate *= plan.growth;
        // Let queues drain between steps.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (half_load, flushed_before_half) = if best > 0.0 {
        let (waited, flushed) = settle(&shared.client, t.base, t.db).await;
        let step = Step { rate: best / 2.0, duration: plan.step, hot_card: plan.hot_card, abuser: false };
        let r = measured_step(shared, t, mix, step, plan.max_inflight).await;
        progress(&format!(
            "  [{label}] half load {:.0}/s (after {:.1} s for the backlog; {}): p99 {:.1} ms p99.9 {:.1} ms",
            r.offered_rps,
            waited.as_secs_f64(),
            crate::flush::describe(&flushed),
            r.p99_ms,
            r.p999_ms
        ));
        (Some(r), Some(flushed))
    } else {
        (None, None)
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
    let scenario = if plan.hot_card { "hot-card" } else { "sweep" };
    Ok(RunReport {
        label: label.to_owned(),
        scenario: scenario.into(),
        steps,
        max_sustainable_rps: best,
        half_load,
        check,
        flushed_before: Some(flushed),
        flushed_before_half,
        disk_before,
        disk_after,
        mix,
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
    mix: Mix,
    max_inflight: u64,
) -> anyhow::Result<RunReport> {
    let buried_before = buried(t.db).await?;
    let flushed = flush(t.db).await;
    let disk_before = probe_disk(t).await;
    let r = measured_step(shared, t, mix, step, max_inflight).await;
    shared.resolve().await?;
    let check = check(shared, t.db, buried_before).await?;
    let disk_after = probe_disk(t).await;
    let best = r.achieved_rps;
    Ok(RunReport {
        label: label.to_owned(),
        scenario: scenario.into(),
        steps: vec![r],
        max_sustainable_rps: best,
        half_load: None,
        check,
        flushed_before: Some(flushed),
        flushed_before_half: None,
        disk_before,
        disk_after,
        mix,
        app_users: shared.world.app_users.len(),
    })
}
