//! A step's requests, built before the step starts: every request's send
//! time, its connection (lane), and the request itself (URL parsed, headers
//! and JSON body made), so that while the step runs the generator only waits,
//! sends and reads answers.
//!
//! Lanes are the fleet's keep-alive connections: one per terminal, one per app
//! user, one for the abuser. A lane sends its requests one after another, as a
//! terminal does; a request whose time comes while its lane is still busy
//! waits, and that wait counts in its latency (see `lanes.rs`).
//!
//! Times are evenly spaced at the step's rate. A retry resends a write of the
//! same step with its key, a delay after it drawn from [`RetryDelay`] (a POS
//! resends within seconds of a timeout, not hours later); a concurrent
//! duplicate sends one write on two connections at the same instant.

use std::time::Duration;

use std::sync::Arc;

use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::load::{Mix, Shared, Step};
use crate::seed::World;
use crate::wire;

/// What a request is; its latencies and counts are reported under
/// [`Kind::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stamps,
    Points,
    Redemption,
    Retry,
    Duplicate,
    BalanceRead,
    CardView,
    Lookup,
    /// The rate-limited terminal's writes.
    Abuser,
    /// `GET /healthz`: the HTTP ceiling, no database work.
    Health,
}

impl Kind {
    pub const COUNT: usize = 10;

    pub fn name(self) -> &'static str {
        match self {
            Kind::Stamps => "stamps",
            Kind::Points => "points",
            Kind::Redemption => "redemption",
            Kind::Retry => "retry",
            Kind::Duplicate => "duplicate",
            Kind::BalanceRead => "balance read",
            Kind::CardView => "card view",
            Kind::Lookup => "cashier lookup",
            Kind::Abuser => "abuser",
            Kind::Health => "healthz",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_write(self) -> bool {
        matches!(self, Kind::Stamps | Kind::Points | Kind::Redemption | Kind::Retry | Kind::Duplicate | Kind::Abuser)
    }
}

/// The delay between a write and its retry: uniform between the two bounds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RetryDelay {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Default for RetryDelay {
    fn default() -> Self {
        Self { min_ms: 500, max_ms: 5000 }
    }
}

impl RetryDelay {
    fn sample(&self, rng: &mut impl Rng) -> Duration {
        Duration::from_millis(rng.random_range(self.min_ms..=self.max_ms.max(self.min_ms)))
    }
}

/// One request of a step.
pub struct Planned {
    /// When it is due, from the step's start.
    pub at: Duration,
    pub kind: Kind,
    /// The whole HTTP/1.1 request (`wire::request`), and which server it goes
    /// to (0 the server under test, 1 the second server).
    pub bytes: Arc<[u8]>,
    pub server: u8,
    /// The write it sends, by index into [`StepPlan::writes`].
    pub write: Option<u32>,
}

/// A write of the step: what its request is made of (to resend it while
/// resolving) and what the check needs.
#[derive(Debug, Clone)]
pub struct Write {
    pub key: String,
    pub url: reqwest::Url,
    pub terminal: usize,
    pub body: Vec<u8>,
    pub card: usize,
    pub bytes: Arc<[u8]>,
    pub server: u8,
}

impl Write {
    /// The write as a reqwest request, to resolve it after the run.
    pub fn request(&self, world: &World) -> reqwest::Request {
        let mut req = reqwest::Request::new(reqwest::Method::POST, self.url.clone());
        let headers = req.headers_mut();
        headers.insert(AUTHORIZATION, world.terminal_auth(self.terminal));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("idempotency-key", HeaderValue::from_str(&self.key).expect("keys are ASCII"));
        *req.body_mut() = Some(self.body.clone().into());
        req
    }
}

/// Every lane's requests, in time order, and the step's writes.
pub struct StepPlan {
    pub lanes: Vec<Vec<Planned>>,
    pub writes: Vec<Write>,
    /// The fleet's requests (a duplicate pair counts two), and the abuser's.
    pub planned: u64,
    pub abuser_planned: u64,
}

/// The lanes: terminals first, then app users, then the abuser's.
pub struct LaneMap {
    pub terminals: usize,
    pub app_users: usize,
}

impl LaneMap {
    pub fn count(&self) -> usize {
        self.terminals + self.app_users + 1
    }
    fn app(&self, user: usize) -> usize {
        self.terminals + user
    }
    fn abuser(&self) -> usize {
        self.terminals + self.app_users
    }
}

struct Builder<'a> {
    shared: &'a Shared,
    lanes: Vec<Vec<Planned>>,
    writes: Vec<Write>,
    /// (due, write) of every first send, in time order: retries look here.
    sent_at: Vec<(Duration, u32)>,
}

impl Builder<'_> {
    fn push(&mut self, lane: usize, at: Duration, kind: Kind, bytes: Arc<[u8]>, server: u8, write: Option<u32>) {
        self.lanes[lane].push(Planned { at, kind, bytes, server, write });
    }

    fn new_write(&mut self, at: Duration, terminal: usize, path: String, body: serde_json::Value, card: usize) -> u32 {
        let n = self.shared.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = format!("b-{n}-{}", Uuid::now_v7().simple());
        let server = self.shared.server_for(&key);
        let target = &self.shared.servers[server as usize];
        let url = reqwest::Url::parse(&format!("{}{path}", target.base)).expect("the server's URL is valid");
        let body = serde_json::to_vec(&body).expect("JSON");
        let auth = format!("Bearer {}", self.shared.world.terminals[terminal].0);
        let headers =
            [("Authorization", auth.as_str()), ("Idempotency-Key", key.as_str()), ("Content-Type", "application/json")];
        let bytes: Arc<[u8]> = wire::request("POST", &path, &target.host, &headers, &body).into();
        let idx = self.writes.len() as u32;
        self.writes.push(Write { key, url, terminal, body, card, bytes, server });
        self.sent_at.push((at, idx));
        idx
    }

    fn send_write(&mut self, lane: usize, at: Duration, kind: Kind, idx: u32) {
        let w = &self.writes[idx as usize];
        let (bytes, server) = (Arc::clone(&w.bytes), w.server);
        self.push(lane, at, kind, bytes, server, Some(idx));
    }

    /// A GET to the server under test.
    fn get(&mut self, lane: usize, at: Duration, kind: Kind, path: &str, auth: Option<&str>) {
        let host = &self.shared.servers[0].host;
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let bytes: Arc<[u8]> = wire::request("GET", path, host, &headers, b"").into();
        self.push(lane, at, kind, bytes, 0, None);
    }

    /// The write first sent nearest before `at - delay`, if any.
    fn earlier(&self, at: Duration, delay: Duration) -> Option<u32> {
        let target = at.checked_sub(delay)?;
        let i = self.sent_at.partition_point(|(t, _)| *t <= target);
        i.checked_sub(1).map(|i| self.sent_at[i].1)
    }
}

impl Shared {
    /// The requests of one step. CPU work: run it off the runtime's threads.
    pub fn plan(&self, mix: &Mix, retry: &RetryDelay, step: &Step) -> StepPlan {
        let map = self.lane_map();
        let mut b = Builder {
            shared: self,
            lanes: (0..map.count()).map(|_| Vec::new()).collect(),
            writes: Vec::new(),
            sent_at: Vec::new(),
        };
        let mut rng = rand::rng();
        let slots = (step.rate * step.duration.as_secs_f64()) as u64;
        for i in 0..slots {
            let at = Duration::from_secs_f64(i as f64 / step.rate);
            if step.health_only {
                b.get(i as usize % map.terminals, at, Kind::Health, "/healthz", None);
                continue;
            }
            self.plan_one(&mut b, &map, &mut rng, mix, retry, step.hot_card, at);
        }
        let abuser_planned = (step.abuser_rps * step.duration.as_secs_f64()) as u64;
        if let Some(abuser) = self.world.abuser_terminal() {
            for i in 0..abuser_planned {
                let at = Duration::from_secs_f64(i as f64 / step.abuser_rps);
                let card = if step.hot_card { 0 } else { self.zipf.sample(&mut rng) };
                let (path, body) = self.issuance(&mut rng, abuser, card, false);
                let idx = b.new_write(at, abuser, path, body, card);
                b.send_write(map.abuser(), at, Kind::Abuser, idx);
            }
        }
        // Requests, not slots: a duplicate pair is two.
        let planned = b.lanes[..map.abuser()].iter().map(|l| l.len() as u64).sum();
        StepPlan { lanes: b.lanes, writes: b.writes, planned, abuser_planned }
    }

    pub fn lane_map(&self) -> LaneMap {
        LaneMap { terminals: self.world.fleet_terminals(), app_users: self.world.app_users.len() }
    }

    #[expect(clippy::too_many_arguments, reason = "one request's every input; a struct would only rename them")]
    fn plan_one(
        &self,
        b: &mut Builder<'_>,
        map: &LaneMap,
        rng: &mut impl Rng,
        mix: &Mix,
        retry: &RetryDelay,
        hot: bool,
        at: Duration,
    ) {
        let terminal = rng.random_range(0..map.terminals);
        let card = if hot { 0 } else { self.zipf.sample(rng) };
        let r: f64 = rng.random();
        if !hot
            && r < mix.reads()
            && let Some((lane, kind, path, auth)) = self.read(map, rng, mix, r, terminal, card)
        {
            b.get(lane, at, kind, &path, Some(&auth));
            return;
        }
        // Hot-card steps send no reads: the shares scale over the writes.
        let r = if hot { r * (1.0 - mix.reads()) + mix.reads() } else { r };
        if r < mix.reads() + mix.retries
            && let Some(idx) = b.earlier(at, retry.sample(rng))
        {
            let lane = b.writes[idx as usize].terminal;
            b.send_write(lane, at, Kind::Retry, idx);
            return;
        }
        let redemption = r > 1.0 - mix.redemptions;
        let (path, body) = self.issuance(rng, terminal, card, redemption);
        let kind = match (redemption, World::is_points(card)) {
            (true, _) => Kind::Redemption,
            (false, true) => Kind::Points,
            (false, false) => Kind::Stamps,
        };
        let idx = b.new_write(at, terminal, path, body, card);
        let duplicate = !redemption && r > 1.0 - mix.redemptions - mix.duplicates;
        if duplicate {
            // The same write on two connections at once.
            b.send_write(terminal, at, Kind::Duplicate, idx);
            b.send_write((terminal + 1) % map.terminals, at, Kind::Duplicate, idx);
        } else {
            b.send_write(terminal, at, kind, idx);
        }
    }

    /// A read, if the mix's draw `r` falls on one the world can make: its
    /// lane, kind, path and `Authorization`.
    fn read(
        &self,
        map: &LaneMap,
        rng: &mut impl Rng,
        mix: &Mix,
        r: f64,
        terminal: usize,
        card: usize,
    ) -> Option<(usize, Kind, String, String)> {
        if r >= mix.balance_reads + mix.card_views {
            let store = self.world.terminals[terminal].1;
            let path = format!("/v1/pos/stores/{store}/cards/{}", self.world.codes[card]);
            return Some((terminal, Kind::Lookup, path, format!("Bearer {}", self.world.terminals[terminal].0)));
        }
        let user = self.app_zipf.as_ref()?.sample(rng);
        let auth = format!("Bearer {}", self.tokens.read().ok()?.get(user)?);
        if r < mix.balance_reads {
            return Some((map.app(user), Kind::BalanceRead, "/v1/me/cards".into(), auth));
        }
        let card = self.world.cards[2 * user + usize::from(rng.random_bool(0.5))];
        Some((map.app(user), Kind::CardView, format!("/v1/me/cards/{card}/code"), auth))
    }

    /// Stamps on a stamp card, points for a purchase on a points card, or a
    /// redemption of the card's program's reward.
    fn issuance(
        &self,
        rng: &mut impl Rng,
        terminal: usize,
        card: usize,
        redemption: bool,
    ) -> (String, serde_json::Value) {
        let store = self.world.terminals[terminal].1;
        let card_id = self.world.cards[card];
        let points = World::is_points(card);
        if redemption {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use uuid::Uuid;

    use super::{Kind, RetryDelay};
    use crate::load::{Mix, Shared, Step};
    use crate::seed::World;

    fn world(terminals: usize, cards: usize, app_users: usize) -> World {
        let store = Uuid::new_v4();
        World {
            business: Uuid::new_v4(),
            stores: vec![store],
            terminals: (0..terminals).map(|t| (format!("stp_key{t}"), store)).collect(),
            cards: (0..cards).map(|_| Uuid::new_v4()).collect(),
            codes: (0..cards).map(|c| format!("CODE{c}")).collect(),
            stamp_reward: Uuid::new_v4(),
            points_reward: Uuid::new_v4(),
            currency: "EUR".into(),
            app_users: (0..app_users).map(|u| format!("u{u}@bench.test")).collect(),
            app_password: "pw".into(),
            initial_balance: 10,
        }
    }

    #[test]
    fn a_plan_keeps_lanes_in_time_retries_close_and_the_abuser_apart() {
        let shared = Shared::new("http://127.0.0.1:9".into(), world(4, 100, 2));
        *shared.tokens.write().expect("tokens") = vec!["t0".into(), "t1".into()];
        let mix = Mix { retries: 0.2, duplicates: 0.05, ..Mix::default() };
        let retry = RetryDelay { min_ms: 100, max_ms: 300 };
        let step = Step { abuser_rps: 50.0, ..Step::new(1000.0, Duration::from_secs(2)) };
        let plan = shared.plan(&mix, &retry, &step);
        let map = shared.lane_map();
        assert_eq!((map.terminals, map.count()), (3, 6), "three fleet terminals, two app users, the abuser");

        // When each write was first due, and on which lanes it went.
        let mut first: HashMap<u32, Duration> = HashMap::new();
        let mut retries = Vec::new();
        let mut duplicates: HashMap<u32, Vec<(usize, Duration)>> = HashMap::new();
        for (lane, requests) in plan.lanes.iter().enumerate() {
            assert!(requests.windows(2).all(|w| w[0].at <= w[1].at), "lane {lane} is in time order");
            for p in requests {
                let text = String::from_utf8_lossy(&p.bytes);
                let auth = text.lines().find_map(|l| l.strip_prefix("Authorization: ")).unwrap_or("");
                if lane == map.count() - 1 {
                    assert_eq!((p.kind, auth), (Kind::Abuser, "Bearer stp_key3"));
                    continue;
                }
                assert_ne!(auth, "Bearer stp_key3", "the fleet never uses the abuser's terminal");
                let Some(w) = p.write else { continue };
                match p.kind {
                    Kind::Retry => retries.push((w, p.at)),
                    Kind::Duplicate => duplicates.entry(w).or_default().push((lane, p.at)),
                    _ => {}
                }
                if p.kind != Kind::Retry {
                    first.entry(w).and_modify(|t| *t = (*t).min(p.at)).or_insert(p.at);
                }
            }
        }
        assert_eq!(plan.lanes[map.count() - 1].len(), 100, "50/s for 2 s");
        assert_eq!(plan.abuser_planned, 100);
        assert_eq!(plan.planned, plan.lanes[..map.count() - 1].iter().map(|l| l.len() as u64).sum::<u64>());
        assert!(retries.len() > 200, "{} retries", retries.len());
        // A retry resends the last write due before its drawn delay: at
        // least the delay, at most it and the gap to that write (a few ms here).
        for (w, at) in &retries {
            let delay = *at - first[w];
            assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_millis(320), "{delay:?}");
        }
        assert!(!duplicates.is_empty());
        for pair in duplicates.values() {
            assert_eq!(pair.len(), 2, "a duplicate is one write sent twice");
            assert_ne!(pair[0].0, pair[1].0, "on two connections");
            assert_eq!(pair[0].1, pair[1].1, "at once");
        }
        // Every write's key is its own.
        let keys: std::collections::HashSet<&str> = plan.writes.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys.len(), plan.writes.len());
    }
}
