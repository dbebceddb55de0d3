//! The rate-limit port: GCRA in process (governor) and in Redis (one Lua script,
//! one round trip), shared by every API host.
//!
//! When Redis cannot be reached the Redis limiter falls back to the in-process
//! one: limits then hold per host rather than across hosts. We chose this over
//! failing closed (every login and POS call refused while Redis is down) and over
//! failing open (no limit at all): the system of record is the authority for
//! correctness, the limiter only protects it and the accounts.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use redis::aio::ConnectionManager;
use stampede_domain::ports::{Decision, Limit, RateLimiter};

/// Keyed GCRA limiters, one per limit, created on first use.
pub struct MemoryRateLimiter {
    limiters: Mutex<HashMap<&'static str, Arc<DefaultKeyedRateLimiter<String>>>>,
    clock: DefaultClock,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self { limiters: Mutex::new(HashMap::new()), clock: DefaultClock::default() }
    }
}

fn quota(limit: &Limit) -> Quota {
    let count = NonZeroU32::new(limit.count.max(1)).unwrap_or(NonZeroU32::MIN);
    let interval = (limit.period / count.get()).max(Duration::from_nanos(1));
    Quota::with_period(interval).map(|q| q.allow_burst(count)).unwrap_or_else(|| Quota::per_second(count))
}

impl MemoryRateLimiter {
    fn limiter(&self, limit: &Limit) -> Arc<DefaultKeyedRateLimiter<String>> {
        // The lock is held for a map lookup only, never across an await.
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(limit.name).or_insert_with(|| Arc::new(DefaultKeyedRateLimiter::keyed(quota(limit)))))
    }

    /// Drop keys whose state has decayed to "no recent requests"; run it
    /// periodically so idle keys do not accumulate.
    pub fn evict_idle(&self) {
        let all: Vec<_> = self.limiters.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for l in all {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    pub fn check_now(&self, limit: &Limit, key: &str) -> Decision {
        match self.limiter(limit).check_key(&key.to_owned()) {
            Ok(()) => Decision::Allow,
            Err(not_until) => Decision::Deny { retry_after: not_until.wait_time_from(self.clock.now()) },
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, limit: &Limit, key: &str) -> Decision {
        self.check_now(limit, key)
    }
}

/// GCRA: the key holds the theoretical arrival time (TAT) in ms. A request is
/// allowed when now >= TAT - burst tolerance; then TAT advances by one emission
/// interval. Returns {allowed, retry_after_ms}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return {0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return {1, 0}
";

pub struct RedisRateLimiter {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
    fallback: MemoryRateLimiter,
}

impl RedisRateLimiter {
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self { conn, prefix: prefix.into(), script: redis::Script::new(GCRA), fallback: MemoryRateLimiter::default() }
    }

    pub fn fallback(&self) -> &MemoryRateLimiter {
        &self.fallback
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, limit: &Limit, key: &str) -> Decision {
        let count = limit.count.max(1);
        let interval_ms = (limit.period.as_millis() as u64 / u64::from(count)).max(1);
        let tolerance_ms = interval_ms * u64::from(count - 1);
        let mut conn = self.conn.clone();
        let redis_key = format!("{}rl:{}:{key}", self.prefix, limit.name);
        let answer: Result<(i64, i64), _> =
            self.script.key(redis_key).arg(interval_ms).arg(tolerance_ms).invoke_async(&mut conn).await;
        match answer {
            Ok((1, _)) => Decision::Allow,
            Ok((_, wait_ms)) => Decision::Deny { retry_after: Duration::from_millis(wait_ms.max(1) as u64) },
            Err(e) => {
                tracing::warn!(error = %e, limit = limit.name, "rate limiter: Redis unavailable, limiting per host");
                self.fallback.check_now(limit, key)
            }
        }
    }
}
