//! Sending a step's plan: one task per lane (one keep-alive connection each),
//! each with its own histograms and counters, merged when the step ends. No
//! lock is shared while the step runs.
//!
//! Latency runs from a request's due time when its lane was still busy then
//! (the terminal waited for its earlier request: the server's slowness shows,
//! no coordinated omission), and from the moment it was sent when the lane was
//! idle (the timer waking late is the generator's doing, not the server's).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::plan::{Kind, Planned};
use crate::wire::Conn;

/// What the requests of a step (or a run) came to. `sent` is the sum of the
/// others but `not_sent`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub sent: u64,
    /// Writes answered 2xx and not replayed: what the server committed.
    pub committed: u64,
    /// Writes answered 2xx with `Idempotent-Replayed`: retries and the second
    /// of a duplicate pair.
    pub replayed: u64,
    /// Writes refused with a 422 (not enough balance, a daily cap…).
    pub refused: u64,
    pub rate_limited: u64,
    /// Reads answered 2xx.
    pub reads: u64,
    /// Everything else: 5xx, 409, other 4xx, time-outs, broken connections.
    pub errors: u64,
    /// Due when the step had already run twice its length: never sent.
    pub not_sent: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.sent += o.sent;
        self.committed += o.committed;
        self.replayed += o.replayed;
        self.refused += o.refused;
        self.rate_limited += o.rate_limited;
        self.reads += o.reads;
        self.errors += o.errors;
        self.not_sent += o.not_sent;
    }

    /// Answers that served their purpose: commits, replays, refusals, reads.
    pub fn served(&self) -> u64 {
        self.committed + self.replayed + self.refused + self.reads
    }
}

/// A write's definitive answer: (write, transaction id, delta, replayed).
pub type Ack = (u32, Uuid, i64, bool);

/// What one lane (or, merged, a whole step) recorded.
pub struct Tally {
    pub hist: Histogram<u64>,
    pub by_kind: Vec<Option<Histogram<u64>>>,
    /// Requests of any kind the server shed (503): how fast overload is said.
    pub shed: Option<Histogram<u64>>,
    /// The fleet's requests, and the abuser's apart.
    pub counts: Counts,
    pub abuser: Counts,
    /// By status and, for problems, code (e.g. `422 insufficient_balance`).
    pub outcomes: BTreeMap<String, u64>,
    pub acks: Vec<Ack>,
    pub refusals: Vec<(u32, String)>,
    /// Writes that ended without a definitive answer.
    pub unresolved: Vec<u32>,
}

pub fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds are valid")
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            hist: histogram(),
            by_kind: (0..Kind::COUNT).map(|_| None).collect(),
            shed: None,
            counts: Counts::default(),
            abuser: Counts::default(),
            outcomes: BTreeMap::new(),
            acks: Vec::new(),
            refusals: Vec::new(),
            unresolved: Vec::new(),
        }
    }
}

impl Tally {
    /// A copy of the latencies, counts and outcomes (not the answers), to
    /// pool repetitions.
    pub fn latencies(&self) -> Tally {
        Tally {
            hist: self.hist.clone(),
            by_kind: self.by_kind.clone(),
            shed: self.shed.clone(),
            counts: self.counts,
            abuser: self.abuser,
            outcomes: self.outcomes.clone(),
            ..Tally::default()
        }
    }

    pub fn merge(&mut self, o: Tally) {
        let _ = self.hist.add(&o.hist);
        match (self.shed.as_mut(), o.shed) {
            (Some(m), Some(t)) => {
                let _ = m.add(&t);
            }
            (None, Some(t)) => self.shed = Some(t),
            _ => {}
        }
        for (mine, theirs) in self.by_kind.iter_mut().zip(o.by_kind) {
            match (mine.as_mut(), theirs) {
                (Some(m), Some(t)) => {
                    let _ = m.add(&t);
                }
                (None, Some(t)) => *mine = Some(t),
                _ => {}
            }
        }
        self.counts.add(&o.counts);
        self.abuser.add(&o.abuser);
        for (k, v) in o.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        self.acks.extend(o.acks);
        self.refusals.extend(o.refusals);
        self.unresolved.extend(o.unresolved);
    }

    fn counts_for(&mut self, kind: Kind) -> &mut Counts {
        if kind == Kind::Abuser { &mut self.abuser } else { &mut self.counts }
    }

    fn record(&mut self, kind: Kind, write: Option<u32>, outcome: Outcome, micros: u64) {
        let c = self.counts_for(kind);
        c.sent += 1;
        let label = match outcome {
            Outcome::Written { id, delta, replayed } => {
                if replayed {
                    c.replayed += 1;
                } else {
                    c.committed += 1;
                }
                if let Some(w) = write {
                    self.acks.push((w, id, delta, replayed));
                }
                if replayed { "2xx replayed".to_owned() } else { "2xx".to_owned() }
            }
            Outcome::Read => {
                c.reads += 1;
                "2xx".to_owned()
            }
            Outcome::Refused(code) => {
                c.refused += 1;
                if let Some(w) = write {
                    self.refusals.push((w, code.clone()));
                }
                format!("422 {code}")
            }
            Outcome::RateLimited => {
                c.rate_limited += 1;
                "429 rate_limited".to_owned()
            }
            Outcome::Error(label) => {
                c.errors += 1;
                if let Some(w) = write {
                    self.unresolved.push(w);
                }
                label
            }
        };
        if label.starts_with("503") {
            let _ = self.shed.get_or_insert_with(histogram).record(micros.max(1));
        }
        *self.outcomes.entry(label).or_default() += 1;
        if kind != Kind::Abuser {
            let _ = self.hist.record(micros.max(1));
        }
        let _ = self.by_kind[kind.index()].get_or_insert_with(histogram).record(micros.max(1));
    }
}

/// What an answer meant.
pub enum Outcome {
    Written { id: Uuid, delta: i64, replayed: bool },
    Read,
    Refused(String),
    RateLimited,
    Error(String),
}

#[derive(Deserialize)]
struct Committed {
    transaction: Transaction,
}

#[derive(Deserialize)]
struct Transaction {
    id: Uuid,
    delta: i64,
}

#[derive(Deserialize)]
struct ProblemCode {
    code: Option<String>,
}

/// What an answer means to the harness.
fn classify(status: u16, replayed: bool, body: &[u8], write: bool) -> Outcome {
    match status {
        200..=299 if !write => Outcome::Read,
        200..=299 => match serde_json::from_slice::<Committed>(body) {
            Ok(c) => Outcome::Written { id: c.transaction.id, delta: c.transaction.delta, replayed },
            Err(_) => Outcome::Error(format!("{status} unreadable")),
        },
        422 => Outcome::Refused(code(body)),
        429 => Outcome::RateLimited,
        other => Outcome::Error(format!("{other} {}", code(body))),
    }
}

/// Send one request through reqwest (resolving after the run; the fleet
/// uses [`run_lane`]'s connections).
pub async fn send(client: &reqwest::Client, request: reqwest::Request, write: bool) -> Outcome {
    let res = match client.execute(request).await {
        Ok(r) => r,
        Err(e) => return Outcome::Error(if e.is_timeout() { "timeout".into() } else { "connection error".into() }),
    };
    let status = res.status().as_u16();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let Ok(body) = res.bytes().await else { return Outcome::Error("connection error".into()) };
    classify(status, replayed, &body, write)
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<ProblemCode>(body).ok().and_then(|p| p.code).unwrap_or_else(|| "?".into())
}

/// How long an answer may take before the request counts as timed out.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One request over a lane's connection.
async fn exchange(conn: &mut Conn, bytes: &[u8], write: bool) -> Outcome {
    let res = tokio::time::timeout(TIMEOUT, conn.exchange(bytes)).await;
    let outcome = match &res {
        Ok(Ok(a)) => classify(a.status, a.replayed, a.body, write),
        Ok(Err(_)) => Outcome::Error("connection error".into()),
        Err(_) => Outcome::Error("timeout".into()),
    };
    let timed_out = res.is_err();
    drop(res);
    if timed_out {
        // Its answer may still come: never read it as the next one's.
        conn.reset();
    }
    outcome
}

/// Send a lane's plan, in order, each request at its time, over the lane's
/// connections (one per server); they are handed back for the next step.
pub async fn run_lane(
    mut conns: Vec<Conn>,
    plan: Vec<Planned>,
    start: Instant,
    give_up: Instant,
) -> (Tally, Vec<Conn>) {
    let mut tally = Tally::default();
    let mut free_at = start;
    for p in plan {
        let due = start + p.at;
        if Instant::now() >= give_up {
            tally.counts_for(p.kind).not_sent += 1;
            continue;
        }
        tokio::time::sleep_until(due.into()).await;
        let sent_at = Instant::now();
        let from = if free_at > due { due } else { sent_at };
        let outcome = exchange(&mut conns[p.server as usize], &p.bytes, p.kind.is_write()).await;
        let done = Instant::now();
        free_at = done;
        tally.record(p.kind, p.write, outcome, done.duration_since(from).as_micros() as u64);
    }
    (tally, conns)
}
