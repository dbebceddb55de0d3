//! The open-loop load generator. A step's requests are planned before it
//! starts (`plan.rs`) and sent at their times over the fleet's keep-alive
//! connections (`lanes.rs`) whether or not earlier ones have answered;
//! latency runs from the scheduled time, so a stalled server shows up as
//! latency, not as a politely slower client (no coordinated omission).
//!
//! Every write carries an `Idempotency-Key`. Its definitive answer (2xx, or a
//! 422 refusal) is recorded; writes that ended without one (a 503, a 409, a
//! time-out) are resolved after the run by resending the same key, so the
//! correctness check can compare the database with exactly what was
//! acknowledged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde::Serialize;
use uuid::Uuid;

use crate::lanes::{Counts, Outcome, Tally, run_lane, send};
use crate::plan::{Kind, Planned, RetryDelay, StepPlan, Write};
use crate::seed::World;
use crate::wire::Conn;
use crate::zipf::Zipf;

/// The share of each kind of request; issuance (stamps on a stamp card,
/// points for a purchase on a points card) takes the rest. Hot-card steps
/// send no reads: their read shares are issuance too, as the app's shares
/// are in a world without app users (`stampede-bench` refuses that mix).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Mix {
    /// A customer checks their balances in the app (`GET /v1/me/cards`).
    pub balance_reads: f64,
    /// A customer shows a card's code in the app, to have it scanned at the
    /// till (`GET /v1/me/cards/{card}/code`): app usage, which the server
    /// counts through its `analytics` queue.
    pub card_views: f64,
    /// The cashier's screen (`GET /v1/pos/stores/{store}/cards/{code}`).
    pub lookups: f64,
    pub redemptions: f64,
    /// An earlier write sent again with its key, as a client does after a
    /// timeout.
    pub retries: f64,
    /// A write sent twice at once with one key.
    pub duplicates: f64,
}

impl Default for Mix {
    /// The defaults: ~20% customer balance reads (three quarters of
    /// them the balance screen, a quarter the card shown at the till), ~5%
    /// redemptions, ~5% retries, ~1% concurrent duplicates.
    fn default() -> Self {
        Self { balance_reads: 0.15, card_views: 0.05, lookups: 0.0, redemptions: 0.05, retries: 0.05, duplicates: 0.01 }
    }
}

impl Mix {
    /// Every share in 0..=1 and together at most 1.
    pub fn validate(&self) -> Result<(), String> {
        let shares = [
            ("balance reads", self.balance_reads),
            ("card views", self.card_views),
            ("lookups", self.lookups),
            ("redemptions", self.redemptions),
            ("retries", self.retries),
            ("duplicates", self.duplicates),
        ];
        if let Some((name, v)) = shares.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!("the share of {name} must be between 0 and 1, not {v}"));
        }
        let sum: f64 = shares.iter().map(|(_, v)| v).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("the shares add up to {sum:.2}, more than 1"));
        }
        Ok(())
    }

    pub fn reads(&self) -> f64 {
        self.balance_reads + self.card_views + self.lookups
    }
}

/// The workload: the mix, and how soon retries follow their writes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Load {
    pub mix: Mix,
    pub retry_delay: RetryDelay,
}

/// What is known for sure at the end: per key, the transaction and its delta.
#[derive(Default)]
pub struct Truth {
    pub acknowledged: HashMap<String, (usize, i64, Uuid)>,
    pub refused: HashMap<String, String>,
    pub unresolved: Vec<Write>,
    /// A key answered with two different transactions: never allowed.
    pub idempotency_violations: u64,
}

/// What resolving the writes without a definitive answer came to.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Resolved {
    pub writes: u64,
    /// Committed by the resend.
    pub committed: u64,
    /// Replayed to the resend, never acknowledged before: committed while
    /// its first answer was lost (a time-out).
    pub committed_unseen: u64,
    pub refused: u64,
}

/// A server the fleet sends to.
pub struct ServerAddr {
    /// e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// The `Host` header: `127.0.0.1:8080`.
    pub host: String,
    pub addr: std::net::SocketAddr,
}

impl ServerAddr {
    fn of(base: &str) -> Self {
        let url = reqwest::Url::parse(base).expect("the server's URL is valid");
        let addr = *url.socket_addrs(|| None).expect("the server's address resolves").first().expect("an address");
        let host = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), addr.port());
        Self { base: base.trim_end_matches('/').to_owned(), host, addr }
    }
}

pub struct Shared {
    /// For sign-in, metrics and resolving: not the fleet's connections.
    pub client: reqwest::Client,
    /// The server under test, and the second server if there is one.
    pub servers: Vec<ServerAddr>,
    /// The fleet's connections ([`crate::plan::LaneMap`]), a connection per
    /// server in each lane; taken out while a step runs.
    pub lanes: Mutex<Vec<Vec<Conn>>>,
    pub base: String,
    /// A second server on the same database, and the percent of writes
    /// (chosen by idempotency key, so a retry goes where its first try went)
    /// sent to it.
    pub second: Option<(String, u64)>,
    pub world: World,
    pub zipf: Zipf,
    /// Which app user opens the app: the most popular customers most often.
    pub app_zipf: Option<Zipf>,
    /// The app users' access tokens ([`Shared::sign_in`]), kept fresh.
    pub tokens: std::sync::RwLock<Vec<String>>,
    /// Merged in after each step; never touched while one runs.
    pub truth: Mutex<Truth>,
    pub resolved: Mutex<Resolved>,
    pub seq: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub rate: f64,
    pub duration: Duration,
    /// Every write goes to one card.
    pub hot_card: bool,
    /// The rate-limited terminal's own schedule (requests/s, 0 for none),
    /// beside the offered rate.
    pub abuser_rps: f64,
    /// Only `GET /healthz`: the HTTP ceiling.
    pub health_only: bool,
}

impl Step {
    pub fn new(rate: f64, duration: Duration) -> Self {
        Self { rate, duration, hot_card: false, abuser_rps: 0.0, health_only: false }
    }
}

/// What one step recorded.
pub struct Samples {
    pub tally: Tally,
    /// From the step's start to its last answer.
    pub elapsed: Duration,
    pub planned: u64,
    pub abuser_planned: u64,
}

/// A step sent, its answers not yet folded into the truth.
pub struct Sent {
    pub samples: Samples,
    writes: Vec<Write>,
}

/// Latency of one kind of request in a step (from its scheduled send time).
#[derive(Debug, Clone, Serialize)]
pub struct KindLatency {
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The rate-limited terminal's step, apart from the fleet's.
#[derive(Debug, Clone, Serialize)]
pub struct AbuserResult {
    pub offered_rps: f64,
    pub counts: Counts,
}

/// CPU time per committed write, in microseconds, by whose it was.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuPerWrite {
    pub server_us: Option<f64>,
    /// Every PostgreSQL process: backends and auxiliary ones.
    pub postgres_us: Option<f64>,
    pub bench_us: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub offered_rps: f64,
    /// Which run of this rate (0, 1, …); pooled results have none.
    pub repetition: Option<u32>,
    pub duration_s: f64,
    pub planned: u64,
    /// The fleet's requests: what they came to.
    pub counts: Counts,
    pub committed_wps: f64,
    pub reads_ps: f64,
    pub rate_limited_ps: f64,
    pub errors_ps: f64,
    /// Served (commits, replays, refusals, reads) per planned request, and
    /// per second (from the step's start to its last answer).
    pub served_share: f64,
    pub served_ps: f64,
    pub error_rate: f64,
    pub abuser: Option<AbuserResult>,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Counts by status and, for problems, code (e.g. `422 insufficient_balance`).
    pub outcomes: BTreeMap<String, u64>,
    /// Latency by kind of request ([`Kind::name`]).
    pub by_kind: BTreeMap<String, KindLatency>,
    pub cpu_per_write: CpuPerWrite,
    /// The load generator's CPU per request it sent (µs).
    pub bench_us_per_request: Option<f64>,
    /// Share of the machine's time the hypervisor gave to others (0–1).
    pub steal: Option<f64>,
    /// How busy all cores were, steal apart (0–1).
    pub machine_busy: Option<f64>,
    pub server_rss_kib: Option<u64>,
    /// Operations per group commit, and group commits per second (the
    /// runtime's metrics).
    pub ops_per_commit: Option<f64>,
    pub commits_ps: Option<f64>,
    pub mean_commit_ms: Option<f64>,
    /// Database transactions and rows written per committed write
    /// (PostgreSQL: `pg_stat_database`, read-only transactions included;
    /// SQLite: the server's counters of its write transactions and rows).
    pub db_xacts_per_write: Option<f64>,
    pub db_rows_per_write: Option<f64>,
    /// What the database's disk did meanwhile (`disk`).
    pub disk: Option<crate::disk::DiskStep>,
}

/// Where a key falls, 0 to 99 (FNV-1a): the same key always lands on the
/// same server.
fn percentile(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)) % 100
}

fn ms(h: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

impl World {
    /// `Authorization` for terminal `t`.
    pub fn terminal_auth(&self, t: usize) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {}", self.terminals[t].0)).expect("terminal keys are ASCII")
    }

    /// The terminals the fleet uses: all but the abuser's.
    pub fn fleet_terminals(&self) -> usize {
        if self.terminals.len() > 1 { self.terminals.len() - 1 } else { 1 }
    }

    /// The last terminal, kept for the abuser (where there are two or more).
    pub fn abuser_terminal(&self) -> Option<usize> {
        (self.terminals.len() > 1).then(|| self.terminals.len() - 1)
    }
}

impl Shared {
    pub fn new(base: String, world: World) -> Arc<Self> {
        Self::build(base, None, world)
    }

    /// Like [`Shared::new`], and writes whose key falls in `percent` go to
    /// the second server at `second`.
    pub fn with_second_server(base: String, second: String, percent: u64, world: World) -> Arc<Self> {
        Self::build(base, Some((second, percent)), world)
    }

    fn build(base: String, second: Option<(String, u64)>, world: World) -> Arc<Self> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        let zipf = Zipf::new(world.cards.len(), 1.0);
        let app_zipf = (!world.app_users.is_empty()).then(|| Zipf::new(world.app_users.len(), 1.0));
        let lanes = world.fleet_terminals() + world.app_users.len() + 1;
        let servers: Vec<ServerAddr> = std::iter::once(base.as_str())
            .chain(second.as_ref().map(|(b, _)| b.as_str()))
            .map(ServerAddr::of)
            .collect();
        let conns = (0..lanes).map(|_| servers.iter().map(|s| Conn::new(s.addr)).collect()).collect();
        Arc::new(Self {
            client,
            servers,
            lanes: Mutex::new(conns),
            base,
            second,
            world,
            zipf,
            app_zipf,
            tokens: std::sync::RwLock::new(Vec::new()),
            truth: Mutex::new(Truth::default()),
            resolved: Mutex::new(Resolved::default()),
            seq: AtomicU64::new(0),
        })
    }

    /// Where a write goes: the second server (1) for its share of keys.
    pub fn server_for(&self, key: &str) -> u8 {
        match &self.second {
            Some((_, percent)) if percentile(key) < *percent => 1,
            _ => 0,
        }
    }

    /// Run one step: plan it, send it, fold its answers into the truth.
    pub async fn step(self: &Arc<Self>, load: Load, step: Step) -> anyhow::Result<Samples> {
        let plan = self.prepare(load, step).await?;
        self.run(plan, &step).await
    }

    /// A step's plan, built off the runtime's threads.
    pub async fn prepare(self: &Arc<Self>, load: Load, step: Step) -> anyhow::Result<StepPlan> {
        let me = Arc::clone(self);
        Ok(tokio::task::spawn_blocking(move || me.plan(&load.mix, &load.retry_delay, &step)).await?)
    }

    /// Send a planned step, then fold its answers into the truth.
    pub async fn run(&self, plan: StepPlan, step: &Step) -> anyhow::Result<Samples> {
        let sent = self.send_plan(plan, step).await?;
        self.finish(sent)
    }

    /// Send a planned step (what a measured step times).
    pub async fn send_plan(&self, plan: StepPlan, step: &Step) -> anyhow::Result<Sent> {
        let StepPlan { lanes, writes, planned, abuser_planned } = plan;
        let (tally, elapsed) = self.send(lanes, step).await?;
        Ok(Sent { samples: Samples { tally, elapsed, planned, abuser_planned }, writes })
    }

    /// Fold a sent step's answers into the truth.
    pub fn finish(&self, sent: Sent) -> anyhow::Result<Samples> {
        let Sent { samples, writes } = sent;
        self.absorb(&writes, &samples.tally)?;
        // Freeing a few hundred thousand requests is no one's latency.
        tokio::task::spawn_blocking(move || drop(writes));
        Ok(samples)
    }

    /// Every lane's requests at their times; returns when the last is
    /// answered (or given up, at twice the step's length).
    async fn send(&self, lanes: Vec<Vec<Planned>>, step: &Step) -> anyhow::Result<(Tally, Duration)> {
        // Every lane starts from the same instant, a moment ahead so that
        // spawning them is not the first requests' latency.
        let start = Instant::now() + Duration::from_millis(20);
        let give_up = start + step.duration * 2;
        let mut conns = std::mem::take(&mut *self.lanes.lock().map_err(|_| anyhow::anyhow!("lock"))?);
        let mut running = Vec::new();
        for (i, lane) in lanes.into_iter().enumerate() {
            let mine = std::mem::take(&mut conns[i]);
            running.push(tokio::spawn(run_lane(mine, lane, start, give_up)));
        }
        let mut tally = Tally::default();
        for (i, r) in running.into_iter().enumerate() {
            let (t, mine) = r.await?;
            tally.merge(t);
            conns[i] = mine;
        }
        let elapsed = start.elapsed();
        *self.lanes.lock().map_err(|_| anyhow::anyhow!("lock"))? = conns;
        Ok((tally, elapsed))
    }

    /// Fold a step's definitive answers into the truth.
    fn absorb(&self, writes: &[Write], tally: &Tally) -> anyhow::Result<()> {
        let mut truth = self.truth.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        for &(w, id, delta, _) in &tally.acks {
            let write = &writes[w as usize];
            acknowledge(&mut truth, write, id, delta);
        }
        for (w, code) in &tally.refusals {
            truth.refused.insert(writes[*w as usize].key.clone(), code.clone());
        }
        let unresolved: HashSet<u32> = tally.unresolved.iter().copied().collect();
        truth.unresolved.extend(unresolved.into_iter().map(|w| writes[w as usize].clone()));
        Ok(())
    }

    /// Resend every write that ended without a definitive answer, same key,
    /// until it has one.
    pub async fn resolve(&self) -> anyhow::Result<()> {
        for round in 0..100 {
            let pending: Vec<Write> = {
                let mut truth = self.truth.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                let all = std::mem::take(&mut truth.unresolved);
                let mut seen = HashSet::new();
                all.into_iter()
                    .filter(|w| !truth.acknowledged.contains_key(&w.key) && !truth.refused.contains_key(&w.key))
                    .filter(|w| seen.insert(w.key.clone()))
                    .collect()
            };
            if pending.is_empty() {
                return Ok(());
            }
            for w in pending {
                let outcome = send(&self.client, w.request(&self.world), true).await;
                let mut truth = self.truth.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                let mut resolved = self.resolved.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                match outcome {
                    Outcome::Written { id, delta, replayed } => {
                        resolved.writes += 1;
                        if replayed {
                            resolved.committed_unseen += 1;
                        } else {
                            resolved.committed += 1;
                        }
                        acknowledge(&mut truth, &w, id, delta);
                    }
                    Outcome::Refused(code) => {
                        resolved.writes += 1;
                        resolved.refused += 1;
                        truth.refused.insert(w.key.clone(), code);
                    }
                    _ => truth.unresolved.push(w),
                }
            }
            tokio::time::sleep(Duration::from_millis(50 * (round + 1).min(10))).await;
        }
        anyhow::bail!("some writes never got a definitive answer")
    }
}

fn acknowledge(truth: &mut Truth, w: &Write, id: Uuid, delta: i64) {
    match truth.acknowledged.get(&w.key) {
        Some((_, _, seen)) if *seen != id => truth.idempotency_violations += 1,
        Some(_) => {}
        None => {
            truth.acknowledged.insert(w.key.clone(), (w.card, delta, id));
        }
    }
}

/// Summarise a step (the server's and machine's figures are added by
/// `run::measured_step`).
pub fn summarise(step: &Step, samples: &Samples) -> StepResult {
    let Samples { tally, elapsed, planned, .. } = samples;
    let secs = elapsed.as_secs_f64().max(1e-9);
    let c = tally.counts;
    let per_s = |n: u64| n as f64 / secs;
    let hist = &tally.hist;
    StepResult {
        offered_rps: step.rate,
        repetition: None,
        duration_s: secs,
        planned: *planned,
        counts: c,
        committed_wps: per_s(c.committed),
        reads_ps: per_s(c.reads),
        rate_limited_ps: per_s(c.rate_limited),
        errors_ps: per_s(c.errors),
        served_share: if *planned == 0 { 0.0 } else { c.served() as f64 / *planned as f64 },
        served_ps: per_s(c.served()),
        error_rate: if c.sent == 0 { 0.0 } else { c.errors as f64 / c.sent as f64 },
        abuser: (samples.abuser_planned > 0)
            .then_some(AbuserResult { offered_rps: step.abuser_rps, counts: tally.abuser }),
        p50_ms: ms(hist, 0.50),
        p90_ms: ms(hist, 0.90),
        p99_ms: ms(hist, 0.99),
        p999_ms: ms(hist, 0.999),
        max_ms: hist.max() as f64 / 1000.0,
        outcomes: tally.outcomes.clone(),
        by_kind: by_kind(tally),
        cpu_per_write: CpuPerWrite::default(),
        bench_us_per_request: None,
        steal: None,
        machine_busy: None,
        server_rss_kib: None,
        ops_per_commit: None,
        commits_ps: None,
        mean_commit_ms: None,
        db_xacts_per_write: None,
        db_rows_per_write: None,
        disk: None,
    }
}

fn by_kind(tally: &Tally) -> BTreeMap<String, KindLatency> {
    const KINDS: [Kind; Kind::COUNT] = [
        Kind::Stamps,
        Kind::Points,
        Kind::Redemption,
        Kind::Retry,
        Kind::Duplicate,
        Kind::BalanceRead,
        Kind::CardView,
        Kind::Lookup,
        Kind::Abuser,
        Kind::Health,
    ];
    let latency = |h: &hdrhistogram::Histogram<u64>| KindLatency {
        requests: h.len(),
        p50_ms: ms(h, 0.50),
        p99_ms: ms(h, 0.99),
        p999_ms: ms(h, 0.999),
        max_ms: h.max() as f64 / 1000.0,
    };
    let kinds = KINDS.iter().filter_map(|k| Some((k.name().to_owned(), latency(tally.by_kind[k.index()].as_ref()?))));
    // Answers of any kind that said "overloaded, retry" (503).
    let shed = tally.shed.as_ref().map(|h| ("shed (503, any kind)".to_owned(), latency(h)));
    kinds.chain(shed).collect()
}

#[cfg(test)]
mod tests {
    use super::{Mix, percentile};

    #[test]
    fn a_mix_is_shares_that_leave_room_for_issuance() {
        assert_eq!(Mix::default().validate(), Ok(()));
        let too_much = Mix { balance_reads: 0.6, retries: 0.5, ..Mix::default() };
        assert!(too_much.validate().expect_err("over 1").contains("more than 1"));
        let negative = Mix { card_views: -0.1, ..Mix::default() };
        assert!(negative.validate().expect_err("negative").contains("card views"));
        let all_reads =
            Mix { balance_reads: 1.0, card_views: 0.0, redemptions: 0.0, retries: 0.0, duplicates: 0.0, lookups: 0.0 };
        assert_eq!(all_reads.validate(), Ok(()));
    }

    #[test]
    fn keys_spread_evenly_over_the_percentiles() {
        let n = 20_000;
        let under_5 = (0..n).filter(|i| percentile(&format!("b-{i}-0192")) < 5).count();
        assert!((800..1200).contains(&under_5), "{under_5} of {n} under 5%");
        assert_eq!(percentile("b-7-x"), percentile("b-7-x"));
    }
}
