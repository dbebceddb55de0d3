//! The open-loop load generator. Requests are scheduled at a fixed rate and
//! sent whether or not earlier ones have answered; latency runs from the
//! *scheduled* send time, so a stalled server shows up as latency, not as a
//! politely slower client (no coordinated omission).
//!
//! Every write carries an `Idempotency-Key`. Its definitive answer (201, or a
//! 4xx refusal) is recorded; writes that ended without one (a 503, a 409, a
//! timeout) are resolved after the run by retrying the same key, so the
//! correctness check can compare the database with exactly what was
//! acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::seed::World;
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

    fn reads(&self) -> f64 {
        self.balance_reads + self.card_views + self.lookups
    }
}

/// A write sent, to resend (retry) or resolve.
#[derive(Debug, Clone)]
pub struct Write {
    pub key: String,
    pub path: String,
    pub terminal: String,
    pub body: Value,
    pub card: usize,
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

pub struct Shared {
    pub client: reqwest::Client,
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
    pub truth: Mutex<Truth>,
    pub sent_writes: Mutex<Vec<Write>>,
    pub seq: AtomicU64,
    pub inflight: AtomicU64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub duration_s: f64,
    pub requests: u64,
    pub ok: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Counts by status and, for problems, code (e.g. `422 insufficient_balance`).
    pub outcomes: BTreeMap<String, u64>,
    /// Latency by kind of request (`stamps`, `points`, `redemption`,
    /// `retry`, `duplicate pair`, `balance read`, `card view`, `cashier lookup`).
    pub by_kind: BTreeMap<String, KindLatency>,
    /// Failures that are not the expected refusals or the rate-limited abuser.
    pub error_rate: f64,
    pub server_cpu_ms_per_op: Option<f64>,
    /// The load generator's own CPU per served operation: it shares the cores.
    pub bench_cpu_ms_per_op: Option<f64>,
    /// How busy all cores were during the step (0–1): near 1, the machine
    /// itself is the bound, whoever uses it.
    pub machine_busy: Option<f64>,
    pub server_rss_kib: Option<u64>,
    pub mean_batch_size: Option<f64>,
    pub mean_commit_ms: Option<f64>,
    /// What the database's disk did meanwhile (`disk`).
    pub disk: Option<crate::disk::DiskStep>,
}

#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub rate: f64,
    pub duration: Duration,
    /// Every write goes to one card.
    pub hot_card: bool,
    /// One terminal sends far above its rate limit.
    pub abuser: bool,
}

enum Kind {
    Write(Write, Sending),
    /// The cashier's screen: URL and terminal key.
    Lookup(String, String),
    /// The customer app: app user and path.
    App(usize, String),
}

/// How a write is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// A new key, once.
    New,
    /// A key sent before, again.
    Retry,
    /// A new key, twice at once.
    Twice,
}

impl Kind {
    /// The name its latencies are reported under ([`StepResult::by_kind`]).
    fn name(&self) -> &'static str {
        match self {
            Kind::Lookup(..) => "cashier lookup",
            Kind::App(_, path) if path.ends_with("/code") => "card view",
            Kind::App(..) => "balance read",
            Kind::Write(_, Sending::Retry) => "retry",
            Kind::Write(_, Sending::Twice) => "duplicate pair",
            Kind::Write(w, Sending::New) if w.path.ends_with("/redemptions") => "redemption",
            Kind::Write(w, Sending::New) if w.path.ends_with("/points") => "points",
            Kind::Write(..) => "stamps",
        }
    }
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

/// What one step recorded.
pub struct Samples {
    pub hist: Histogram<u64>,
    pub by_kind: BTreeMap<&'static str, Histogram<u64>>,
    pub outcomes: BTreeMap<String, u64>,
    pub total: u64,
    pub elapsed: Duration,
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds are valid")
}

/// Where a key falls, 0 to 99 (FNV-1a): the same key always lands on the
/// same server.
fn percentile(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)) % 100
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
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
        // At most 64 idle connections kept (a store's terminals keep a few
        // each). An overloaded step opens thousands (18,553 seen), and with
        // 4,096 kept idle the half-load step after it reused connections the
        // server had meanwhile closed (its keep-alive is 5 s): p99 12.3 and
        // 19.1 ms at 2,327/s on the hot card, against 6.9 and 7.2 ms with 64
        // (`bench/results/ab-idlepool-*`).
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let zipf = Zipf::new(world.cards.len(), 1.0);
        let app_zipf = (!world.app_users.is_empty()).then(|| Zipf::new(world.app_users.len(), 1.0));
        Arc::new(Self {
            client,
            base,
            second,
            world,
            zipf,
            app_zipf,
            tokens: std::sync::RwLock::new(Vec::new()),
            truth: Mutex::new(Truth::default()),
            sent_writes: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            inflight: AtomicU64::new(0),
        })
    }

    fn pick(&self, mix: &Mix, hot: bool, abuser: bool) -> Kind {
        let mut rng = rand::rng();
        let t = if abuser { 0 } else { rng.random_range(0..self.world.terminals.len()) };
        let (terminal, store) = self.world.terminals[t].clone();
        let card = if hot { 0 } else { self.zipf.sample(&mut rng) };
        let r: f64 = rng.random();
        if !hot && r < mix.reads() {
            if r >= mix.balance_reads + mix.card_views {
                let url = format!("{}/v1/pos/stores/{store}/cards/{}", self.base, self.world.codes[card]);
                return Kind::Lookup(url, terminal);
            }
            if let Some(app) = &self.app_zipf {
                let user = app.sample(&mut rng);
                if r < mix.balance_reads {
                    return Kind::App(user, "/v1/me/cards".into());
                }
                let card = self.world.cards[2 * user + usize::from(rng.random_bool(0.5))];
                return Kind::App(user, format!("/v1/me/cards/{card}/code"));
            }
        }
        let r = if hot { r * (1.0 - mix.reads()) + mix.reads() } else { r };
        if r >= mix.reads() && r < mix.reads() + mix.retries {
            let old = self
                .sent_writes
                .lock()
                .ok()
                .and_then(|w| if w.is_empty() { None } else { Some(w[rng.random_range(0..w.len())].clone()) });
            if let Some(old) = old {
                return Kind::Write(old, Sending::Retry);
            }
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let card_id = self.world.cards[card];
        let points = World::is_points(card);
        let (path, body) = if r > 1.0 - mix.redemptions {
            let reward = if points { self.world.points_reward } else { self.world.stamp_reward };
            (format!("/v1/pos/stores/{store}/redemptions"), json!({"card_id": card_id, "reward_id": reward}))
        } else if points {
            // A purchase of 1.50 to 30.00: 1 to 30 points.
            let amount: i64 = rng.random_range(150..=3000);
            (
                format!("/v1/pos/stores/{store}/points"),
                json!({"card_id": card_id, "amount_minor": amount, "currency": self.world.currency}),
            )
        } else {
            (format!("/v1/pos/stores/{store}/stamps"), json!({"card_id": card_id, "count": 1}))
        };
        let w = Write { key: format!("b-{n}-{}", Uuid::now_v7().simple()), path, terminal, body, card };
        let duplicate = r > 1.0 - mix.redemptions - mix.duplicates && r <= 1.0 - mix.redemptions;
        Kind::Write(w, if duplicate { Sending::Twice } else { Sending::New })
    }

    /// Where a write goes: the second server for its share of keys.
    fn base_for(&self, key: &str) -> &str {
        match &self.second {
            Some((base, percent)) if percentile(key) < *percent => base,
            _ => &self.base,
        }
    }

    /// Send a write; record what it definitively did. Returns the outcome label.
    pub async fn send_write(&self, w: &Write) -> String {
        let res = self
            .client
            .post(format!("{}{}", self.base_for(&w.key), w.path))
            .bearer_auth(&w.terminal)
            .header("idempotency-key", &w.key)
            .json(&w.body)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                self.unresolved(w);
                return if e.is_timeout() { "timeout".into() } else { "connection error".into() };
            }
        };
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match status {
            201 => {
                let delta = body["transaction"]["delta"].as_i64().unwrap_or(0);
                let id = body["transaction"]["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
                if let Ok(mut t) = self.truth.lock() {
                    match t.acknowledged.get(&w.key) {
                        Some((_, _, seen)) if *seen != id => t.idempotency_violations += 1,
                        Some(_) => {}
                        None => {
                            t.acknowledged.insert(w.key.clone(), (w.card, delta, id));
                        }
                    }
                }
                "201".into()
            }
            422 => {
                let code = body["code"].as_str().unwrap_or("?").to_owned();
                if let Ok(mut t) = self.truth.lock() {
                    t.refused.insert(w.key.clone(), code.clone());
                }
                format!("422 {code}")
            }
            429 => "429 rate_limited".into(),
            other => {
                self.unresolved(w);
                format!("{other} {}", body["code"].as_str().unwrap_or(""))
            }
        }
    }

    fn unresolved(&self, w: &Write) {
        if let Ok(mut t) = self.truth.lock() {
            t.unresolved.push(w.clone());
        }
    }

    /// A GET; the body is read to the end, as a client does (and so that
    /// the connection goes back to the pool).
    async fn send_read(&self, req: reqwest::RequestBuilder) -> String {
        match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16().to_string();
                match r.bytes().await {
                    Ok(_) => status,
                    Err(_) => "connection error".into(),
                }
            }
            Err(_) => "connection error".into(),
        }
    }

    fn app_request(&self, user: usize, path: &str) -> reqwest::RequestBuilder {
        let token = self.tokens.read().ok().and_then(|t| t.get(user).cloned()).unwrap_or_default();
        self.client.get(format!("{}{path}", self.base)).bearer_auth(token)
    }

    /// Run one step at a fixed offered rate.
    pub async fn step(self: &Arc<Self>, mix: Mix, step: Step, max_inflight: u64) -> Samples {
        type Hists = (Histogram<u64>, BTreeMap<&'static str, Histogram<u64>>);
        let hist: Arc<Mutex<Hists>> = Arc::new(Mutex::new((histogram(), BTreeMap::new())));
        let outcomes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
        let start = Instant::now();
        let total = (step.rate * step.duration.as_secs_f64()) as u64;
        let interval = 1.0 / step.rate;
        let mut sent = 0u64;
        let mut tasks = Vec::new();
        while sent < total {
            let due = ((start.elapsed().as_secs_f64() / interval) as u64 + 1).min(total);
            while sent < due {
                let scheduled = start + Duration::from_secs_f64(sent as f64 * interval);
                sent += 1;
                if self.inflight.load(Ordering::Relaxed) >= max_inflight {
                    *outcomes.lock().expect("lock").entry("client saturated".into()).or_default() += 1;
                    continue;
                }
                // The abuser sends ~200 requests/s on one terminal, twice its
                // limit in the bench servers (100/s), whatever the rate.
                let every = ((step.rate / 200.0) as u64).max(1);
                let abuser = step.abuser && sent.is_multiple_of(every);
                let kind = self.pick(&mix, step.hot_card, abuser);
                let name = kind.name();
                let (me, hist, outcomes) = (Arc::clone(self), Arc::clone(&hist), Arc::clone(&outcomes));
                me.inflight.fetch_add(1, Ordering::Relaxed);
                tasks.push(tokio::spawn(async move {
                    let label = match kind {
                        Kind::Lookup(url, terminal) => me.send_read(me.client.get(url).bearer_auth(terminal)).await,
                        Kind::App(user, path) => me.send_read(me.app_request(user, &path)).await,
                        Kind::Write(w, sending) => {
                            if let Ok(mut s) = me.sent_writes.lock()
                                && s.len() < 200_000
                            {
                                s.push(w.clone());
                            }
                            if sending == Sending::Twice {
                                let (a, b) = tokio::join!(me.send_write(&w), me.send_write(&w));
                                if a != b { format!("{a} / {b}") } else { a }
                            } else {
                                me.send_write(&w).await
                            }
                        }
                    };
                    let micros = scheduled.elapsed().as_micros() as u64;
                    if let Ok(mut h) = hist.lock() {
                        let _ = h.0.record(micros.max(1));
                        let _ = h.1.entry(name).or_insert_with(histogram).record(micros.max(1));
                    }
                    *outcomes.lock().expect("lock").entry(label).or_default() += 1;
                    me.inflight.fetch_sub(1, Ordering::Relaxed);
                }));
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = start.elapsed();
        let (hist, by_kind) = hist.lock().expect("lock").clone();
        let outcomes = outcomes.lock().expect("lock").clone();
        Samples { hist, by_kind, outcomes, total, elapsed }
    }

    /// Retry every write that ended without a definitive answer, same key,
    /// until it has one.
    pub async fn resolve(&self) -> anyhow::Result<()> {
        for round in 0..100 {
            let pending = std::mem::take(&mut self.truth.lock().map_err(|_| anyhow::anyhow!("lock"))?.unresolved);
            if pending.is_empty() {
                return Ok(());
            }
            for w in &pending {
                self.send_write(w).await;
            }
            tokio::time::sleep(Duration::from_millis(50 * (round + 1).min(10))).await;
        }
        anyhow::bail!("some writes never got a definitive answer")
    }
}

/// Summarise a step.
pub fn summarise(step: &Step, samples: &Samples) -> StepResult {
    let Samples { hist, by_kind, outcomes, total, elapsed } = samples;
    let (total, elapsed) = (*total, *elapsed);
    let ok: u64 = outcomes.iter().filter(|(k, _)| k.starts_with("20") || k.starts_with("422")).map(|(_, v)| v).sum();
    let expected_429: u64 = outcomes.iter().filter(|(k, _)| k.starts_with("429")).map(|(_, v)| v).sum();
    let errors = total.saturating_sub(ok + expected_429);
    StepResult {
        offered_rps: step.rate,
        // 429s to the abuser are correct answers: they count as served.
        achieved_rps: (ok + expected_429) as f64 / elapsed.as_secs_f64(),
        duration_s: elapsed.as_secs_f64(),
        requests: total,
        ok,
        p50_ms: ms(hist, 0.50),
        p90_ms: ms(hist, 0.90),
        p99_ms: ms(hist, 0.99),
        p999_ms: ms(hist, 0.999),
        max_ms: hist.max() as f64 / 1000.0,
        outcomes: outcomes.clone(),
        by_kind: by_kind
            .iter()
            .map(|(k, h)| {
                let latency = KindLatency {
                    requests: h.len(),
                    p50_ms: ms(h, 0.50),
                    p99_ms: ms(h, 0.99),
                    p999_ms: ms(h, 0.999),
                    max_ms: h.max() as f64 / 1000.0,
                };
                ((*k).to_owned(), latency)
            })
            .collect(),
        error_rate: if total == 0 { 0.0 } else { errors as f64 / total as f64 },
        server_cpu_ms_per_op: None,
        bench_cpu_ms_per_op: None,
        machine_busy: None,
        server_rss_kib: None,
        mean_batch_size: None,
        mean_commit_ms: None,
        disk: None,
    }
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
