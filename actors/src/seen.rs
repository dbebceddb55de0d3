//! Keys an actor committed recently, kept compact (a 128-bit hash and the
//! time) for a window longer than the full answers it keeps. A retry whose key
//! fell out of the answers but is still here is answered from the store's
//! idempotency record instead of being applied again: applying it would make
//! the actor's speculative state wrong until the commit refused the duplicate,
//! and every operation pipelined behind it would then conflict.
//!
//! Keys older than the window still never apply twice (the database's unique
//! key refuses them); they only cost a reload, as before.
//!
//! A card that takes more keys than `max` within the window (a hot card)
//! drops keys while a retry of them could still come. Those keys go into
//! Bloom filters ([`Dropped`]): an unknown key the filters do not hold was
//! certainly not dropped, so only those they may hold (the dropped ones,
//! and false positives: about 0.07% of new keys for each full filter, one
//! per 16,384 dropped keys still inside the window, at most 64 filters) are
//! looked up in the store before they apply: looking every unknown key up
//! would be a read per operation for as long as the window lasts.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

pub struct SeenKeys {
    at: HashMap<u128, Instant>,
    order: VecDeque<(u128, Instant)>,
    ttl: Duration,
    max: usize,
    seeds: (std::hash::RandomState, std::hash::RandomState),
    /// Keys dropped for room (not for age) while still inside the window.
    dropped: Dropped,
}

impl SeenKeys {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            at: HashMap::new(),
            order: VecDeque::new(),
            ttl,
            max,
            seeds: (std::hash::RandomState::new(), std::hash::RandomState::new()),
            dropped: Dropped::default(),
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

    /// Whether `key`, which this set does not hold, may still have been
    /// committed within the window: it may be one of the keys dropped for room
    /// (a card taking more than `max` keys per window) that would not have
    /// expired yet. `false` is certain; `true` asks for a lookup.
    pub fn may_have_dropped(&mut self, key: &str, now: Instant) -> bool {
        self.evict(now);
        let h = self.hash(key);
        self.dropped.may_hold(h)
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
            // Only the newest insertion of a key removes it.
            if self.at.get(&h) == Some(&t) {
                self.at.remove(&h);
                if !expired {
                    self.dropped.add(h, t + self.ttl);
                }
            }
        }
        self.dropped.expire(now);
        if self.at.is_empty() && self.order.capacity() > 64 {
            // An actor that went quiet gives its memory back.
            self.order = VecDeque::new();
            self.at = HashMap::new();
        }
    }
}

/// Keys per filter: 32 KiB of bits at 16 bits a key, with 7 probes, gives
/// about 0.07% false positives when full.
const GENERATION_KEYS: usize = 16_384;
const GENERATION_BITS: usize = GENERATION_KEYS * 16;
const PROBES: u64 = 7;
/// Filters a card keeps (2 MiB, ~1M dropped keys). Past that the oldest
/// filter goes before its window ends: its keys are then treated as older
/// than the window (a late retry of one is refused by the database's unique
/// key and costs a reload, never a second apply), rather than every unknown
/// key being looked up: a read per write, on a card taking thousands of
/// writes a second, for up to the whole window.
const MAX_GENERATIONS: usize = 64;

/// Dropped keys, in Bloom filters filled one after another. Keys are dropped
/// in the order they were inserted, so each filter's deadline (the latest
/// time one of its keys stays inside the window) is no earlier than the one
/// before it, and expired filters leave from the front.
#[derive(Default)]
pub struct Dropped {
    generations: VecDeque<Generation>,
}

struct Generation {
    bits: Box<[u64]>,
    keys: usize,
    until: Instant,
}

impl Generation {
    fn probes(h: u128) -> impl Iterator<Item = usize> {
        // Double hashing over the key's two independent 64-bit halves.
        let (a, b) = (h as u64, ((h >> 64) as u64) | 1);
        (0..PROBES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % GENERATION_BITS as u64) as usize)
    }
}

impl Dropped {
    fn add(&mut self, h: u128, until: Instant) {
        if self.generations.back().is_none_or(|g| g.keys >= GENERATION_KEYS) {
            if self.generations.len() >= MAX_GENERATIONS {
                self.generations.pop_front();
            }
            let bits = vec![0u64; GENERATION_BITS / 64].into_boxed_slice();
            self.generations.push_back(Generation { bits, keys: 0, until });
        }
        if let Some(g) = self.generations.back_mut() {
            for bit in Generation::probes(h) {
                g.bits[bit / 64] |= 1 << (bit % 64);
            }
            g.keys += 1;
            g.until = g.until.max(until);
        }
    }

    /// Drop the filters whose keys have all left the window.
    fn expire(&mut self, now: Instant) {
        while self.generations.front().is_some_and(|g| g.until <= now) {
            self.generations.pop_front();
        }
    }

    fn may_hold(&self, h: u128) -> bool {
        self.generations.iter().any(|g| Generation::probes(h).all(|bit| g.bits[bit / 64] & (1 << (bit % 64)) != 0))
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
        assert!(s.may_have_dropped("a", t0), "a key dropped for room was still inside the window");
        assert!(!s.may_have_dropped("zz", t0), "a key never seen was not dropped");
        assert!(!s.may_have_dropped("a", t0 + Duration::from_secs(61)), "until it would have expired anyway");
        assert!(!s.contains("d", t0 + Duration::from_secs(61)), "older than the window");
        assert!(s.is_empty());
        let mut roomy = SeenKeys::new(Duration::from_secs(60), 3);
        roomy.insert("a", t0);
        assert!(!roomy.contains("b", t0 + Duration::from_secs(61)));
        assert!(!roomy.may_have_dropped("a", t0 + Duration::from_secs(61)), "keys that expired by age leave no doubt");
    }

    #[test]
    fn dropped_keys_are_always_recognised_and_new_keys_rarely_mistaken() {
        let t0 = Instant::now();
        let mut s = SeenKeys::new(Duration::from_secs(600), 1_000);
        for i in 0..50_000 {
            s.insert(&format!("k{i}"), t0);
        }
        // 49,000 dropped for room, over four filters: none is missed.
        assert!((0..49_000).all(|i| s.may_have_dropped(&format!("k{i}"), t0)));
        let mistaken = (0..100_000).filter(|i| s.may_have_dropped(&format!("new{i}"), t0)).count();
        assert!(mistaken < 500, "{mistaken} of 100,000 new keys would be looked up");
        // Once every dropped key would have expired, the filters go.
        let later = t0 + Duration::from_secs(601);
        assert!(!s.may_have_dropped("k0", later));
        assert!(s.dropped.generations.is_empty());
    }

    #[test]
    fn past_the_last_filter_the_oldest_keys_are_forgotten_not_every_key_looked_up() {
        let t0 = Instant::now();
        let key = |i: u128| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        let mut d = Dropped::default();
        let past_the_last = (MAX_GENERATIONS * GENERATION_KEYS + 1) as u128;
        for i in 0..past_the_last {
            d.add(key(i), t0 + Duration::from_secs(60));
        }
        assert_eq!(d.generations.len(), MAX_GENERATIONS, "memory stays bounded");
        d.expire(t0);
        assert!(d.may_hold(key(past_the_last - 1)), "the newest dropped keys are still recognised");
        let last_filter_start = past_the_last - 1 - GENERATION_KEYS as u128;
        assert!((last_filter_start..past_the_last).all(|i| d.may_hold(key(i))));
        let forgotten = (0..GENERATION_KEYS as u128).filter(|&i| d.may_hold(key(i))).count();
        assert!(forgotten < GENERATION_KEYS / 10, "the oldest filter went: {forgotten} of its keys still match");
        let mistaken = (0..10_000u128).filter(|i| d.may_hold(key(u128::MAX / 2 + i))).count();
        assert!(mistaken < 1_000, "new keys are rarely looked up: {mistaken} of 10,000");
        d.expire(t0 + Duration::from_secs(61));
        assert!(d.generations.is_empty(), "every filter goes once the window passed");
    }
}
