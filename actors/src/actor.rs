//! One actor per active card: the only writer of that card in this process.
//! It runs as an actix actor while the card is active, and is parked as plain
//! state when it is not (see [`crate::host`]).
//!
//! A command is applied to the card's *speculative* state (committed state plus
//! the operations still in flight) synchronously, inside the message handler, so
//! two commands never interleave on one card. The resulting operation goes to
//! the card's writer; the caller is answered only when its group commit returns.
//! Commands keep flowing while commits are in flight (a hot card's operations
//! share batches). When a commit fails or a version check says another process
//! changed the card, the actor reloads the card from the store once nothing is
//! in flight; the engine retries a conflicted command once.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use stampede_domain::card::{Card, CardState, Command};
use stampede_domain::ids::CardId;
use stampede_domain::ledger::{CommitOutcome, IdempotencyRecord};
use stampede_domain::ports::Store;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::host::{Activity, Ctx};
use crate::metrics::RuntimeMetrics;
use crate::prepare::{CardFacts, prepare};
use crate::registry::Registry;
use crate::request::{CardReply, CardRequest, RuntimeError};
use crate::writer::{Done, WriteFailure, WriteRequest, WriteResult, Writers};

pub type Reply = oneshot::Sender<Result<CardReply, RuntimeError>>;

/// Run a command on this card.
pub struct Execute {
    pub request: Box<CardRequest>,
    pub reply: Reply,
    /// How often this actor already ran it again after a version conflict.
    pub reruns: u8,
    /// Its key is known not to be committed (a lookup said so, or its
    /// commit was refused as a conflict): no lookup before applying it.
    pub verified: bool,
}

impl Execute {
    pub fn new(request: Box<CardRequest>, reply: Reply) -> Self {
        Self { request, reply, reruns: 0, verified: false }
    }

    /// Answer it with `e`, unrun.
    pub fn refuse(self, e: RuntimeError) {
        let _ = self.reply.send(Err(e));
    }
}

/// What a stored idempotency record answers a request with `fingerprint`: its
/// first answer, replayed, or a refusal if the key was used for another request.
fn stored_answer(rec: IdempotencyRecord, fingerprint: &[u8]) -> Result<CardReply, RuntimeError> {
    if rec.fingerprint == fingerprint {
        Ok(CardReply::Done { status: rec.status, body: rec.body, replayed: true })
    } else {
        Err(RuntimeError::KeyReused)
    }
}

/// A command whose commit met a version conflict runs again after the reload,
/// at most this often, before the conflict reaches the caller.
const MAX_RERUNS: u8 = 3;

enum Recent {
    /// In flight: requests with the same key wait for its answer.
    Pending {
        fingerprint: Vec<u8>,
        waiters: Vec<Reply>,
    },
    Done {
        fingerprint: Vec<u8>,
        status: u16,
        body: Vec<u8>,
    },
}

struct Loaded {
    facts: CardFacts,
    committed: CardState,
    /// The state after the operations in flight; `None` while nothing is in
    /// flight (it is then the committed state), so an idle actor keeps one copy.
    ahead: Option<Box<CardState>>,
    /// Transactions of this card cancelled (committed or in flight): read
    /// from the store when the first cancellation arrives, not at activation
    /// (most cards are never cancelled on).
    #[expect(clippy::box_collection, reason = "8 bytes, not 48, in every actor; set only on cards with cancellations")]
    reversed: Option<Box<HashSet<Uuid>>>,
}

impl Loaded {
    /// The committed state plus the operations in flight: what the next
    /// command is applied to.
    fn speculative(&self) -> &CardState {
        self.ahead.as_deref().unwrap_or(&self.committed)
    }
}

/// What an actor remembers of idempotency keys: the full answers of the
/// last `answers` keys, and which keys it committed in the last `seen_for`
/// (at most `seen_max`), compactly.
#[derive(Debug, Clone, Copy)]
pub struct KeyMemory {
    pub answers: usize,
    pub seen_for: std::time::Duration,
    pub seen_max: usize,
}

/// What every card actor uses and none owns: one pointer per actor, so an
/// idle actor costs little more than its card.
pub struct Shared {
    pub store: Arc<dyn Store>,
    /// Where a card is (re)loaded from: batched with other cold reads.
    pub cards: Arc<crate::reads::CardReads>,
    pub writers: Writers,
    pub registry: Arc<Registry>,
    pub metrics: RuntimeMetrics,
    /// Messages a mailbox holds (and commands deferred during a reload).
    pub mailbox: usize,
    pub keys: KeyMemory,
    /// Numbers the reads of cards (`CardActor::generation`) across all
    /// actors, so a new actor for a card never reuses its predecessor's.
    pub reads: std::sync::atomic::AtomicU32,
    /// Where actors start when the caller is on no actix arbiter.
    pub fallback: actix::ArbiterHandle,
    pub side_effects: crate::prepare::SideEffects,
}

pub struct CardActor {
    id: CardId,
    shared: Arc<Shared>,
    /// Set while it runs as an actor (shared with its registry entry).
    activity: Option<Arc<Activity>>,
    /// The card as the request that started it read it: installed when the
    /// actor starts, instead of reading the card again.
    hint: Option<Box<Card>>,
    /// Made on the first commit: an actor that only serves reads stays small.
    seen: Option<Box<crate::seen::SeenKeys>>,
    loaded: Option<Loaded>,
    /// Set when the card does not exist, or loading failed.
    unavailable: Option<RuntimeError>,
    /// Commits in flight and idempotency lookups in flight (a crowded card's
    /// unknown keys): `u32`, as every byte here is in every idle card.
    inflight: u32,
    lookups: u32,
    /// Which read of the card the state comes from: a new number on every
    /// (re)load. Operations carry it to the writer, which fails the ones
    /// computed on top of an operation that failed (see `writer`).
    generation: u32,
    stale: bool,
    /// Commands that arrived while the state was stale: they run after the
    /// reload instead of piling more doomed operations onto the pipeline.
    /// Boxed: 8 bytes in every actor instead of 32, for a queue only a
    /// reloading card uses.
    #[expect(clippy::box_collection, reason = "8 bytes, not 32, in every actor; used only while reloading")]
    deferred: Option<Box<VecDeque<Execute>>>,
    recent: VecDeque<(String, Recent)>,
}

impl CardActor {
    pub fn new(id: CardId, shared: Arc<Shared>, hint: Option<Box<Card>>) -> Self {
        Self {
            id,
            shared,
            activity: None,
            hint: hint.filter(|c| c.id == id),
            seen: None,
            loaded: None,
            unavailable: None,
            inflight: 0,
            lookups: 0,
            generation: 0,
            stale: false,
            deferred: None,
            recent: VecDeque::new(),
        }
    }

    /// About to run as an actor, with `activity` shared with its registry
    /// entry.
    pub(crate) fn activate(&mut self, activity: Arc<Activity>) {
        self.activity = Some(activity);
        self.shared.metrics.activations.inc();
    }

    /// Started as an actor: a card not read yet is installed from the hint
    /// or read (a parked one has its state).
    pub(crate) fn begin(&mut self, ctx: &mut Ctx<'_>) {
        if self.loaded.is_some() || self.unavailable.is_some() {
            return;
        }
        match self.hint.take() {
            Some(card) => self.install(&card, ctx),
            None => self.load(ctx),
        }
    }

    /// A command left the mailbox.
    pub(crate) fn received(&self) {
        if let Some(a) = &self.activity {
            a.pending.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// Put this actor's state back in the registry as an idle card, if no
    /// command is on its way in; returns whether the actor should stop.
    pub(crate) fn park(&mut self) -> bool {
        let Some(activity) = self.activity.clone() else { return true };
        let (id, shared) = (self.id, Arc::clone(&self.shared));
        let registry = Arc::clone(&shared.registry);
        registry.park(id, &activity, || {
            let mut state = std::mem::replace(self, CardActor::new(id, shared, None));
            state.activity = None;
            state
        })
    }

    /// Leave the registry (the card is gone or unreadable), if no command is
    /// on its way in; returns whether it left.
    pub(crate) fn retire(&mut self) -> bool {
        match &self.activity {
            Some(activity) => self.shared.registry.retire(self.id, activity),
            None => true,
        }
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Commands its mailbox holds.
    pub(crate) fn mailbox(&self) -> usize {
        self.shared.mailbox
    }

    /// Nothing in flight and nothing waiting: it may stop.
    pub(crate) fn is_idle(&self) -> bool {
        self.inflight == 0 && self.lookups == 0 && self.deferred.is_none()
    }

    /// The committed state, for reads.
    pub(crate) fn snapshot(&self) -> Option<CardState> {
        self.loaded.as_ref().map(|l| l.committed.clone())
    }

    /// The card went quiet: drop the full answers kept for retries. A later
    /// retry of one of those keys is still recognised (`seen`) and answered
    /// from the store's idempotency record. Pending keys stay: their waiters
    /// need the answer.
    pub(crate) fn forget_answers(&mut self) {
        self.recent.retain(|(_, r)| matches!(r, Recent::Pending { .. }));
        if self.recent.is_empty() {
            self.recent = VecDeque::new();
        }
    }

    /// Load (or reload) the card; the actor handles nothing else meanwhile.
    fn load(&mut self, ctx: &mut Ctx<'_>) {
        let cards = Arc::clone(&self.shared.cards);
        let id = self.id;
        ctx.wait(async move { cards.by_id(id).await }, |result, act, ctx| match result {
            Ok(Some(card)) => act.install(&card, ctx),
            Ok(None) => {
                act.unavailable = Some(RuntimeError::NotFound);
                ctx.stop();
            }
            Err(e) => {
                tracing::warn!(card = %act.id, error = %e, "loading a card failed");
                act.unavailable = Some(RuntimeError::Unavailable);
                for msg in act.deferred.take().into_iter().flat_map(|d| d.into_iter()) {
                    let _ = msg.reply.send(Err(RuntimeError::Unavailable));
                }
                ctx.stop();
            }
        });
    }

    /// Start from `card` (just read), then run what waited for it.
    fn install(&mut self, card: &Card, ctx: &mut Ctx<'_>) {
        self.loaded = Some(Loaded { facts: CardFacts::of(card), committed: card.state(), ahead: None, reversed: None });
        self.unavailable = None;
        self.stale = false;
        self.generation = self.shared.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.run_deferred(ctx);
    }

    /// Run the commands that waited for a reload, in arrival order. One that
    /// makes the actor wait (a cancellation reading which transactions are
    /// cancelled) ends the run: the rest stay deferred and run after it
    /// (`load_reversals`), so none overtakes it, and a second cancellation
    /// never reads the set again while the first's result is on its way.
    fn run_deferred(&mut self, ctx: &mut Ctx<'_>) {
        while !ctx.waiting() && !self.stale {
            let Some(msg) = self.deferred.as_mut().and_then(|d| d.pop_front()) else { break };
            self.execute(msg, ctx);
        }
        if self.deferred.as_ref().is_some_and(|d| d.is_empty()) {
            self.deferred = None;
        }
    }

    /// Read which of the card's transactions are cancelled, then run `msg`
    /// (a cancellation), blocking the mailbox meanwhile so order holds.
    fn load_reversals(&mut self, msg: Execute, ctx: &mut Ctx<'_>) {
        let store = Arc::clone(&self.shared.store);
        let id = self.id;
        let fut = async move { store.card_reversals(id).await };
        ctx.wait(fut, move |result, act, ctx| {
            match result {
                Ok(ids) => {
                    if let Some(l) = act.loaded.as_mut() {
                        l.reversed = Some(Box::new(ids.into_iter().collect()));
                    }
                    act.execute(msg, ctx);
                }
                Err(e) => {
                    tracing::warn!(card = %act.id, error = %e, "loading a card's cancellations failed");
                    let _ = msg.reply.send(Err(RuntimeError::Unavailable));
                }
            }
            act.run_deferred(ctx);
        });
    }

    fn remember(&mut self, key: String, entry: Recent) {
        if let Some(slot) = self.recent.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = entry;
            return;
        }
        self.recent.push_back((key, entry));
        while self.recent.len() > self.shared.keys.answers {
            // Never forget a pending key: its waiters need the answer.
            match self.recent.iter().position(|(_, r)| matches!(r, Recent::Done { .. })) {
                Some(i) => {
                    self.recent.remove(i);
                }
                None => break,
            }
        }
    }

    /// Answer the request and everyone waiting on its key.
    fn settle(&mut self, key: Option<String>, reply: Reply, answer: Result<CardReply, RuntimeError>) {
        if let Some(key) = key {
            let mut waiters = Vec::new();
            let mut forget = false;
            if let Some(slot) = self.recent.iter_mut().find(|(k, _)| *k == key) {
                let fingerprint = match &mut slot.1 {
                    Recent::Pending { fingerprint, waiters: w } => {
                        waiters = std::mem::take(w);
                        fingerprint.clone()
                    }
                    Recent::Done { fingerprint, .. } => fingerprint.clone(),
                };
                match &answer {
                    Ok(CardReply::Done { status, body, .. }) => {
                        slot.1 = Recent::Done { fingerprint, status: *status, body: body.clone() };
                        let KeyMemory { seen_for, seen_max, .. } = self.shared.keys;
                        self.seen
                            .get_or_insert_with(|| Box::new(crate::seen::SeenKeys::new(seen_for, seen_max)))
                            .insert(&key, std::time::Instant::now());
                    }
                    // Refusals and failures are not remembered: a retry runs again.
                    _ => forget = true,
                }
            }
            if forget {
                self.recent.retain(|(k, _)| *k != key);
            }
            for w in waiters {
                let _ = w.send(answer.clone().map(|a| match a {
                    CardReply::Done { status, body, .. } => CardReply::Done { status, body, replayed: true },
                    other => other,
                }));
            }
        }
        let _ = reply.send(answer);
    }

    /// `request` to run again, with every duplicate that waited for its
    /// answer (each finds it pending again, and waits again): its pending
    /// entry is dropped. Known not to be committed, so none is looked up.
    fn run_again(&mut self, key: Option<String>, request: Box<CardRequest>, reply: Reply, reruns: u8) -> Vec<Execute> {
        let mut waiters = Vec::new();
        if let Some(key) = key
            && let Some(i) = self.recent.iter().position(|(k, _)| *k == key)
            && let Some((_, Recent::Pending { waiters: w, .. })) = self.recent.remove(i)
        {
            waiters = w;
        }
        let copies: Vec<Execute> = waiters
            .into_iter()
            .map(|w| Execute { request: Box::new(request.again()), reply: w, reruns, verified: true })
            .collect();
        std::iter::once(Execute { request, reply, reruns, verified: true }).chain(copies).collect()
    }

    fn after_completion(&mut self, ctx: &mut Ctx<'_>) {
        if self.inflight > 0 {
            return;
        }
        if self.stale {
            self.load(ctx);
        } else if let Some(l) = self.loaded.as_mut() {
            // Everything in flight committed: the speculative state is the
            // committed one again.
            l.ahead = None;
        }
    }
}

impl CardActor {
    /// Run a command on the card.
    pub(crate) fn execute(&mut self, msg: Execute, ctx: &mut Ctx<'_>) {
        let Execute { request: req, reply, reruns, verified } = msg;
        if let Some(e) = self.unavailable {
            let _ = reply.send(Err(e));
            return;
        }
        if self.stale {
            if self.deferred.as_ref().is_some_and(|d| d.len() >= self.shared.mailbox) {
                self.shared.metrics.overloaded.inc();
                let _ = reply.send(Err(RuntimeError::Overloaded));
            } else {
                self.deferred.get_or_insert_default().push_back(Execute { request: req, reply, reruns, verified });
            }
            return;
        }
        let Some(loaded) = self.loaded.as_mut() else {
            let _ = reply.send(Err(RuntimeError::Unavailable));
            return;
        };
        if loaded.facts.program_id != req.program.program_id {
            let _ = reply.send(Err(RuntimeError::NotFound));
            return;
        }

        // The fast path of idempotency: keys this actor saw recently.
        let key = req.idempotency.as_ref().map(|i| format!("{}\u{1f}{}", i.scope, i.key));
        if let (Some(k), Some(idem)) = (&key, &req.idempotency)
            && let Some((_, recent)) = self.recent.iter_mut().find(|(rk, _)| rk == k)
        {
            match recent {
                Recent::Done { fingerprint, status, body } => {
                    let answer = if *fingerprint == idem.fingerprint {
                        self.shared.metrics.replays.inc();
                        Ok(CardReply::Done { status: *status, body: body.clone(), replayed: true })
                    } else {
                        Err(RuntimeError::KeyReused)
                    };
                    let _ = reply.send(answer);
                }
                Recent::Pending { fingerprint, waiters } => {
                    if *fingerprint == idem.fingerprint {
                        self.shared.metrics.replays.inc();
                        waiters.push(reply);
                    } else {
                        let _ = reply.send(Err(RuntimeError::KeyReused));
                    }
                }
            }
            return;
        }

        // A retry of a key committed before the answers above reach back:
        // the stored answer, read from the store, never a second application.
        if let (Some(k), Some(idem)) = (&key, &req.idempotency)
            && self.seen.as_mut().is_some_and(|seen| seen.contains(k, std::time::Instant::now()))
        {
            self.shared.metrics.replays.inc();
            let store = Arc::clone(&self.shared.store);
            let (scope, ikey, fingerprint) = (idem.scope.clone(), idem.key.clone(), idem.fingerprint.clone());
            tokio::spawn(async move {
                let answer = match store.get_idempotency(&scope, &ikey).await {
                    Ok(Some(rec)) => stored_answer(rec, &fingerprint),
                    // Committed moments ago, so the record is there; absent only
                    // if it expired, which the window rules out.
                    Ok(None) | Err(_) => Err(RuntimeError::Unavailable),
                };
                let _ = reply.send(answer);
            });
            return;
        }

        // A card that took more keys than `seen` holds: an unknown key may be
        // a retry of one it dropped, which would fail its commit as a
        // duplicate and every command pipelined behind it as a conflict.
        // If it may be one (`seen` says which), look it up first; meanwhile
        // it is pending, so duplicates wait.
        if let (Some(k), Some(idem)) = (&key, &req.idempotency)
            && !verified
            && self.seen.as_mut().is_some_and(|seen| seen.may_have_dropped(k, std::time::Instant::now()))
        {
            self.remember(k.clone(), Recent::Pending { fingerprint: idem.fingerprint.clone(), waiters: Vec::new() });
            let store = Arc::clone(&self.shared.store);
            let (scope, ikey, fingerprint) = (idem.scope.clone(), idem.key.clone(), idem.fingerprint.clone());
            let lookup = async move { store.get_idempotency(&scope, &ikey).await };
            self.lookups += 1;
            self.shared.metrics.key_lookups.inc();
            ctx.spawn(lookup, move |found, act, ctx| {
                act.lookups -= 1;
                match found {
                    Ok(Some(rec)) => {
                        let answer = stored_answer(rec, &fingerprint);
                        if answer.is_ok() {
                            act.shared.metrics.replays.inc();
                        }
                        act.settle(key, reply, answer);
                    }
                    Ok(None) => {
                        for msg in act.run_again(key, req, reply, reruns) {
                            act.execute(msg, ctx);
                        }
                    }
                    Err(_) => act.settle(key, reply, Err(RuntimeError::Unavailable)),
                }
            });
            return;
        }

        // Apply the rules to the speculative state.
        if matches!(req.command, Command::Cancel { .. }) && loaded.reversed.is_none() {
            self.load_reversals(Execute { request: req, reply, reruns, verified }, ctx);
            return;
        }
        if let Command::Cancel { original, .. } = &req.command
            && loaded.reversed.as_ref().is_some_and(|r| r.contains(&original.id))
        {
            self.shared.metrics.refused("not_cancellable");
            let _ = reply.send(Ok(CardReply::Refused(stampede_domain::card::Refusal::NotCancellable)));
            return;
        }
        let (mut next, effect) =
            match loaded.speculative().execute(&req.program.rules, &req.program.campaigns, &req.command) {
                Ok(done) => done,
                Err(refusal) => {
                    // Perhaps the request ran before (a retry after a restart, when
                    // the effect makes it impossible now): the stored answer wins.
                    self.shared.metrics.refused(refusal.code());
                    let store = Arc::clone(&self.shared.store);
                    let idem = req.idempotency.clone();
                    let metrics = self.shared.metrics.clone();
                    tokio::spawn(async move {
                        let answer = match idem {
                            Some(i) => match store.get_idempotency(&i.scope, &i.key).await {
                                Ok(Some(rec)) => stored_answer(rec, &i.fingerprint).inspect(|_| {
                                    metrics.replays.inc();
                                }),
                                Ok(None) => Ok(CardReply::Refused(refusal)),
                                Err(_) => Err(RuntimeError::Unavailable),
                            },
                            None => Ok(CardReply::Refused(refusal)),
                        };
                        let _ = reply.send(answer);
                    });
                    return;
                }
            };
        let prepared = prepare(&req, loaded.facts, loaded.speculative(), &mut next, &effect, self.shared.side_effects);
        let prepared_expected = prepared.op.card.expected_version;
        // A place in the writer's queue first: what goes there answers the
        // caller, so a full queue must be known before it is built.
        let shared = Arc::clone(&self.shared);
        let permit = match shared.writers.for_card(self.id).try_reserve() {
            Ok(permit) => permit,
            Err(tokio::sync::mpsc::error::TrySendError::Full(())) => {
                self.shared.metrics.overloaded.inc();
                let _ = reply.send(Err(RuntimeError::Overloaded));
                return;
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(())) => {
                let _ = reply.send(Err(RuntimeError::Unavailable));
                return;
            }
        };
        // Accepted: the speculative state moves on.
        if let (Some(r), Some(reversed)) = (effect.reverses, loaded.reversed.as_mut()) {
            reversed.insert(r);
        }
        match loaded.ahead.as_mut() {
            Some(ahead) => **ahead = next.clone(),
            None => loaded.ahead = Some(Box::new(next.clone())),
        }
        self.inflight += 1;
        self.shared.metrics.actor_inflight.inc();
        if let (Some(k), Some(idem)) = (&key, &req.idempotency) {
            self.remember(k.clone(), Recent::Pending { fingerprint: idem.fingerprint.clone(), waiters: Vec::new() });
        }
        let (status, body) = (prepared.status, prepared.body);
        let expected_version = prepared_expected;
        let idem = req.idempotency.clone();
        let reversed = effect.reverses;
        let op = prepared.op;
        // The writer calls this when the batch holding `op` committed (or
        // failed); it runs in this actor like any message.
        let done = ctx.callback(move |outcome: WriteResult, act: &mut CardActor, ctx: &mut Ctx<'_>| {
            act.inflight -= 1;
            act.shared.metrics.actor_inflight.dec();
            match outcome {
                Ok(CommitOutcome::Committed) => {
                    if let Some(l) = act.loaded.as_mut()
                        && next.version > l.committed.version
                    {
                        l.committed = next;
                    }
                    act.settle(key, reply, Ok(CardReply::Done { status, body, replayed: false }));
                }
                Ok(CommitOutcome::Duplicate) => {
                    tracing::debug!(card = %act.id, "duplicate key reached the database");
                    // The key was stored before (another process, or before a
                    // restart): answer with what was stored. Our speculative
                    // state counted an effect that did not happen: reload.
                    act.stale = true;
                    let store = Arc::clone(&act.shared.store);
                    let metrics = act.shared.metrics.clone();
                    let lookup = async move {
                        let Some(i) = idem else { return Err(RuntimeError::Unavailable) };
                        match store.get_idempotency(&i.scope, &i.key).await {
                            Ok(Some(rec)) => stored_answer(rec, &i.fingerprint).inspect(|_| {
                                    metrics.replays.inc();
                                }),
                            _ => Err(RuntimeError::Unavailable),
                        }
                    };
                    ctx.spawn(lookup, move |answer, act, _| act.settle(key, reply, answer));
                }
                Ok(CommitOutcome::OutOfStock) => {
                    act.stale = true;
                    act.shared.metrics.refused("out_of_stock");
                    act.settle(key, reply, Ok(CardReply::Refused(stampede_domain::card::Refusal::OutOfStock)));
                }
                Ok(CommitOutcome::Conflict) => {
                    tracing::debug!(card = %act.id, expected = expected_version, inflight = act.inflight, "version conflict");
                    act.stale = true;
                    if let (Some(r), Some(set)) = (reversed, act.loaded.as_mut().and_then(|l| l.reversed.as_mut())) {
                        set.remove(&r);
                    }
                    if reruns < MAX_RERUNS {
                        // Usually our own pipeline diverged: an operation ahead
                        // of this one was not applied (a key that turned out
                        // to be a duplicate, a reward out of stock), so this one
                        // was computed on a state that never was. Run it again
                        // on the card as reloaded, with any duplicates that
                        // waited for it, instead of failing the caller.
                        act.shared.metrics.reruns.inc();
                        let again = act.run_again(key, req, reply, reruns + 1);
                        act.deferred.get_or_insert_default().extend(again);
                    } else {
                        act.settle(key, reply, Err(RuntimeError::Conflict));
                    }
                }
                Err(WriteFailure::Unavailable) => {
                    act.stale = true;
                    act.settle(key, reply, Err(RuntimeError::Unavailable));
                }
                Err(WriteFailure::Rejected) => {
                    // The speculative state counted it: reload.
                    act.stale = true;
                    act.settle(key, reply, Err(RuntimeError::Rejected));
                }
            }
            act.after_completion(ctx);
        });
        self.shared.metrics.writer_queue.inc();
        permit.send(WriteRequest { op, generation: self.generation, done: Done::new(done) });
    }
}
