//! Cached reads of business, store and program data through the cache port.
//!
//! Each record's cache key includes a *generation* kept under its own key. A
//! write bumps the generation (after committing, before answering), so every
//! later read, on any host sharing the cache, misses and reloads: nobody is
//! served data older than an update they have seen acknowledged. A reader that
//! loaded the old row just before the write stores it under the old generation,
//! where nobody looks again. TTLs: business and store data 15 min, program data
//! (with its rewards and campaigns) 5 min.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use stampede_domain::business::{Business, Store};
use stampede_domain::ids::{BusinessId, StoreId};
use stampede_domain::ports::{Cache, Store as Db, StoreResult};
use stampede_domain::program::{Campaign, Program, Reward};
use uuid::Uuid;

pub const BUSINESS_TTL: Duration = Duration::from_secs(15 * 60);
pub const STORE_TTL: Duration = Duration::from_secs(15 * 60);
pub const PROGRAM_TTL: Duration = Duration::from_secs(5 * 60);
const GENERATION_TTL: Duration = Duration::from_secs(24 * 3600);

/// A program with its catalog and campaigns: what the card runtime needs.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ProgramBundle {
    pub program: Program,
    pub rewards: Vec<Reward>,
    pub campaigns: Vec<Campaign>,
    /// The POS context, made once per cached bundle and shared by every
    /// request under it (a bundle is replaced, never changed, when the
    /// program changes).
    #[serde(skip)]
    pos_context: std::sync::OnceLock<Arc<stampede_actors::ProgramContext>>,
}

impl ProgramBundle {
    pub fn new(program: Program, rewards: Vec<Reward>, campaigns: Vec<Campaign>) -> Self {
        Self { program, rewards, campaigns, pos_context: std::sync::OnceLock::new() }
    }

    /// What the card runtime needs to run a command under this program; POS
    /// operations apply campaigns (one shared context), adjustments and
    /// expiry do not.
    pub fn context(&self, with_campaigns: bool) -> Arc<stampede_actors::ProgramContext> {
        let make = |campaigns: Vec<Campaign>| {
            Arc::new(stampede_actors::ProgramContext {
                program_id: self.program.id,
                version: self.program.version,
                rules: self.program.rules.clone(),
                campaigns,
                reward_costs: self.rewards.iter().map(|r| r.cost).collect(),
            })
        };
        if with_campaigns {
            Arc::clone(self.pos_context.get_or_init(|| make(self.campaigns.clone())))
        } else {
            make(Vec::new())
        }
    }
}

async fn generation(cache: &dyn Cache, kind: &str, id: Uuid) -> Option<String> {
    let key = format!("gen:{kind}:{id}");
    match cache.get(&key).await {
        Ok(Some(g)) => String::from_utf8(g).ok(),
        Ok(None) => {
            // No generation (new, or evicted): start a fresh one, so whatever was
            // cached under an older generation is never read again.
            let g = Uuid::now_v7().simple().to_string();
            cache.set(&key, g.as_bytes(), GENERATION_TTL).await.ok()?;
            Some(g)
        }
        Err(_) => None,
    }
}

/// Read through the cache; a cache failure falls back to the database.
/// Decoded values are kept in process under the same generation-qualified
/// key and shared: the hot path (every POS request reads its terminal, store
/// and program) takes a reference count, not a copy, and parses no JSON.
pub async fn read<T, F>(cache: &dyn Cache, kind: &str, id: Uuid, ttl: Duration, load: F) -> StoreResult<Option<Arc<T>>>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    F: AsyncFnOnce() -> StoreResult<Option<T>>,
{
    let Some(generation) = generation(cache, kind, id).await else { return Ok(load().await?.map(Arc::new)) };
    let key = format!("{kind}:{id}:{generation}");
    if let Some(decoded) = cache.get_decoded(&key).await
        && let Ok(value) = decoded.downcast::<T>()
    {
        return Ok(Some(value));
    }
    if let Ok(Some(bytes)) = cache.get(&key).await
        && let Ok(value) = serde_json::from_slice::<T>(&bytes)
    {
        let value = Arc::new(value);
        cache.put_decoded(&key, Arc::clone(&value) as Arc<dyn std::any::Any + Send + Sync>).await;
        return Ok(Some(value));
    }
    let value = load().await?.map(Arc::new);
    if let Some(v) = &value
        && let Ok(bytes) = serde_json::to_vec(&**v)
    {
        let _ = cache.set(&key, &bytes, ttl).await;
        cache.put_decoded(&key, Arc::clone(v) as Arc<dyn std::any::Any + Send + Sync>).await;
    }
    Ok(value)
}

/// An owned copy, for callers that change or move what they read.
fn owned<T: Clone>(shared: StoreResult<Option<Arc<T>>>) -> StoreResult<Option<T>> {
    shared.map(|v| v.map(|v| T::clone(&v)))
}

/// After a committed write: bump the generation so every host reloads.
pub async fn invalidate(cache: &dyn Cache, kind: &str, id: Uuid) {
    let g = Uuid::now_v7().simple().to_string();
    if let Err(e) = cache.set(&format!("gen:{kind}:{id}"), g.as_bytes(), GENERATION_TTL).await {
        // The entry still expires at its TTL; say so loudly.
        tracing::error!(error = %e, kind, %id, "cache invalidation failed");
    }
}

pub async fn business(cache: &dyn Cache, db: &dyn Db, id: BusinessId) -> StoreResult<Option<Business>> {
    owned(read(cache, "business", id.0, BUSINESS_TTL, async || db.get_business(id).await).await)
}

pub async fn store(cache: &dyn Cache, db: &dyn Db, id: StoreId) -> StoreResult<Option<Store>> {
    owned(shared_store(cache, db, id).await)
}

/// The store, shared (the POS path).
pub async fn shared_store(cache: &dyn Cache, db: &dyn Db, id: StoreId) -> StoreResult<Option<Arc<Store>>> {
    read(cache, "store", id.0, STORE_TTL, async || db.get_store(id).await).await
}

/// POS terminals (their key hash and revocation), shared, so the POS path
/// neither reads the database nor copies the record per request.
/// Revocation invalidates.
pub async fn terminal(
    cache: &dyn Cache,
    db: &dyn Db,
    id: Uuid,
) -> StoreResult<Option<Arc<stampede_domain::identity::Terminal>>> {
    read(cache, "terminal", id, STORE_TTL, async || db.get_terminal(id).await).await
}

pub async fn program(cache: &dyn Cache, db: &dyn Db, id: Uuid) -> StoreResult<Option<ProgramBundle>> {
    owned(shared_program(cache, db, id).await)
}

/// The program bundle, shared (the POS path: with its POS context made once).
pub async fn shared_program(cache: &dyn Cache, db: &dyn Db, id: Uuid) -> StoreResult<Option<Arc<ProgramBundle>>> {
    read(cache, "program", id, PROGRAM_TTL, async || {
        let Some(program) = db.get_program(id).await? else { return Ok(None) };
        let rewards = db.list_rewards(id).await?;
        let campaigns = db.list_campaigns(id).await?;
        Ok(Some(ProgramBundle::new(program, rewards, campaigns)))
    })
    .await
}
