//! The registry of cards in memory: each is either active (an actix actor,
//! see `host`) or idle (its actor's state, parked: no task, no mailbox).
//!
//! A command for an idle or absent card starts its actor (from the parked
//! state, or from the card as the caller read it, or reading it). A sweeper
//! runs once a second on its own thread: it asks active actors quiet for
//! `runtime.active_grace` to park, drops idle cards unused for `idle_timeout`, and
//! above `max_actors` cards the least recently used. It scans the registry:
//! O(cards in memory) per second, off every request's and commit's path.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix::Addr;
use dashmap::DashMap;
use stampede_domain::card::{Card, CardState};
use stampede_domain::ids::CardId;

use crate::actor::{CardActor, Execute, Shared};
use crate::host::{Activity, Forget, Park, Snapshot};
use crate::metrics::RuntimeMetrics;

pub fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How long after going quiet an actor may still be told to forget (the
/// sweeper runs once a second).
const QUIET_WINDOW_MS: u64 = 3_000;

/// At most this many cards are parked, dropped or told to forget by one
/// sweep (one a second), so a pass stays short: a million idle cards take
/// under a minute to go.
pub const WAKE_PER_SWEEP: usize = 20_000;

enum Slot {
    /// Parked: the actor's state, and when the card was last used.
    Idle(Box<CardActor>, u64),
    Active(Addr<CardActor>, Arc<Activity>),
    /// Only while the entry is locked, between the two.
    Vacant,
}

/// Where a command went.
pub(crate) enum Sent {
    /// In the actor's mailbox (or answered: a full mailbox answers 503).
    Delivered,
    /// The actor had stopped: the command, back, to send again.
    Stopped(Execute, Addr<CardActor>),
}

/// A card's state as a reader can have it.
pub(crate) enum Peek {
    Idle(Option<CardState>),
    Active(Addr<CardActor>),
}

pub struct Registry {
    map: DashMap<CardId, Slot>,
    metrics: RuntimeMetrics,
}

impl Registry {
    pub fn new(metrics: RuntimeMetrics) -> Self {
        Self { map: DashMap::new(), metrics }
    }

    /// Cards in memory, active or idle.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Cards whose actor runs (active).
    pub fn running(&self) -> usize {
        usize::try_from(self.metrics.running_actors.get()).unwrap_or(0)
    }

    /// Hand `msg` to the card's actor, starting it if the card is idle or
    /// not in memory (from `hint`, the card as the caller just read it, when
    /// given; it is taken only if an actor starts from scratch).
    pub(crate) fn send(&self, id: CardId, msg: Execute, shared: &Arc<Shared>, hint: &mut Option<Box<Card>>) -> Sent {
        if let Some(slot) = self.map.get(&id)
            && let Slot::Active(addr, activity) = &*slot
        {
            return self.deliver(addr, activity, msg);
        }
        let mut entry = self
            .map
            .entry(id)
            .or_insert_with(|| Slot::Idle(Box::new(CardActor::new(id, Arc::clone(shared), hint.take())), now_millis()));
        let slot = entry.value_mut();
        if let Slot::Active(addr, activity) = &*slot {
            // Another thread started it meanwhile.
            return self.deliver(addr, activity, msg);
        }
        let Slot::Idle(mut actor, _) = std::mem::replace(slot, Slot::Vacant) else {
            unreachable!("an entry is vacant only while locked")
        };
        let activity = Arc::new(Activity::default());
        activity.touch();
        actor.activate(Arc::clone(&activity));
        let addr = crate::host::start(*actor, &shared.fallback);
        let sent = self.deliver(&addr, &activity, msg);
        *slot = Slot::Active(addr, activity);
        drop(entry);
        self.metrics.active_actors.set(self.map.len() as i64);
        sent
    }

    /// Count the command in, and put it in the actor's mailbox; a full one
    /// answers 503 at once.
    fn deliver(&self, addr: &Addr<CardActor>, activity: &Activity, msg: Execute) -> Sent {
        activity.touch();
        activity.pending.fetch_add(1, Ordering::AcqRel);
        match addr.try_send(msg) {
            Ok(()) => Sent::Delivered,
            Err(actix::prelude::SendError::Full(msg)) => {
                activity.pending.fetch_sub(1, Ordering::AcqRel);
                self.metrics.overloaded.inc();
                msg.refuse(crate::request::RuntimeError::Overloaded);
                Sent::Delivered
            }
            Err(actix::prelude::SendError::Closed(msg)) => {
                activity.pending.fetch_sub(1, Ordering::AcqRel);
                Sent::Stopped(msg, addr.clone())
            }
        }
    }

    /// Drop the entry of an actor that stopped on its own (one that left
    /// the registry first never gets here; this is for a dead arbiter).
    pub(crate) fn drop_stopped(&self, id: CardId, addr: &Addr<CardActor>) {
        self.map.remove_if(&id, |_, slot| matches!(slot, Slot::Active(a, _) if a == addr));
        self.metrics.active_actors.set(self.map.len() as i64);
    }

    /// The card's state, if it is in memory: at hand when idle, from its
    /// actor when active.
    pub(crate) fn peek(&self, id: CardId) -> Option<Peek> {
        let slot = self.map.get(&id)?;
        Some(match &*slot {
            Slot::Idle(actor, _) => Peek::Idle(actor.snapshot()),
            Slot::Active(addr, activity) => {
                activity.touch();
                Peek::Active(addr.clone())
            }
            Slot::Vacant => return None,
        })
    }

    pub(crate) async fn snapshot(&self, id: CardId) -> Option<CardState> {
        match self.peek(id)? {
            Peek::Idle(state) => state,
            Peek::Active(addr) => addr.send(Snapshot).await.ok().flatten(),
        }
    }

    /// Called by an active actor with nothing going on: put `take()` (its
    /// state) back as idle, if no command is on its way in. Returns whether
    /// the actor should stop (it parked, or is no longer this card's).
    pub(crate) fn park(&self, id: CardId, activity: &Arc<Activity>, take: impl FnOnce() -> CardActor) -> bool {
        let Some(mut slot) = self.map.get_mut(&id) else { return true };
        match &*slot {
            Slot::Active(_, a) if Arc::ptr_eq(a, activity) => {}
            _ => return true,
        }
        if activity.pending.load(Ordering::Acquire) > 0 {
            return false;
        }
        *slot = Slot::Idle(Box::new(take()), activity.last_used.load(Ordering::Relaxed));
        self.metrics.passivations.inc();
        true
    }

    /// Called by an active actor whose card is gone or unreadable: leave the
    /// registry, if no command is on its way in. Returns whether it left.
    pub(crate) fn retire(&self, id: CardId, activity: &Arc<Activity>) -> bool {
        let mut left = true;
        self.map.remove_if(&id, |_, slot| match slot {
            Slot::Active(_, a) if Arc::ptr_eq(a, activity) => {
                left = activity.pending.load(Ordering::Acquire) == 0;
                left
            }
            _ => false,
        });
        self.metrics.active_actors.set(self.map.len() as i64);
        left
    }

    /// Give back the map's room for entries no longer there.
    pub fn shrink(&self) {
        self.map.shrink_to_fit();
    }

    /// Ask active actors quiet for `grace` (or `idle`, if shorter) to park;
    /// drop idle cards unused for `idle`, and above `cap` cards the least
    /// recently used; tell cards that just went quiet for `quiet` to drop
    /// their answers. At most [`WAKE_PER_SWEEP`] cards are touched; the rest
    /// are by later sweeps.
    pub fn sweep(&self, grace: Duration, idle: Duration, quiet: Duration, cap: usize) {
        let now = now_millis();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let (idle_ms, quiet_ms) = (ms(idle), ms(quiet));
        let grace_ms = ms(grace).min(idle_ms);
        let mut park: Vec<Addr<CardActor>> = Vec::new();
        let mut tell: Vec<Addr<CardActor>> = Vec::new();
        let mut drop_idle: Vec<CardId> = Vec::new();
        let mut forget_idle: Vec<CardId> = Vec::new();
        let mut ages: Vec<(u64, CardId)> = Vec::new();
        let budget = |n: usize| n < WAKE_PER_SWEEP;
        // Decide while iterating (the shards are read-locked); act after.
        for e in self.map.iter() {
            let touched = park.len() + tell.len() + drop_idle.len() + forget_idle.len();
            let (last, active) = match e.value() {
                Slot::Idle(_, last) => (*last, None),
                Slot::Active(addr, activity) => (activity.last_used.load(Ordering::Relaxed), Some(addr)),
                Slot::Vacant => continue,
            };
            let age = now.saturating_sub(last);
            // Only those that crossed the line since the last sweeps (one a
            // second; a window of three): told a few times, not every second.
            let went_quiet = age >= quiet_ms && age < quiet_ms.saturating_add(QUIET_WINDOW_MS);
            match active {
                Some(addr) => {
                    if age >= grace_ms && budget(touched) {
                        park.push(addr.clone());
                    } else if went_quiet && budget(touched) {
                        tell.push(addr.clone());
                    }
                }
                None if age >= idle_ms => {
                    if budget(touched) {
                        drop_idle.push(*e.key());
                    }
                    continue;
                }
                None if went_quiet && budget(touched) => forget_idle.push(*e.key()),
                None => {}
            }
            if active.is_none() {
                ages.push((last, *e.key()));
            }
        }
        for addr in park {
            addr.do_send(Park);
        }
        for addr in tell {
            addr.do_send(Forget);
        }
        for id in forget_idle {
            if let Some(mut slot) = self.map.get_mut(&id)
                && let Slot::Idle(actor, _) = &mut *slot
            {
                actor.forget_answers();
            }
        }
        // Above the cap, the least recently used idle cards go too.
        let over = self.map.len().saturating_sub(drop_idle.len()).saturating_sub(cap);
        if over > 0 && !ages.is_empty() {
            let excess = over.min(ages.len());
            ages.select_nth_unstable(excess - 1);
            let room = WAKE_PER_SWEEP.saturating_sub(drop_idle.len());
            drop_idle.extend(ages[..excess].iter().take(room).map(|(_, id)| *id));
        }
        let mut dropped = 0u64;
        for id in drop_idle {
            // Still idle: a command may have started it since.
            dropped += u64::from(self.map.remove_if(&id, |_, slot| matches!(slot, Slot::Idle(..))).is_some());
        }
        if dropped > 0 {
            self.metrics.evictions.inc_by(dropped);
        }
        self.metrics.active_actors.set(self.map.len() as i64);
    }
}

#[cfg(test)]
mod tests {
    /// Every idle card is one parked `CardActor` (plus its card's state on
    /// the heap) and one registry entry; `actor_memory` measures the whole.
    /// Growing it past this needs a new measurement.
    #[test]
    fn an_idle_card_stays_small() {
        let size = std::mem::size_of::<crate::actor::CardActor>();
        assert!(size <= 360, "CardActor is {size} bytes: measure memory per idle card before raising this");
    }
}
