//! Business, brand, store, program and terminal records: read through the cache port
//! and kept decoded in process, shared behind an `Arc`.
//!
//! Coherence across hosts rests on two kinds of token in the shared cache
//! (in process on the embedded default, Redis in the AWS shape):
//!
//! - each record's *generation*, under `gen:{kind}:{id}`;
//! - one *epoch*, under `gen:epoch`, that takes a new value whenever any
//!   record is invalidated.
//!
//! A write commits, sets the record's generation, then the epoch, and only
//! then answers. A request reads the epoch once ([`Records::view`]); a record
//! this host holds and last found current under that same epoch is current
//! now, with no further lookup. When the epoch moved, the record's generation
//! decides: unchanged, the record is marked current under the new epoch;
//! changed, it is read again. So nobody is served data older than an update
//! they have seen acknowledged, on any host, and a POS request costs one
//! lookup of the shared cache (one Redis round trip) however many records it
//! reads, instead of one per record. Configuration changes are rare next to
//! POS traffic, so the epoch seldom moves.
//!
//! Records also expire at their kind's TTL (business and store data 15 min,
//! program data with its rewards and campaigns 5 min), which bounds what a
//! failed invalidation could leave behind.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use stampede_domain::business::{Brand, Business, Store};
use stampede_domain::identity::Terminal;
use stampede_domain::ids::{BrandId, BusinessId, CustomerId, StoreId};
use stampede_domain::ports::{Cache, Store as Db, StoreResult};
use stampede_domain::program::{Campaign, Program, Reward};
use uuid::Uuid;

const GENERATION_TTL: Duration = Duration::from_secs(24 * 3600);
const EPOCH_KEY: &str = "gen:epoch";
/// Records kept decoded per host. Past this, expired ones go first, then an
/// arbitrary tenth: a cache, not a registry.
const LOCAL_CAPACITY: usize = 10_000;

/// What kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Business,
    Brand,
    /// Whether a customer account stands (it is gone once erased).
    Customer,
    Store,
    Program,
    Terminal,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Business => "business",
            Kind::Brand => "brand",
            Kind::Customer => "customer",
            Kind::Store => "store",
            Kind::Program => "program",
            Kind::Terminal => "terminal",
        }
    }

    fn ttl(self) -> Duration {
        match self {
            Kind::Program => Duration::from_secs(5 * 60),
            Kind::Business | Kind::Brand | Kind::Customer | Kind::Store | Kind::Terminal => {
                Duration::from_secs(15 * 60)
            }
        }
    }
}

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

/// That a customer's id was not erased: all a signed-in request needs to know
/// of the account, so no personal data goes to the shared cache. (An erased
/// id has no record; what is kept is only ever "stands".)
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Standing {}

/// A record this host holds, with the tokens it was last found current under.
struct Local {
    epoch: u128,
    generation: u128,
    expires: Instant,
    value: Arc<dyn Any + Send + Sync>,
}

/// The records of this host, over the shared cache and the database.
pub struct Records {
    cache: Arc<dyn Cache>,
    db: Arc<dyn Db>,
    local: DashMap<(Kind, Uuid), Local>,
    /// Invalidations the shared cache refused (it was unreachable), tried
    /// again until it takes them ([`Records::retry_pending`]).
    pending: DashMap<(Kind, Uuid), ()>,
}

/// One request's look at the records: the epoch it read when it began.
/// Without one (the shared cache is unreachable) records come from the
/// database and are not kept.
#[derive(Clone)]
pub struct View {
    records: Arc<Records>,
    epoch: Option<u128>,
}

impl Records {
    pub fn new(cache: Arc<dyn Cache>, db: Arc<dyn Db>) -> Arc<Self> {
        Arc::new(Self { cache, db, local: DashMap::new(), pending: DashMap::new() })
    }

    /// Begin a request: read the epoch (one lookup of the shared cache).
    pub async fn view(self: &Arc<Self>) -> View {
        View { records: Arc::clone(self), epoch: self.token(EPOCH_KEY).await }
    }

    /// After a committed write: new generation, then new epoch, so every host
    /// that reads the epoch after this returns checks the record again.
    ///
    /// While the shared cache is unreachable, every host reads records from
    /// the database (no epoch, nothing kept), so the change is seen; but
    /// hosts would go back to what they kept under the old epoch once the
    /// cache returns. So a refused invalidation is kept and tried again
    /// every second until the cache takes it.
    pub async fn invalidate(&self, kind: Kind, id: Uuid) {
        self.local.remove(&(kind, id));
        if let Err(e) = self.bump(kind, id).await {
            tracing::error!(error = %e, kind = kind.as_str(), %id, "cache invalidation failed; will retry");
            self.pending.insert((kind, id), ());
        }
    }

    async fn bump(&self, kind: Kind, id: Uuid) -> StoreResult<()> {
        self.cache.set(&generation_key(kind, id), fresh().as_bytes(), GENERATION_TTL).await?;
        self.cache.set(EPOCH_KEY, fresh().as_bytes(), GENERATION_TTL).await
    }

    /// Try the refused invalidations again; returns how many are still
    /// waiting.
    pub async fn retry_pending(&self) -> usize {
        let waiting: Vec<(Kind, Uuid)> = self.pending.iter().map(|e| *e.key()).collect();
        for (kind, id) in waiting {
            if self.bump(kind, id).await.is_ok() {
                self.pending.remove(&(kind, id));
                tracing::info!(kind = kind.as_str(), %id, "cache invalidation went through on retry");
            }
        }
        self.pending.len()
    }

    /// [`Records::retry_pending`] every second, for as long as the process runs.
    pub fn spawn_retries(self: &Arc<Self>) {
        let records = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if !records.pending.is_empty() {
                    records.retry_pending().await;
                }
            }
        });
    }

    /// The record as current as the view's epoch: from this host if it was
    /// found current under that epoch, else checked against its generation,
    /// else read (from the shared cache's bytes if another host put them
    /// there, or from the database).
    async fn read<T, F>(&self, epoch: Option<u128>, kind: Kind, id: Uuid, load: F) -> StoreResult<Option<Arc<T>>>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
        F: AsyncFnOnce() -> StoreResult<Option<T>>,
    {
        let Some(epoch) = epoch else { return Ok(load().await?.map(Arc::new)) };
        let now = Instant::now();
        if let Some(hit) = self.current::<T>(kind, id, epoch, now) {
            return Ok(Some(hit));
        }
        let Some(generation) = self.token(&generation_key(kind, id)).await else {
            return Ok(load().await?.map(Arc::new));
        };
        if let Some(mut local) = self.local.get_mut(&(kind, id))
            && local.generation == generation
            && local.expires > now
            && let Ok(value) = Arc::clone(&local.value).downcast::<T>()
        {
            // Unchanged since this host read it: current under this epoch too.
            local.epoch = epoch;
            return Ok(Some(value));
        }
        let bytes_key = format!("{}:{id}:{generation:032x}", kind.as_str());
        let shared = self.cache.get(&bytes_key).await.ok().flatten();
        let value = match shared.and_then(|b| serde_json::from_slice::<T>(&b).ok()) {
            Some(value) => Arc::new(value),
            None => {
                let Some(value) = load().await?.map(Arc::new) else { return Ok(None) };
                if let Ok(bytes) = serde_json::to_vec(&*value) {
                    let _ = self.cache.set(&bytes_key, &bytes, kind.ttl()).await;
                }
                value
            }
        };
        let held = Arc::clone(&value) as Arc<dyn Any + Send + Sync>;
        self.keep((kind, id), Local { epoch, generation, expires: now + kind.ttl(), value: held });
        Ok(Some(value))
    }

    /// The record held here, if it was found current under `epoch`.
    fn current<T: Send + Sync + 'static>(&self, kind: Kind, id: Uuid, epoch: u128, now: Instant) -> Option<Arc<T>> {
        let local = self.local.get(&(kind, id))?;
        if local.epoch != epoch || local.expires <= now {
            return None;
        }
        Arc::clone(&local.value).downcast::<T>().ok()
    }

    fn keep(&self, key: (Kind, Uuid), local: Local) {
        if self.local.len() >= LOCAL_CAPACITY {
            let now = Instant::now();
            self.local.retain(|_, l| l.expires > now);
            if self.local.len() >= LOCAL_CAPACITY {
                let drop: Vec<_> = self.local.iter().take(LOCAL_CAPACITY / 10).map(|e| *e.key()).collect();
                for k in drop {
                    self.local.remove(&k);
                }
            }
        }
        self.local.insert(key, local);
    }

    /// A token (generation or epoch) from the shared cache; a missing or
    /// unreadable one is replaced by a fresh one, so whatever was current
    /// under an older token is checked again. `None`: the cache is unreachable.
    async fn token(&self, key: &str) -> Option<u128> {
        let found = self.cache.get(key).await.ok()?;
        if let Some(token) = found.as_deref().and_then(parse) {
            return Some(token);
        }
        let token = fresh();
        self.cache.set(key, token.as_bytes(), GENERATION_TTL).await.ok()?;
        parse(token.as_bytes())
    }

    /// How many records this host holds decoded.
    pub fn held(&self) -> usize {
        self.local.len()
    }
}

impl View {
    pub async fn business(&self, id: BusinessId) -> StoreResult<Option<Arc<Business>>> {
        self.records.read(self.epoch, Kind::Business, id.0, async || self.records.db.get_business(id).await).await
    }

    pub async fn brand(&self, id: BrandId) -> StoreResult<Option<Arc<Brand>>> {
        self.records.read(self.epoch, Kind::Brand, id.0, async || self.records.db.get_brand(id).await).await
    }

    /// Whether the store, its brand and its business are all active: a
    /// deactivated business or brand stops its stores' counters too.
    pub async fn in_service(&self, store: &Store) -> StoreResult<bool> {
        if !store.is_active || !self.business(store.business_id).await?.is_some_and(|b| b.is_active) {
            return Ok(false);
        }
        Ok(match store.brand_id {
            Some(id) => self.brand(id).await?.is_some_and(|b| b.is_active),
            None => true,
        })
    }

    /// Whether the customer's id stands (was not erased): erasure
    /// invalidates it, so a token issued before the erasure opens nothing
    /// afterwards. An id without a profile yet (a Cognito user's first call)
    /// stands.
    pub async fn customer_stands(&self, id: CustomerId) -> StoreResult<bool> {
        let load = async || {
            let erased = self.records.db.customer_erased(id).await?;
            Ok((!erased).then_some(Standing {}))
        };
        Ok(self.records.read(self.epoch, Kind::Customer, id.0, load).await?.is_some())
    }

    pub async fn store(&self, id: StoreId) -> StoreResult<Option<Arc<Store>>> {
        self.records.read(self.epoch, Kind::Store, id.0, async || self.records.db.get_store(id).await).await
    }

    /// A POS terminal (its key hash and revocation): revocation invalidates.
    pub async fn terminal(&self, id: Uuid) -> StoreResult<Option<Arc<Terminal>>> {
        self.records.read(self.epoch, Kind::Terminal, id, async || self.records.db.get_terminal(id).await).await
    }

    /// The program with its rewards and campaigns (and its POS context, made
    /// once per bundle).
    pub async fn program(&self, id: Uuid) -> StoreResult<Option<Arc<ProgramBundle>>> {
        self.records
            .read(self.epoch, Kind::Program, id, async || {
                let Some(program) = self.records.db.get_program(id).await? else { return Ok(None) };
                let rewards = self.records.db.list_rewards(id).await?;
                let campaigns = self.records.db.list_campaigns(id).await?;
                Ok(Some(ProgramBundle::new(program, rewards, campaigns)))
            })
            .await
    }
}

/// Where a record's generation is kept in the shared cache.
fn generation_key(kind: Kind, id: Uuid) -> String {
    format!("gen:{}:{id}", kind.as_str())
}

fn fresh() -> String {
    Uuid::now_v7().simple().to_string()
}

fn parse(bytes: &[u8]) -> Option<u128> {
    Uuid::try_parse_ascii(bytes).ok().map(|u| u.as_u128())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use stampede_domain::business::NewBusiness;
    use stampede_domain::text::Name;
    use stampede_store::cache::MemoryCache;
    use stampede_store::testing::TestDatabase;

    use super::*;

    /// A shared cache (one per "deployment") that counts its lookups.
    struct Counted {
        inner: MemoryCache,
        gets: AtomicUsize,
    }

    impl Counted {
        fn new() -> Arc<Self> {
            Arc::new(Self { inner: MemoryCache::new(1 << 20), gets: AtomicUsize::new(0) })
        }
        fn gets(&self) -> usize {
            self.gets.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl Cache for Counted {
        async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get(key).await
        }
        async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
            self.inner.set(key, value, ttl).await
        }
        async fn delete(&self, key: &str) -> StoreResult<()> {
            self.inner.delete(key).await
        }
    }

    async fn business(db: &dyn Db, name: &str) -> Business {
        let new =
            NewBusiness { name: Name::parse(name).expect("name"), description: None, tax_id: None, website: None };
        db.create_business(new, None).await.expect("business")
    }

    async fn rename(db: &dyn Db, b: &Business, name: &str) {
        let changed = Business { name: name.to_owned(), ..b.clone() };
        db.save_business(&changed, b.version, None).await.expect("save").expect("found");
    }

    /// Records held and current under the request's epoch cost no lookup
    /// beyond the epoch itself, however many are read.
    #[tokio::test]
    async fn a_request_looks_up_the_shared_cache_once_for_what_it_holds() {
        let test_db = TestDatabase::sqlite();
        let db = test_db.open().await;
        let shared = Counted::new();
        let records = Records::new(Arc::clone(&shared) as Arc<dyn Cache>, Arc::clone(&db));
        let (a, b) = (business(db.as_ref(), "Uno").await, business(db.as_ref(), "Due").await);
        let first = records.view().await;
        first.business(a.id).await.expect("a").expect("found");
        first.business(b.id).await.expect("b").expect("found");

        let before = shared.gets();
        let view = records.view().await;
        assert_eq!(view.business(a.id).await.expect("a").expect("found").name, "Uno");
        assert_eq!(view.business(b.id).await.expect("b").expect("found").name, "Due");
        assert_eq!(shared.gets() - before, 1, "the epoch, and nothing per record");
        assert_eq!(records.held(), 2);
    }

    /// Two hosts share the cache and the database: a change made and
    /// invalidated through one is read by the other's next request, and only
    /// the changed record is read again.
    #[tokio::test]
    async fn a_change_through_one_host_is_seen_by_the_next_request_on_another() {
        let test_db = TestDatabase::sqlite();
        let db = test_db.open().await;
        let shared = Counted::new();
        let host = |c: &Arc<Counted>| Records::new(Arc::clone(c) as Arc<dyn Cache>, Arc::clone(&db));
        let (one, two) = (host(&shared), host(&shared));
        let (a, b) = (business(db.as_ref(), "Uno").await, business(db.as_ref(), "Due").await);
        let seen = two.view().await;
        assert_eq!(seen.business(a.id).await.expect("read").expect("found").name, "Uno");
        seen.business(b.id).await.expect("read").expect("found");

        rename(db.as_ref(), &a, "Uno Nuovo").await;
        one.invalidate(Kind::Business, a.id.0).await;

        let before = shared.gets();
        let after = two.view().await;
        assert_eq!(after.business(a.id).await.expect("read").expect("found").name, "Uno Nuovo");
        // The epoch, a's generation (moved) and its bytes (none: read from the database).
        assert_eq!(shared.gets() - before, 3);
        let before = shared.gets();
        assert_eq!(after.business(b.id).await.expect("read").expect("found").name, "Due");
        assert_eq!(shared.gets() - before, 1, "b's generation only: unchanged, so b is kept");
        // A view begun before the change may still see the old record: it
        // overlapped the write. Nothing begun after it does.
        assert_eq!(two.view().await.business(a.id).await.expect("read").expect("found").name, "Uno Nuovo");
    }

    /// A cache that can be switched off, as Redis in an outage.
    struct Flaky {
        inner: MemoryCache,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl Cache for Flaky {
        async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
            self.check()?;
            self.inner.get(key).await
        }
        async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
            self.check()?;
            self.inner.set(key, value, ttl).await
        }
        async fn delete(&self, key: &str) -> StoreResult<()> {
            self.check()?;
            self.inner.delete(key).await
        }
    }

    impl Flaky {
        fn check(&self) -> StoreResult<()> {
            if self.down.load(Ordering::SeqCst) {
                return Err(stampede_domain::ports::StoreError::Unavailable("down".into()));
            }
            Ok(())
        }
    }

    /// A change made while the shared cache is down is seen during the
    /// outage (records come from the database) and after it (the refused
    /// invalidation is retried once the cache is back), not only when the
    /// other host's copy expires.
    #[tokio::test]
    async fn an_invalidation_refused_in_an_outage_goes_through_when_the_cache_returns() {
        let test_db = TestDatabase::sqlite();
        let db = test_db.open().await;
        let shared = Arc::new(Flaky { inner: MemoryCache::new(1 << 20), down: Default::default() });
        let host = || Records::new(Arc::clone(&shared) as Arc<dyn Cache>, Arc::clone(&db));
        let (one, two) = (host(), host());
        let a = business(db.as_ref(), "Uno").await;
        assert_eq!(two.view().await.business(a.id).await.expect("read").expect("found").name, "Uno");

        shared.down.store(true, Ordering::SeqCst);
        rename(db.as_ref(), &a, "Uno Nuovo").await;
        one.invalidate(Kind::Business, a.id.0).await;
        assert_eq!(two.view().await.business(a.id).await.expect("read").expect("found").name, "Uno Nuovo");

        shared.down.store(false, Ordering::SeqCst);
        assert_eq!(one.retry_pending().await, 0, "taken once the cache is back");
        assert_eq!(two.view().await.business(a.id).await.expect("read").expect("found").name, "Uno Nuovo");
    }

    /// Without a reachable cache, records come from the database.
    #[tokio::test]
    async fn without_the_shared_cache_records_come_from_the_database() {
        struct Down;
        #[async_trait]
        impl Cache for Down {
            async fn get(&self, _: &str) -> StoreResult<Option<Vec<u8>>> {
                Err(stampede_domain::ports::StoreError::Unavailable("down".into()))
            }
            async fn set(&self, _: &str, _: &[u8], _: Duration) -> StoreResult<()> {
                Err(stampede_domain::ports::StoreError::Unavailable("down".into()))
            }
            async fn delete(&self, _: &str) -> StoreResult<()> {
                Ok(())
            }
        }
        let test_db = TestDatabase::sqlite();
        let db = test_db.open().await;
        let records = Records::new(Arc::new(Down), Arc::clone(&db));
        let a = business(db.as_ref(), "Uno").await;
        assert_eq!(records.view().await.business(a.id).await.expect("read").expect("found").name, "Uno");
        rename(db.as_ref(), &a, "Uno Nuovo").await;
        assert_eq!(records.view().await.business(a.id).await.expect("read").expect("found").name, "Uno Nuovo");
        assert_eq!(records.held(), 0, "nothing kept that no generation guards");
    }
}
