//! Reports: JSON (everything), Markdown (the table the README shows) and an
//! SVG chart of p99 latency against committed writes per second, one line per
//! run.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::check::CheckReport;
use crate::disk::{DiskProbe, describe};
use crate::flush::Flushed;
use crate::lanes::Counts;
use crate::load::{Load, Resolved, StepResult};
use crate::run::{Level, SweepPlan};

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// e.g. `postgres / actors`.
    pub label: String,
    pub scenario: String,
    /// Every rate run, in order of rate: its repetitions and them pooled.
    pub levels: Vec<Level>,
    /// The repetition with the most committed writes/s, errors ≤ 0.1%.
    pub peak: Option<StepResult>,
    /// The highest rate whose pooled repetitions met the targets.
    pub max_sustainable: Option<StepResult>,
    /// Half the peak's served rate, after the backlog drained.
    pub half_load: Option<StepResult>,
    /// Every request the run sent (warm-up and abuser included), and the
    /// writes resolved after it.
    pub totals: Counts,
    pub resolved: Resolved,
    pub check: CheckReport,
    /// The writes still pending before the first step and before the
    /// half-load step, finished before they ran (`flush`).
    pub flushed_before: Option<Flushed>,
    pub flushed_before_half: Option<Flushed>,
    /// Synchronous writes timed in the database's folder before and after
    /// the run: a quiet disk or a stalling one (`disk`).
    pub disk_before: Option<DiskProbe>,
    pub disk_after: Option<DiskProbe>,
    /// The workload, how the rates were searched, how many customers used
    /// the app.
    pub load: Load,
    pub sweep: Option<SweepPlan>,
    pub app_users: usize,
}

/// Actors ÷ naive on one database and scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub database: String,
    pub scenario: String,
    pub peak: Option<f64>,
    pub max_sustainable: Option<f64>,
}

/// What the machine can do at all, measured in the same run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct References {
    /// The same generator against `GET /healthz` (no database work).
    pub http_ceiling: Option<StepResult>,
    pub db_ceiling: Vec<crate::ceiling::DbCeiling>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: String,
    pub commit: Option<String>,
    pub started_at: String,
    pub runs: Vec<RunReport>,
    pub ratios: Vec<Ratio>,
    pub references: References,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "–".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "–".into())
}

/// The summary: one row per run, figures at the peak.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| run | scenario | peak w/s | max sustainable w/s (ops/s offered) | p99 / p99.9 at half peak, ms | server µs/w | PostgreSQL µs/w | bench µs/w | steal | ops/commit | db xacts/w | rows/w | check |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for run in &r.runs {
        let p = run.peak.as_ref();
        let sustainable = run
            .max_sustainable
            .as_ref()
            .map(|m| format!("{:.0} ({:.0})", m.committed_wps, m.offered_rps))
            .unwrap_or_else(|| "none met".into());
        let half =
            run.half_load.as_ref().map(|h| format!("{:.1} / {:.1}", h.p99_ms, h.p999_ms)).unwrap_or_else(|| "–".into());
        let check =
            if run.check.passed { "passed".to_owned() } else { format!("FAILED: {}", run.check.problems.join("; ")) };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {sustainable} | {half} | {} | {} | {} | {} | {} | {} | {} | {check} |",
            run.label,
            run.scenario,
            opt(p.map(|p| p.committed_wps), 0),
            opt(p.and_then(|p| p.cpu_per_write.server_us), 0),
            opt(p.and_then(|p| p.cpu_per_write.postgres_us), 0),
            opt(p.and_then(|p| p.cpu_per_write.bench_us), 0),
            pct(p.and_then(|p| p.steal)),
            opt(p.and_then(|p| p.ops_per_commit), 1),
            opt(p.and_then(|p| p.db_xacts_per_write), 2),
            opt(p.and_then(|p| p.db_rows_per_write), 1),
        );
    }
    if !r.ratios.is_empty() {
        let _ = writeln!(s, "\n| actors ÷ naive | peak | max sustainable |\n|---|---:|---:|");
        for q in &r.ratios {
            let x = |v: Option<f64>| v.map(|v| format!("{v:.1}×")).unwrap_or_else(|| "–".into());
            let _ = writeln!(s, "| {} {} | {} | {} |", q.database, q.scenario, x(q.peak), x(q.max_sustainable));
        }
    }
    references(&mut s, &r.references);
    s
}

fn references(s: &mut String, refs: &References) {
    if refs.http_ceiling.is_none() && refs.db_ceiling.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nCeilings, measured in the same run:\n");
    if let Some(h) = &refs.http_ceiling {
        let _ = writeln!(
            s,
            "- HTTP: `GET /healthz` (no database work) with the same generator and connections: {:.0} answers/s, p99 {:.1} ms, the generator {} µs per request.",
            h.reads_ps,
            h.p99_ms,
            opt(h.bench_us_per_request, 1)
        );
    }
    for d in &refs.db_ceiling {
        let _ = writeln!(
            s,
            "- {}: ledger-shaped rows inserted straight from the harness, {} per transaction: {:.0} rows/s ({} rows in {:.2} s).",
            d.database, d.batch, d.rows_per_s, d.rows, d.secs
        );
    }
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Command: `{}`  \nMachine: {}  \nCommit: {}  \nStarted: {}\n",
        r.command,
        r.machine,
        r.commit.as_deref().unwrap_or("unknown"),
        r.started_at
    );
    s.push_str(&summary(r));
    for run in &r.runs {
        detail(&mut s, run);
    }
    s
}

fn detail(s: &mut String, run: &RunReport) {
    let _ = writeln!(s, "\n#### {} — {}\n", run.label, run.scenario);
    let m = &run.load.mix;
    let p = |v: f64| format!("{:.0}%", v * 100.0);
    let _ = writeln!(
        s,
        "Mix: {} balance reads and {} card views by {} app users, {} cashier lookups, {} redemptions, {} retries ({}–{} ms after their write), {} concurrent duplicates; issuance the rest{}.\n",
        p(m.balance_reads),
        p(m.card_views),
        run.app_users,
        p(m.lookups),
        p(m.redemptions),
        p(m.retries),
        run.load.retry_delay.min_ms,
        run.load.retry_delay.max_ms,
        p(m.duplicates),
        if run.scenario == "hot-card" { " (one card: no reads)" } else { "" }
    );
    if let Some(plan) = &run.sweep {
        let _ = writeln!(
            s,
            "Search: from {:.0}/s ×{} until past the knee, then {} bisections; {} s steps, each rate {} times, after a {} s warm-up; the abuser at {:.0}/s beside the offered rate, at most {:.0}% of it.\n",
            plan.start_rps,
            plan.growth,
            plan.refine,
            plan.step.as_secs_f64(),
            plan.repeats,
            plan.warmup.as_secs_f64(),
            plan.abuser_rps,
            plan.abuser_share * 100.0
        );
    }
    let _ = writeln!(
        s,
        "Disk, {} synced 4 KiB writes: before the run {}; after it {}.\n",
        run.disk_before.as_ref().or(run.disk_after.as_ref()).map_or(0, |p| p.writes),
        describe(&run.disk_before),
        describe(&run.disk_after)
    );
    for (when, f) in [("the steps", &run.flushed_before), ("the half-load step", &run.flushed_before_half)] {
        if let Some(f) = f {
            let _ = writeln!(s, "Pending writes before {when}: {}.\n", crate::flush::describe(f));
        }
    }
    steps_table(s, run);
    let t = &run.totals;
    let _ = writeln!(
        s,
        "\nRequests sent: {} = {} committed + {} replayed + {} refused + {} rate-limited + {} reads + {} errors ({} not sent, the generator behind). Resolved after the run: {} writes ({} committed, {} committed earlier with the answer lost, {} refused). Check: {} acknowledged writes, {} ledger rows.",
        t.sent,
        t.committed,
        t.replayed,
        t.refused,
        t.rate_limited,
        t.reads,
        t.errors,
        t.not_sent,
        run.resolved.writes,
        run.resolved.committed,
        run.resolved.committed_unseen,
        run.resolved.refused,
        run.check.acknowledged_writes,
        run.check.ledger_rows,
    );
    let mut outcomes: std::collections::BTreeMap<&str, u64> = Default::default();
    for st in run.levels.iter().flat_map(|l| l.reps.iter()) {
        for (k, v) in &st.outcomes {
            *outcomes.entry(k.as_str()).or_default() += v;
        }
    }
    let list: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(s, "\nOutcomes (the fleet's and the abuser's): {}", list.join(", "));
    by_kind(s, run);
}

fn steps_table(s: &mut String, run: &RunReport) {
    let _ = writeln!(
        s,
        "| offered/s | run | committed w/s | reads/s | 429/s | errors/s | served | p50 | p99 | p99.9 | server µs/w | PostgreSQL µs/w | bench µs/w | bench µs/req | steal | busy | ops/commit | commits/s | xacts/w | rows/w | RSS MiB | disk MB/s | abuser: sent, 429, committed |"
    );
    let _ = writeln!(s, "|{}", "---:|".repeat(23));
    let rows = run.levels.iter().flat_map(|l| {
        l.reps
            .iter()
            .map(|r| (r, ""))
            .chain(std::iter::once((&l.pooled, if l.passed { "both: met" } else { "both: missed" })))
    });
    let half = run.half_load.iter().map(|h| (h, "half peak"));
    for (st, tag) in rows.chain(half) {
        let which = match (st.repetition, tag) {
            (Some(i), _) => format!("#{}", i + 1),
            (None, tag) => tag.to_owned(),
        };
        let abuser = st
            .abuser
            .as_ref()
            .map(|a| format!("{}, {}, {}", a.counts.sent, a.counts.rate_limited, a.counts.committed))
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            s,
            "| {:.0} | {which} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1}% | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {abuser} |",
            st.offered_rps,
            st.committed_wps,
            st.reads_ps,
            st.rate_limited_ps,
            st.errors_ps,
            st.served_share * 100.0,
            st.p50_ms,
            st.p99_ms,
            st.p999_ms,
            opt(st.cpu_per_write.server_us, 0),
            opt(st.cpu_per_write.postgres_us, 0),
            opt(st.cpu_per_write.bench_us, 0),
            opt(st.bench_us_per_request, 1),
            pct(st.steal),
            pct(st.machine_busy),
            opt(st.ops_per_commit, 1),
            opt(st.commits_ps, 0),
            opt(st.db_xacts_per_write, 2),
            opt(st.db_rows_per_write, 1),
            opt(st.server_rss_kib.map(|k| k as f64 / 1024.0), 0),
            opt(st.disk.map(|d| d.write_mb_s), 0),
        );
    }
}

/// Latency by kind of request at the peak and at half the peak.
fn by_kind(s: &mut String, run: &RunReport) {
    let columns: Vec<(&str, &StepResult)> = run
        .peak
        .as_ref()
        .map(|p| ("peak", p))
        .into_iter()
        .chain(run.half_load.as_ref().map(|h| ("half peak", h)))
        .collect();
    if columns.is_empty() {
        return;
    }
    let heading: Vec<String> = columns
        .iter()
        .map(|(name, st)| format!("{name}, {:.0}/s: requests | p50 | p99 | p99.9", st.offered_rps))
        .collect();
    let _ = writeln!(s, "\nLatency by kind of request (ms, from the scheduled send time):\n");
    let _ = writeln!(s, "| request | {} |", heading.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|---:|---:|---:|".repeat(columns.len()));
    let mut kinds: Vec<&String> = columns.iter().flat_map(|(_, st)| st.by_kind.keys()).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, st)| match st.by_kind.get(kind) {
                Some(k) => format!("{} | {:.1} | {:.1} | {:.1}", k.requests, k.p50_ms, k.p99_ms, k.p999_ms),
                None => "– | – | – | –".into(),
            })
            .collect();
        let _ = writeln!(s, "| {kind} | {} |", cells.join(" | "));
    }
}

const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/// p99 latency (log scale, pooled repetitions) against committed writes per
/// second, one line per run.
pub fn svg(r: &Report) -> String {
    let (w, h, left, bottom, top, right) = (900.0, 520.0, 70.0, 60.0, 30.0, 220.0);
    let max_x =
        r.runs.iter().flat_map(|run| run.levels.iter().map(|l| l.pooled.committed_wps)).fold(1.0_f64, f64::max) * 1.05;
    let (min_y, max_y) = (0.1_f64.ln(), 10_000_f64.ln());
    let x = |v: f64| left + (v / max_x) * (w - left - right);
    let y = |ms: f64| h - bottom - ((ms.max(0.1).ln() - min_y) / (max_y - min_y)) * (h - bottom - top);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"##
    );
    for ms in [0.1, 1.0, 10.0, 100.0, 1000.0, 10_000.0] {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{ms} ms</text>"##,
            w - right,
            left - 5.0,
            y(ms) + 4.0,
            y = y(ms)
        );
    }
    for i in 0..=5 {
        let v = max_x * i as f64 / 5.0;
        let _ = write!(s, r##"<text x="{:.1}" y="{}" text-anchor="middle">{:.0}</text>"##, x(v), h - bottom + 18.0, v);
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle">committed writes/s</text><text x="15" y="{}" transform="rotate(-90 15 {})" text-anchor="middle">p99 latency</text>"##,
        (left + w - right) / 2.0,
        h - 15.0,
        h / 2.0,
        h / 2.0
    );
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4"/><text x="{}" y="{:.1}">p99 target 10 ms</text>"##,
        w - right,
        y(10.0),
        y(10.0),
        w - right + 5.0,
        y(10.0) + 4.0
    );
    for (i, run) in r.runs.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> =
            run.levels.iter().map(|l| format!("{:.1},{:.1}", x(l.pooled.committed_wps), y(l.pooled.p99_ms))).collect();
        let _ = write!(s, r##"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"##, pts.join(" "));
        for p in &pts {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(s, r##"<circle cx="{px}" cy="{py}" r="3" fill="{c}"/>"##);
        }
        let ly = top + 20.0 * i as f64;
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="12" height="12" fill="{c}"/><text x="{}" y="{}">{} ({})</text>"##,
            w - right + 10.0,
            ly,
            w - right + 28.0,
            ly + 10.0,
            run.label,
            run.scenario
        );
    }
    s.push_str("</svg>\n");
    s
}

pub fn write_all(r: &Report, dir: &Path, stem: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{stem}.json")), serde_json::to_string_pretty(r)?)?;
    std::fs::write(dir.join(format!("{stem}.md")), markdown(r))?;
    std::fs::write(dir.join(format!("{stem}.svg")), svg(r))?;
    Ok(())
}
