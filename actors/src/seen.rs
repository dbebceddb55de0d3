//! Keys an actor committed recently, kept compact (a 128-bit hash and the
//! time) for a window longer than the full answers it keeps. A retry whose key
//! fell out of the answers but is still here is answered from the store's
//! idempotency record instead of being applied again: applying it would make
//! the actor's speculative state wrong until the commit refused the duplicate,
//! and every operation pipelined behind it would then conflict.
//!
//! Keys older than the window still never apply twice (the database's unique
//! key refuses them); they only cost a reload, as before.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

pub struct SeenKeys {
    at: HashMap<u128, Instant>,
    order: VecDeque<(u128, Instant)>,
    ttl: Duration,
    max: usize,
    seeds: (std::hash::RandomState, std::hash::RandomState),
    /// Until when keys dropped for room (not for age) would still have been
    /// inside the window: meanwhile an unknown key may be one of them.
    crowded_until: Option<Instant>,
}

impl SeenKeys {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            at: HashMap::new(),
            order: VecDeque::new(),
            ttl,
            max,
            seeds: (std::hash::RandomState::new(), std::hash::RandomState::new()),
            crowded_until: None,
        }
    }

    fn hash(&self, key: &str) -> u128 {
        let half = |s: &std::hash::RandomState| s.hash_one(key);
        (u128::from(half(&self.seeds.0)) << 64) | u128::from(half(&self.seeds.1))
    }

    pub fn insert(&mut self, key: &str, now: Instant) {
        let h = self.hash(key);
        self.at.insert(h, now);
        self.order.push_back((h, now));
        self.evict(now);
    }

    pub fn contains(&mut self, key: &str, now: Instant) -> bool {
        self.evict(now);
        let h = self.hash(key);
        self.at.contains_key(&h)
    }

    /// Whether a key this set does not hold may still have been committed
    /// within the window: it had to drop keys for room (a card taking more
    /// than `max` keys per window) and those would not have expired yet.
    pub fn is_crowded(&mut self, now: Instant) -> bool {
        self.evict(now);
        self.crowded_until.is_some_and(|t| now < t)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.at.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    fn evict(&mut self, now: Instant) {
        while let Some(&(h, t)) = self.order.front() {
            let expired = now.duration_since(t) > self.ttl;
            if !expired && self.at.len() <= self.max {
                break;
            }
            self.order.pop_front();
            if !expired {
                self.crowded_until = Some(t + self.ttl);
            }
            // Only the newest insertion of a key removes it.
            if self.at.get(&h) == Some(&t) {
                self.at.remove(&h);
            }
        }
        if self.at.is_empty() && self.order.capacity() > 64 {
            // An actor that went quiet gives its memory back.
            self.order = VecDeque::new();
            self.at = HashMap::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_expire_by_age_and_by_count() {
        let t0 = Instant::now();
        let mut s = SeenKeys::new(Duration::from_secs(60), 3);
        s.insert("a", t0);
        s.insert("b", t0);
        assert!(s.contains("a", t0) && s.contains("b", t0) && !s.contains("c", t0));
        s.insert("c", t0);
        s.insert("d", t0);
        assert!(!s.contains("a", t0), "over the cap, the oldest goes");
        assert_eq!(s.len(), 3);
        assert!(s.is_crowded(t0), "a key dropped for room was still inside the window");
        assert!(!s.is_crowded(t0 + Duration::from_secs(61)), "until it would have expired anyway");
        assert!(!s.contains("d", t0 + Duration::from_secs(61)), "older than the window");
        assert!(s.is_empty());
        let mut roomy = SeenKeys::new(Duration::from_secs(60), 3);
        roomy.insert("a", t0);
        assert!(!roomy.contains("b", t0 + Duration::from_secs(61)));
        assert!(!roomy.is_crowded(t0 + Duration::from_secs(61)), "keys that expired by age leave no doubt");
    }
}
