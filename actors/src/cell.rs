//! How a card actor runs: a [`Cell`] holds the actor's state behind its own
//! lock, and a message is handled by the thread that delivers it.
//!
//! An actix actor costs 1,092 bytes before it holds anything (its own task,
//! mailbox channel and address; measured with a million empty actors), more
//! than the whole budget of an idle card (1 KiB). A cell costs its state plus
//! a few words: nothing runs for an idle card, so it needs no task and no
//! mailbox. What makes it an actor is kept:
//!
//! - one message at a time: the lock serializes them; a handler is
//!   synchronous, so the lock is never held across an `.await`;
//! - work that waits (a read, a commit) runs outside the actor and comes back
//!   as a message ([`Ctx::spawn`], [`Ctx::callback`]) that runs like any other;
//! - an actor can *block* ([`Ctx::wait`]) until a result is back (loading
//!   its card; every result it blocked for, if more than one): whatever
//!   arrives meanwhile is held, in order, and runs after;
//! - an actor can stop ([`Ctx::stop`]); a message to a stopped cell comes
//!   back to its sender, who starts a new one.
//!
//! Delivering on the sender's thread also saves the two thread hops an actix
//! actor on its own arbiter costs each request (there and back).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use stampede_domain::card::{Card, CardState};
use stampede_domain::ids::CardId;

use crate::actor::{CardActor, Execute, Shared};

/// What runs when a spawned piece of work is back: it gets the actor.
pub(crate) type Continuation = Box<dyn for<'a> FnOnce(&mut CardActor, &mut Ctx<'a>) + Send>;

pub(crate) enum Msg {
    Execute(Execute),
    /// The result of work the actor spawned.
    Resume(Continuation),
    /// The result the actor blocked for.
    Unblock(Continuation),
}

/// One card's actor.
pub struct Cell {
    id: CardId,
    /// When the card last got a request (ms since the epoch): read by the
    /// sweeper without taking the lock.
    last_used: AtomicU64,
    slot: Mutex<Slot>,
}

struct Slot {
    actor: CardActor,
    /// Results ([`Msg::Unblock`]) the actor waits for: while any, everything
    /// else is held.
    waits: u32,
    stopped: bool,
    /// Messages that arrived while blocked. Boxed: 8 bytes in every cell
    /// instead of 32, for a queue only a loading card uses.
    #[expect(clippy::box_collection, reason = "8 bytes, not 32, in every cell; used only while blocked")]
    held: Option<Box<VecDeque<Msg>>>,
}

/// What a handler can ask of its cell besides changing the actor.
pub(crate) struct Ctx<'a> {
    cell: &'a Arc<Cell>,
    waits: u32,
    stop: bool,
}

impl Ctx<'_> {
    /// Run `work` outside the actor; `then` runs in the actor with its result.
    pub fn spawn<F>(
        &mut self,
        work: F,
        then: impl for<'a> FnOnce(F::Output, &mut CardActor, &mut Ctx<'a>) + Send + 'static,
    ) where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.run_outside(work, then, false);
    }

    /// Like [`Ctx::spawn`], and the actor handles nothing else until `then`
    /// has run.
    pub fn wait<F>(
        &mut self,
        work: F,
        then: impl for<'a> FnOnce(F::Output, &mut CardActor, &mut Ctx<'a>) + Send + 'static,
    ) where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.waits += 1;
        self.run_outside(work, then, true);
    }

    fn run_outside<F>(
        &self,
        work: F,
        then: impl for<'a> FnOnce(F::Output, &mut CardActor, &mut Ctx<'a>) + Send + 'static,
        unblocks: bool,
    ) where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cell = Arc::clone(self.cell);
        tokio::spawn(async move {
            let out = work.await;
            let then: Continuation = Box::new(move |act, ctx| then(out, act, ctx));
            cell.deliver_or_drop(if unblocks { Msg::Unblock(then) } else { Msg::Resume(then) });
        });
    }

    /// A function to hand to someone else's thread (a group-commit writer):
    /// calling it runs `then` in the actor with its argument.
    pub fn callback<T: Send + 'static>(
        &self,
        then: impl for<'a> FnOnce(T, &mut CardActor, &mut Ctx<'a>) + Send + 'static,
    ) -> impl FnOnce(T) + Send + 'static {
        let cell = Arc::clone(self.cell);
        move |out| {
            cell.deliver_or_drop(Msg::Resume(Box::new(move |act, ctx| then(out, act, ctx))));
        }
    }

    /// Whether this handler made the actor wait ([`Ctx::wait`]).
    pub fn waiting(&self) -> bool {
        self.waits > 0
    }

    /// Stop after this message; the commands held are refused (see
    /// `Slot::after`).
    pub fn stop(&mut self) {
        self.stop = true;
    }
}

impl Cell {
    /// A new actor for `id`, started: from `preloaded` if given, else it
    /// blocks while it reads its card.
    pub(crate) fn start(id: CardId, shared: Arc<Shared>, preloaded: Option<Box<Card>>) -> Arc<Self> {
        let cell = Arc::new(Self {
            id,
            last_used: AtomicU64::new(crate::registry::now_millis()),
            slot: Mutex::new(Slot { actor: CardActor::new(id, shared), waits: 0, stopped: false, held: None }),
        });
        {
            let mut slot = cell.lock();
            let mut ctx = Ctx { cell: &cell, waits: 0, stop: false };
            slot.actor.started(preloaded, &mut ctx);
            // Starting never stops an actor (a failed read stops it later,
            // from the read's result). Were it to, its first message would
            // come back and the sender replace it; it must not leave the
            // registry from here, whose lock the caller holds.
            slot.after(ctx.waits, ctx.stop);
        }
        cell
    }

    pub fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A handler that panicked left the actor as it was; the card's
        // state is checked against the store on every write anyway.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run a command. A stopped actor gives it back.
    pub(crate) fn execute(self: &Arc<Self>, msg: Execute) -> Result<(), Execute> {
        self.last_used.store(crate::registry::now_millis(), Ordering::Relaxed);
        self.deliver(msg, Msg::Execute)
    }

    /// A result for an actor that may have stopped since it asked: then it
    /// is dropped, and with it the reply channels it holds (their callers
    /// are answered "unavailable").
    fn deliver_or_drop(self: &Arc<Self>, msg: Msg) {
        if self.deliver(msg, |m| m).is_err() {
            tracing::debug!(card = %self.id, "a result came back to a stopped actor");
        }
    }

    /// Handle `msg` now, or hold it if the actor is blocked; a stopped
    /// actor gives it back, as it came.
    fn deliver<T>(self: &Arc<Self>, msg: T, wrap: impl FnOnce(T) -> Msg) -> Result<(), T> {
        let stopped = {
            let mut slot = self.lock();
            if slot.stopped {
                return Err(msg);
            }
            slot.run(wrap(msg), self)
        };
        if stopped {
            self.stopped();
        }
        Ok(())
    }

    /// The committed state, for reads; `None` while the actor is loading or
    /// reloading its card (the caller reads the store).
    pub fn snapshot(&self) -> Option<CardState> {
        self.last_used.store(crate::registry::now_millis(), Ordering::Relaxed);
        let slot = self.lock();
        if slot.stopped || slot.waits > 0 {
            return None;
        }
        slot.actor.snapshot()
    }

    /// Stop if nothing is going on (nothing in flight, nothing held):
    /// `Some(true)` if it stopped now, `Some(false)` if it had stopped
    /// already, `None` if something is going on. The registry calls this
    /// with its shard locked: the one order the two locks are taken in (no
    /// handler touches the registry while it has its actor).
    pub fn try_passivate(&self) -> Option<bool> {
        let mut slot = self.lock();
        if slot.stopped {
            return Some(false);
        }
        if slot.waits > 0 || slot.held.is_some() || !slot.actor.is_idle() {
            return None;
        }
        slot.stopped = true;
        Some(true)
    }

    /// The card went quiet: drop the answers kept for retries.
    pub fn forget_answers(&self) {
        self.lock().actor.forget_answers();
    }

    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// After the lock is released: count it and leave the registry.
    fn stopped(self: &Arc<Self>) {
        let shared = self.lock().actor.shared();
        shared.metrics.passivations.inc();
        shared.registry.forget(self.id, self);
    }
}

impl Slot {
    /// Handle `msg` and whatever was held behind it until the actor blocks
    /// or nothing is left. Returns whether the actor stopped.
    fn run(&mut self, msg: Msg, cell: &Arc<Cell>) -> bool {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            if self.waits > 0 && !matches!(msg, Msg::Unblock(_)) {
                self.hold(msg);
                return false;
            }
            let mut ctx = Ctx { cell, waits: 0, stop: false };
            match msg {
                Msg::Execute(m) => self.actor.execute(m, &mut ctx),
                Msg::Resume(then) => then(&mut self.actor, &mut ctx),
                Msg::Unblock(then) => {
                    self.waits = self.waits.saturating_sub(1);
                    then(&mut self.actor, &mut ctx);
                }
            }
            if self.after(ctx.waits, ctx.stop) {
                return true;
            }
            if self.waits == 0 {
                next = self.held.as_mut().and_then(|h| h.pop_front());
                if self.held.as_ref().is_some_and(|h| h.is_empty()) {
                    self.held = None;
                }
            }
        }
        false
    }

    /// Apply what the handler asked for. Returns whether the actor stopped.
    fn after(&mut self, waits: u32, stop: bool) -> bool {
        if stop {
            self.stopped = true;
            self.waits = 0;
            // Commands that waited are answered with why it stopped (the
            // card does not exist, or could not be read); results of other
            // work are dropped, with the reply channels they hold.
            for msg in self.held.take().into_iter().flat_map(|h| h.into_iter()) {
                if let Msg::Execute(m) = msg {
                    self.actor.refuse_stopped(m);
                }
            }
            return true;
        }
        self.waits += waits;
        false
    }

    /// Keep `msg` for when the actor unblocks; a command beyond the mailbox
    /// size is refused as an overload instead.
    fn hold(&mut self, msg: Msg) {
        let held = self.held.get_or_insert_default();
        match msg {
            Msg::Execute(m) if held.len() >= self.actor.mailbox() => self.actor.overloaded(m),
            msg => held.push_back(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every idle card is one `Cell` (plus its card's state on the heap) and
    /// one registry entry; `actor_memory` measures the whole. Growing the
    /// cell past this needs a new measurement.
    #[test]
    fn a_cell_stays_small() {
        let size = std::mem::size_of::<super::Cell>();
        assert!(
            size <= 360,
            "Cell is {size} bytes (Slot {}): measure memory per idle actor before raising this",
            std::mem::size_of::<super::Slot>()
        );
    }
}
