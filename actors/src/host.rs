//! How a card actor runs: an actix actor while its card is active, plain
//! state in the registry while it is not.
//!
//! A card that gets a command becomes an actix actor started on the arbiter
//! of the thread that delivered it (in the server, the HTTP worker that
//! received the request: the request, and the answer after its commit, cross
//! no other thread than the writer's). Its mailbox is bounded
//! (`runtime.mailbox`): a full one answers 503 at once. After a short quiet
//! spell (`RuntimeConfig::active_grace`, 2 s) with nothing in flight, the
//! sweeper asks it to park: its state goes back into the registry as plain data, with no task,
//! mailbox or timer, and the actor stops. An actix actor costs about a
//! kilobyte before it holds anything (its context, mailbox and address), so
//! only the cards in use pay it; an idle card stays its state and a registry
//! entry. The next command starts a new actor from that state.
//!
//! What makes it an actor is actix's: one message at a time; work it waits
//! for (reading its card, a lookup) runs in its context and comes back to it
//! ([`Ctx::spawn`]); it can block its mailbox until a result is back
//! ([`Ctx::wait`]); a group commit's outcome comes back as a message from the
//! writer's thread ([`Ctx::callback`]).
//!
//! No command is lost to a stopping actor: senders count themselves in
//! (`Activity::pending`) while they hold the registry entry, and an actor
//! leaves the registry only under that entry's lock with nobody counted in,
//! so its mailbox holds no command when it stops.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use actix::fut::{ActorFutureExt, wrap_future};
use actix::{Actor, ActorContext, Addr, AsyncContext, Handler, Message};
use stampede_domain::card::CardState;

use crate::actor::{CardActor, Execute};

/// What runs when work the actor waited for is back: it gets the actor.
pub(crate) type Continuation = Box<dyn for<'a> FnOnce(&mut CardActor, &mut Ctx<'a>) + Send>;

/// Shared by an active actor and its registry entry.
#[derive(Debug, Default)]
pub struct Activity {
    /// When the card last got a command (ms since the epoch).
    pub last_used: AtomicU64,
    /// Commands on their way into the mailbox, or in it: the actor may
    /// leave the registry only when none is.
    pub pending: AtomicU32,
}

impl Activity {
    pub fn touch(&self) {
        self.last_used.store(crate::registry::now_millis(), Ordering::Relaxed);
    }
}

/// What a handler can ask of its actor's context besides changing the actor.
pub(crate) struct Ctx<'a>(&'a mut actix::Context<CardActor>);

impl Ctx<'_> {
    /// Run `work` in the actor's context; `then` runs in the actor with its
    /// result, between messages.
    pub fn spawn<F>(&mut self, work: F, then: impl for<'a> FnOnce(F::Output, &mut CardActor, &mut Ctx<'a>) + 'static)
    where
        F: Future + 'static,
    {
        self.0.spawn(wrap_future::<_, CardActor>(work).map(move |out, act, ctx| then(out, act, &mut Ctx(ctx))));
    }

    /// Like [`Ctx::spawn`], and the actor handles no message until `then`
    /// has run.
    pub fn wait<F>(&mut self, work: F, then: impl for<'a> FnOnce(F::Output, &mut CardActor, &mut Ctx<'a>) + 'static)
    where
        F: Future + 'static,
    {
        self.0.wait(wrap_future::<_, CardActor>(work).map(move |out, act, ctx| then(out, act, &mut Ctx(ctx))));
    }

    /// A function to hand to someone else's thread (a group-commit writer):
    /// calling it runs `then` in the actor with its argument.
    pub fn callback<T: Send + 'static>(
        &self,
        then: impl for<'a> FnOnce(T, &mut CardActor, &mut Ctx<'a>) + Send + 'static,
    ) -> impl FnOnce(T) + Send + 'static {
        let addr = self.0.address();
        // `do_send`: past the mailbox's bound, as an outcome must never be
        // refused (a stopped actor drops it, and with it the reply channels
        // it holds: their callers are answered "unavailable").
        move |out| addr.do_send(Resume(Box::new(move |act, ctx| then(out, act, ctx))))
    }

    /// Whether the actor blocked its mailbox ([`Ctx::wait`]).
    pub fn waiting(&self) -> bool {
        actix::AsyncContext::waiting(self.0)
    }

    /// Leave the registry and stop, once no command is on its way in (the
    /// card does not exist, or could not be read): the commands that come
    /// meanwhile are answered with why.
    pub fn stop(&mut self) {
        self.0.notify(Retire);
    }
}

impl Actor for CardActor {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.begin(&mut Ctx(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.shared().metrics.running_actors.dec();
    }
}

impl Message for Execute {
    type Result = ();
}

impl Handler<Execute> for CardActor {
    type Result = ();

    fn handle(&mut self, msg: Execute, ctx: &mut Self::Context) {
        self.received();
        self.execute(msg, &mut Ctx(ctx));
    }
}

/// The result of work handed to another thread.
pub(crate) struct Resume(Continuation);

impl Message for Resume {
    type Result = ();
}

impl Handler<Resume> for CardActor {
    type Result = ();

    fn handle(&mut self, msg: Resume, ctx: &mut Self::Context) {
        (msg.0)(self, &mut Ctx(ctx));
    }
}

/// From the sweeper: park if nothing is going on.
pub(crate) struct Park;

impl Message for Park {
    type Result = ();
}

impl Handler<Park> for CardActor {
    type Result = ();

    fn handle(&mut self, _: Park, ctx: &mut Self::Context) {
        if !self.is_idle() || ctx.waiting() {
            return;
        }
        if self.park() {
            ctx.stop();
        }
    }
}

/// From [`Ctx::stop`]: leave the registry, then stop.
struct Retire;

impl Message for Retire {
    type Result = ();
}

impl Handler<Retire> for CardActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        if self.retire() {
            ctx.stop();
        } else {
            // A command is on its way in: answer it first, then try again.
            ctx.notify_later(Retire, Duration::from_millis(1));
        }
    }
}

/// From the sweeper: the card went quiet; drop the answers kept for retries.
pub(crate) struct Forget;

impl Message for Forget {
    type Result = ();
}

impl Handler<Forget> for CardActor {
    type Result = ();

    fn handle(&mut self, _: Forget, _: &mut Self::Context) {
        self.forget_answers();
    }
}

/// The committed state, for reads (`None` while the card is being read).
pub(crate) struct Snapshot;

impl Message for Snapshot {
    type Result = Option<CardState>;
}

impl Handler<Snapshot> for CardActor {
    type Result = Option<CardState>;

    fn handle(&mut self, _: Snapshot, ctx: &mut Self::Context) -> Option<CardState> {
        if ctx.waiting() { None } else { self.snapshot() }
    }
}

/// Start `actor` on this thread's arbiter, or on `fallback` when the caller
/// is not on one (a plain tokio runtime: tests, tools).
pub(crate) fn start(actor: CardActor, fallback: &actix::ArbiterHandle) -> Addr<CardActor> {
    actor.shared().metrics.running_actors.inc();
    // The mailbox is made with its bound, before the first command goes in
    // (actix's default, 16, is far too few for a hot card; set from inside
    // the actor's arbiter, it would apply only once the actor got there).
    let (tx, rx) = actix::dev::channel::channel(actor.mailbox());
    let run = move || {
        let ctx = actix::Context::with_receiver(rx);
        actix_rt::spawn(ctx.into_future(actor));
    };
    if actix_rt::Arbiter::try_current().is_some() {
        run();
    } else {
        fallback.spawn_fn(run);
    }
    Addr::new(tx)
}
