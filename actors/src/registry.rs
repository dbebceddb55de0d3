//! The registry of active card actors: activation on first use, passivation
//! when idle or when there are more than the cap (least recently used first).
//!
//! A sweeper passivates, once a second, the actors idle longer than the
//! timeout and, above the cap, the least recently used. It scans the
//! registry: O(active actors) per second.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use stampede_domain::card::Card;
use stampede_domain::ids::CardId;

use crate::actor::Shared;
use crate::cell::Cell;
use crate::metrics::RuntimeMetrics;

pub fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How long after going quiet an actor may still be told to forget (the
/// sweeper runs once a second).
const QUIET_WINDOW_MS: u64 = 3_000;

/// At most this many actors are passivated or told to forget by one sweep
/// (one a second), so a pass stays short (it runs on a thread of its own, but
/// passivating takes each actor's lock, which its requests wait for). A
/// million idle actors take under a minute to stop.
pub const WAKE_PER_SWEEP: usize = 20_000;

pub struct Registry {
    map: DashMap<CardId, Arc<Cell>>,
    metrics: RuntimeMetrics,
}

impl Registry {
    pub fn new(metrics: RuntimeMetrics) -> Self {
        Self { map: DashMap::new(), metrics }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The card's actor, started if there is none (from `hint`, the card as
    /// the caller just read it, when given: it is taken only if an actor starts).
    pub fn get_or_start(&self, id: CardId, shared: &Arc<Shared>, hint: &mut Option<Box<Card>>) -> Arc<Cell> {
        if let Some(e) = self.map.get(&id) {
            return Arc::clone(e.value());
        }
        let entry = self.map.entry(id).or_insert_with(|| Cell::start(id, Arc::clone(shared), hint.take()));
        let cell = Arc::clone(entry.value());
        // Release the shard lock before `len`, which locks every shard.
        drop(entry);
        self.metrics.active_actors.set(self.map.len() as i64);
        cell
    }

    /// The card's actor, if it is active.
    pub fn peek(&self, id: CardId) -> Option<Arc<Cell>> {
        self.map.get(&id).map(|e| Arc::clone(e.value()))
    }

    /// Called by an actor that stops: drop its entry (if still its own).
    pub fn forget(&self, id: CardId, cell: &Arc<Cell>) {
        self.map.remove_if(&id, |_, c| Arc::ptr_eq(c, cell));
        self.metrics.active_actors.set(self.map.len() as i64);
    }

    /// Drop an entry whose actor has stopped.
    pub fn drop_stopped(&self, id: CardId) {
        self.map.remove_if(&id, |_, c| c.is_stopped());
        self.metrics.active_actors.set(self.map.len() as i64);
    }

    /// Give back the map's room for entries no longer there.
    pub fn shrink(&self) {
        self.map.shrink_to_fit();
    }

    /// Passivate the idle and, above `cap`, the least recently used; tell
    /// the actors that just went quiet for `quiet` to drop their answers.
    /// At most [`WAKE_PER_SWEEP`] actors are passivated or told anything;
    /// the rest are by later sweeps.
    pub fn sweep(&self, idle: Duration, quiet: Duration, cap: usize) {
        let now = now_millis();
        let idle_ms = idle.as_millis() as u64;
        let quiet_ms = u64::try_from(quiet.as_millis()).unwrap_or(u64::MAX);
        let mut passivate: Vec<CardId> = Vec::new();
        let mut forget: Vec<Arc<Cell>> = Vec::new();
        let mut ages: Vec<(u64, CardId)> = Vec::with_capacity(self.map.len());
        // Decide while iterating; act after: the map's shard locks are held
        // while it is iterated, and passivating removes entries.
        for e in self.map.iter() {
            let last = e.last_used();
            let age = now.saturating_sub(last);
            if age >= idle_ms {
                if passivate.len() + forget.len() < WAKE_PER_SWEEP {
                    passivate.push(*e.key());
                }
            } else {
                // Only those that crossed the line since the last sweeps (one
                // a second; a window of three): a quiet actor is told a few
                // times, not once a second until it passivates.
                if age >= quiet_ms
                    && age < quiet_ms.saturating_add(QUIET_WINDOW_MS)
                    && passivate.len() + forget.len() < WAKE_PER_SWEEP
                {
                    forget.push(Arc::clone(e.value()));
                }
                ages.push((last, *e.key()));
            }
        }
        if ages.len() > cap {
            let excess = ages.len() - cap;
            ages.select_nth_unstable(excess - 1);
            let room = WAKE_PER_SWEEP.saturating_sub(passivate.len() + forget.len());
            passivate.extend(ages[..excess].iter().take(room).map(|(_, id)| *id));
        }
        for cell in forget {
            cell.forget_answers();
        }
        let mut stopped = 0u64;
        for id in passivate {
            // `Some(false)`: it had stopped on its own (and counted itself).
            let mut now_stopped = false;
            self.map.remove_if(&id, |_, c| {
                let passivated = c.try_passivate();
                now_stopped = passivated == Some(true);
                passivated.is_some()
            });
            stopped += u64::from(now_stopped);
        }
        if stopped > 0 {
            self.metrics.passivations.inc_by(stopped);
            self.metrics.active_actors.set(self.map.len() as i64);
        }
    }
}
