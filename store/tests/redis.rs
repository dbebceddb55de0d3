//! The cache and rate-limit ports against in-process and the real Redis on
//! loopback (`REDIS_TEST_URL`, default redis://127.0.0.1:6379; scripts/test
//! starts it). Each test uses its own key prefix.

use std::time::Duration;

use stampede_domain::ports::{Cache, Decision, Limit, RateLimiter};
use stampede_store::cache::{MemoryCache, RedisCache, connect_redis};
use stampede_store::ratelimit::{MemoryRateLimiter, RedisRateLimiter};

fn redis_url() -> String {
    std::env::var("REDIS_TEST_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4().simple())
}

async fn cache_contract(cache: &dyn Cache) {
    assert_eq!(cache.get("a").await.expect("get"), None);
    cache.set("a", b"one", Duration::from_secs(60)).await.expect("set");
    assert_eq!(cache.get("a").await.expect("get").as_deref(), Some(&b"one"[..]));
    cache.set("a", b"two", Duration::from_secs(60)).await.expect("overwrite");
    assert_eq!(cache.get("a").await.expect("get").as_deref(), Some(&b"two"[..]));
    cache.delete("a").await.expect("delete");
    assert_eq!(cache.get("a").await.expect("get"), None);
    cache.set("short", b"x", Duration::from_millis(150)).await.expect("set");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get("short").await.expect("get"), None, "expires at its TTL");
}

#[tokio::test]
async fn memory_cache_contract() {
    cache_contract(&MemoryCache::new(1 << 20)).await;
}

#[tokio::test]
async fn redis_cache_contract() {
    let conn = connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("Redis on loopback");
    cache_contract(&RedisCache::new(conn, prefix())).await;
}

#[tokio::test]
async fn redis_cache_is_shared_between_clients() {
    let p = prefix();
    let a = RedisCache::new(connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("redis"), p.clone());
    let b = RedisCache::new(connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("redis"), p);
    a.set("k", b"v", Duration::from_secs(60)).await.expect("set");
    assert_eq!(b.get("k").await.expect("get").as_deref(), Some(&b"v"[..]));
    b.delete("k").await.expect("delete");
    assert_eq!(a.get("k").await.expect("get"), None);
}

const LIMIT: Limit = Limit { name: "test", count: 5, period: Duration::from_secs(60) };

async fn limiter_contract(limiter: &dyn RateLimiter) {
    for i in 0..5 {
        assert_eq!(limiter.check(&LIMIT, "alice").await, Decision::Allow, "request {i} is within the burst");
    }
    match limiter.check(&LIMIT, "alice").await {
        Decision::Deny { retry_after } => {
            // One emission interval is 12 s; the wait is at most that.
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(12), "{retry_after:?}");
        }
        Decision::Allow => panic!("the sixth request in a minute must be refused"),
    }
    assert_eq!(limiter.check(&LIMIT, "bob").await, Decision::Allow, "keys are independent");
}

#[tokio::test]
async fn memory_rate_limiter_contract() {
    let limiter = MemoryRateLimiter::default();
    limiter_contract(&limiter).await;
    limiter.evict_idle();
}

#[tokio::test]
async fn redis_rate_limiter_contract() {
    let conn = connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("redis");
    limiter_contract(&RedisRateLimiter::new(conn, prefix())).await;
}

/// Two API hosts share one budget through Redis.
#[tokio::test]
async fn redis_rate_limit_is_shared_by_hosts() {
    let p = prefix();
    let a = RedisRateLimiter::new(connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("redis"), p.clone());
    let b = RedisRateLimiter::new(connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("redis"), p);
    for _ in 0..3 {
        assert_eq!(a.check(&LIMIT, "k").await, Decision::Allow);
    }
    for _ in 0..2 {
        assert_eq!(b.check(&LIMIT, "k").await, Decision::Allow);
    }
    assert!(matches!(a.check(&LIMIT, "k").await, Decision::Deny { .. }));
    assert!(matches!(b.check(&LIMIT, "k").await, Decision::Deny { .. }));
}

/// The burst refills at one request per emission interval.
#[tokio::test]
async fn redis_rate_limit_refills() {
    let fast = Limit { name: "fast", count: 2, period: Duration::from_millis(400) };
    let limiter =
        RedisRateLimiter::new(connect_redis(&redis_url(), Duration::from_secs(2)).await.expect("redis"), prefix());
    assert_eq!(limiter.check(&fast, "k").await, Decision::Allow);
    assert_eq!(limiter.check(&fast, "k").await, Decision::Allow);
    assert!(matches!(limiter.check(&fast, "k").await, Decision::Deny { .. }));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(limiter.check(&fast, "k").await, Decision::Allow, "one slot back after 200 ms");
}
