//! The cache port: in-process (moka, per-entry TTL) and Redis.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache as Moka;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use stampede_domain::ports::{Cache, StoreError, StoreResult};

#[derive(Clone)]
struct Entry {
    value: std::sync::Arc<[u8]>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _now: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// A bounded in-process cache; entries expire at their own TTL.
pub struct MemoryCache {
    inner: Moka<String, Entry>,
}

impl MemoryCache {
    /// `capacity` bounds the total bytes held (keys plus values).
    pub fn new(capacity_bytes: u64) -> Self {
        let inner = Moka::builder()
            .max_capacity(capacity_bytes)
            .weigher(|k: &String, v: &Entry| u32::try_from(k.len() + v.value.len()).unwrap_or(u32::MAX))
            .expire_after(PerEntryTtl)
            .build();
        Self { inner }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.inner.get(key).await.map(|e| e.value.to_vec()))
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        self.inner.insert(key.to_owned(), Entry { value: value.into(), ttl }).await;
        Ok(())
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.invalidate(key).await;
        Ok(())
    }
}

/// Redis, shared by every API host. Keys are prefixed so one Redis can serve
/// several deployments.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisCache {
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self { conn, prefix: prefix.into() }
    }

    fn key(&self, key: &str) -> String {
        format!("{}cache:{key}", self.prefix)
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        conn.get(self.key(key)).await.map_err(unavailable)
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        conn.pset_ex::<_, _, ()>(self.key(key), value, ms).await.map_err(unavailable)
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(self.key(key)).await.map_err(unavailable)
    }
}

/// Connect to Redis with a manager that reconnects by itself.
pub async fn connect_redis(url: &str, timeout: Duration) -> Result<ConnectionManager, String> {
    let client = redis::Client::open(url).map_err(|e| format!("cache.redis_url is not a valid Redis URL: {e}"))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
        .await
        .map_err(|_| "cannot reach Redis: timed out".to_owned())?
        .map_err(|e| format!("cannot reach Redis: {e}"))
}
