//! Reports: JSON (everything), Markdown (the table the README shows) and an
//! SVG chart of p99 latency against achieved throughput, one line per run.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::check::CheckReport;
use crate::disk::{DiskProbe, describe};
use crate::flush::Flushed;
use crate::load::{Mix, StepResult};

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// e.g. `postgres / actors`.
    pub label: String,
    pub scenario: String,
    pub steps: Vec<StepResult>,
    /// The highest achieved rate among steps within the latency and error targets.
    pub max_sustainable_rps: f64,
    pub half_load: Option<StepResult>,
    pub check: CheckReport,
    /// The writes still pending before the first step and before the
    /// half-load step, finished before they ran (`flush`).
    pub flushed_before: Option<Flushed>,
    pub flushed_before_half: Option<Flushed>,
    /// Synchronous writes timed in the database's folder before and after
    /// the run: a quiet disk or a stalling one (`disk`).
    pub disk_before: Option<DiskProbe>,
    pub disk_after: Option<DiskProbe>,
    /// The workload: the share of each kind of request, and how many
    /// customers used the app.
    pub mix: Mix,
    pub app_users: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: String,
    pub started_at: String,
    pub runs: Vec<RunReport>,
    pub ratios: Vec<(String, f64)>,
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Command: `{}`  \nMachine: {}  \nStarted: {}\n", r.command, r.machine, r.started_at);
    let _ = writeln!(s, "| run | scenario | max sustainable (ops/s) | p99 at half (ms) | p99.9 at half (ms) | check |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---|");
    for run in &r.runs {
        let (p99, p999) = run
            .half_load
            .as_ref()
            .map(|h| (format!("{:.1}", h.p99_ms), format!("{:.1}", h.p999_ms)))
            .unwrap_or(("–".into(), "–".into()));
        let check =
            if run.check.passed { "passed".to_owned() } else { format!("FAILED: {}", run.check.problems.join("; ")) };
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {p99} | {p999} | {check} |",
            run.label, run.scenario, run.max_sustainable_rps
        );
    }
    if !r.ratios.is_empty() {
        let _ = writeln!(s, "\n| comparison | ratio |\n|---|---:|");
        for (name, v) in &r.ratios {
            let _ = writeln!(s, "| {name} | {v:.1}× |");
        }
    }
    for run in &r.runs {
        let _ = writeln!(s, "\n#### {} — {}\n", run.label, run.scenario);
        let _ = writeln!(
            s,
            "Disk, {} synced 4 KiB writes: before the run {}; after it {}.\n",
            run.disk_before.as_ref().or(run.disk_after.as_ref()).map_or(0, |p| p.writes),
            describe(&run.disk_before),
            describe(&run.disk_after)
        );
        let m = &run.mix;
        let pct = |v: f64| format!("{:.0}%", v * 100.0);
        let _ = writeln!(
            s,
            "Mix: {} balance reads and {} card views by {} app users, {} cashier lookups, {} redemptions, {} retries, {} concurrent duplicates; issuance the rest{}.\n",
            pct(m.balance_reads),
            pct(m.card_views),
            run.app_users,
            pct(m.lookups),
            pct(m.redemptions),
            pct(m.retries),
            pct(m.duplicates),
            if run.scenario == "hot-card" { " (one card: no reads)" } else { "" }
        );
        for (when, f) in [("the steps", &run.flushed_before), ("the half-load step", &run.flushed_before_half)] {
            if let Some(f) = f {
                let _ = writeln!(s, "Pending writes before {when}: {}.\n", crate::flush::describe(f));
            }
        }
        let _ = writeln!(
            s,
            "| offered | achieved | p50 | p90 | p99 | p99.9 | max | errors | server CPU ms/op | bench CPU ms/op | machine busy | RSS MiB | batch | commit ms | disk MB/s | disk write ms |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for st in run.steps.iter().chain(run.half_load.iter()) {
            let opt = |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}% | {} | {} | {} | {} | {} | {} | {} | {} |",
                st.offered_rps,
                st.achieved_rps,
                st.p50_ms,
                st.p90_ms,
                st.p99_ms,
                st.p999_ms,
                st.max_ms,
                st.error_rate * 100.0,
                opt(st.server_cpu_ms_per_op, 3),
                opt(st.bench_cpu_ms_per_op, 3),
                st.machine_busy.map(|b| format!("{:.0}%", b * 100.0)).unwrap_or_else(|| "–".into()),
                opt(st.server_rss_kib.map(|k| k as f64 / 1024.0), 0),
                opt(st.mean_batch_size, 1),
                opt(st.mean_commit_ms, 2),
                opt(st.disk.map(|d| d.write_mb_s), 0),
                opt(st.disk.and_then(|d| d.write_wait_ms), 2),
            );
        }
        let mut outcomes: std::collections::BTreeMap<&str, u64> = Default::default();
        for st in &run.steps {
            for (k, v) in &st.outcomes {
                *outcomes.entry(k.as_str()).or_default() += v;
            }
        }
        let list: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(s, "\nOutcomes: {}", list.join(", "));
        by_kind(&mut s, run);
    }
    s
}

/// Latency by kind of request at the run's last step (where a sweep broke)
/// and at half load.
fn by_kind(s: &mut String, run: &RunReport) {
    let Some(last) = run.steps.last() else { return };
    let columns: Vec<(&str, &StepResult)> =
        std::iter::once(("last step", last)).chain(run.half_load.as_ref().map(|h| ("half load", h))).collect();
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

/// p99 latency (log scale) against achieved throughput.
pub fn svg(r: &Report) -> String {
    let (w, h, left, bottom, top, right) = (900.0, 520.0, 70.0, 60.0, 30.0, 220.0);
    let max_x = r.runs.iter().flat_map(|run| run.steps.iter().map(|s| s.achieved_rps)).fold(1.0_f64, f64::max) * 1.05;
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
        r##"<text x="{}" y="{}" text-anchor="middle">achieved ops/s</text><text x="15" y="{}" transform="rotate(-90 15 {})" text-anchor="middle">p99 latency</text>"##,
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
            run.steps.iter().map(|st| format!("{:.1},{:.1}", x(st.achieved_rps), y(st.p99_ms))).collect();
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
