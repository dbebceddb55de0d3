//! The engines against a real store (SQLite file and PostgreSQL), driven
//! directly: concurrency, pipelining on one card, passivation.

use std::sync::Arc;
use std::time::Duration;

use stampede_actors::{
    ActorEngine, CardEngine, CardReply, CardRequest, EntryMeta, IdempotencyInput, NaiveEngine, ProgramContext,
    RuntimeConfig, RuntimeError, RuntimeMetrics,
};
use stampede_domain::access::Place;
use stampede_domain::business::NewBusiness;
use stampede_domain::card::{AtStore, Command};
use stampede_domain::customer::NewCustomer;
use stampede_domain::email::Email;
use stampede_domain::ids::{CardId, StoreId};
use stampede_domain::ledger::LedgerEntry;
use stampede_domain::ports::Store;
use stampede_domain::program::{Program, ProgramRules, StampRules};
use stampede_domain::text::Name;
use stampede_store::DatabaseBackend;
use stampede_store::testing::TestDatabase;
use uuid::Uuid;

fn render(e: &LedgerEntry) -> (u16, Vec<u8>) {
    (201, serde_json::to_vec(&serde_json::json!({"id": e.id, "balance": e.balance_after})).unwrap_or_default())
}

struct World {
    store: Arc<dyn Store>,
    program: Arc<ProgramContext>,
    cards: Vec<CardId>,
    db: TestDatabase,
}

async fn world(backend: DatabaseBackend, n: usize) -> World {
    let db = TestDatabase::fresh(backend).await;
    let store = db.open().await;
    let b = store
        .create_business(
            NewBusiness { name: Name::parse("B").expect("n"), description: None, tax_id: None, website: None },
            None,
        )
        .await
        .expect("business");
    let rules = ProgramRules::Stamps(StampRules {
        stamps_per_reward: 10,
        max_stamps_per_visit: 5,
        min_purchase_minor: None,
        currency: None,
        min_interval_secs: 0,
        daily_cap: None,
        expiry_days: None,
    });
    let now = chrono::Utc::now();
    let p = Program {
        id: Uuid::now_v7(),
        business_id: b.id,
        name: "P".into(),
        description: None,
        rules: rules.clone(),
        availability: Default::default(),
        version: 1,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    store.create_program(&p, None).await.expect("program");
    let mut cards = Vec::new();
    for i in 0..n {
        let c = store
            .create_customer(NewCustomer {
                id: None,
                email: Email::parse(&format!("c{i}@x.test")).expect("e"),
                name: Name::parse("C").expect("n"),
                phone: None,
                password_hash: None,
            })
            .await
            .expect("customer");
        cards.push(store.join_program(p.id, b.id, c.id, &format!("C{i}")).await.expect("join").0.id);
    }
    let program = Arc::new(ProgramContext {
        program_id: p.id,
        version: 1,
        rules,
        campaigns: Vec::new(),
        reward_costs: Vec::new(),
    });
    World { store, program, cards, db }
}

fn stamp(w: &World, card: CardId, key: Option<String>) -> CardRequest {
    let now = stampede_domain::ledger::now();
    let place = Place::store(stampede_domain::ids::BusinessId::new(), None, StoreId::new());
    CardRequest {
        card_id: card,
        program: Arc::clone(&w.program),
        command: Command::IssueStamps {
            store: AtStore { place, tz: chrono_tz::Tz::UTC, at: now },
            count: 1,
            purchase_minor: None,
        },
        meta: EntryMeta::default(),
        idempotency: key.map(|k| IdempotencyInput {
            scope: "t:x".into(),
            key: k,
            fingerprint: vec![1],
            ttl: Duration::from_secs(86400),
        }),
        render,
        at: now,
        card_hint: None,
    }
}

async fn hot_card(engine: Arc<dyn CardEngine>, w: &World, n: usize) {
    let card = w.cards[0];
    let mut tasks = Vec::new();
    for i in 0..n {
        let (e, req) = (Arc::clone(&engine), stamp(w, card, Some(format!("k{i}"))));
        tasks.push(tokio::spawn(async move { e.execute(req).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(CardReply::Done { status: 201, .. }) => ok += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, n);
    let c = w.store.get_card(card).await.expect("get").expect("card");
    assert_eq!((c.balance, c.version), (n as i64, n as i64));
}

fn config() -> RuntimeConfig {
    RuntimeConfig { writers: 2, max_batch: 100, writer_queue: 10_000, mailbox: 10_000, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_pipeline_a_hot_card_sqlite() {
    let w = world(DatabaseBackend::Sqlite, 1).await;
    let engine = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    hot_card(engine, &w, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_pipeline_a_hot_card_postgres() {
    let w = world(DatabaseBackend::Postgres, 1).await;
    let engine = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    hot_card(engine, &w, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_serialises_a_hot_card_postgres() {
    let w = world(DatabaseBackend::Postgres, 1).await;
    hot_card(NaiveEngine::new(Arc::clone(&w.store), RuntimeMetrics::new()), &w, 100).await;
}

/// Many cards at once: every operation lands on its card exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_spread_over_many_cards() {
    let w = world(DatabaseBackend::Postgres, 50).await;
    let engine: Arc<dyn CardEngine> = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    let mut tasks = Vec::new();
    for round in 0..4 {
        for (i, card) in w.cards.iter().enumerate() {
            let (e, req) = (Arc::clone(&engine), stamp(&w, *card, Some(format!("{round}-{i}"))));
            tasks.push(tokio::spawn(async move { e.execute(req).await }));
        }
    }
    for t in tasks {
        assert!(matches!(t.await.expect("task"), Ok(CardReply::Done { .. })));
    }
    for card in &w.cards {
        assert_eq!(w.store.get_card(*card).await.expect("get").expect("card").balance, 4);
    }
}

/// Idle actors are passivated, and a passivated card comes back with its state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passivation_and_reactivation() {
    let w = world(DatabaseBackend::Sqlite, 3).await;
    let engine = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    for card in &w.cards {
        assert!(matches!(engine.execute(stamp(&w, *card, None)).await, Ok(CardReply::Done { .. })));
    }
    assert_eq!(engine.active_actors(), 3);
    passivate(&engine).await;
    assert!(matches!(engine.execute(stamp(&w, w.cards[0], None)).await, Ok(CardReply::Done { .. })));
    assert_eq!(w.store.get_card(w.cards[0]).await.expect("get").expect("card").balance, 2);
}

/// Park every actor, then drop every idle card (two passes at least: an
/// actor parks when it gets the sweeper's message).
async fn passivate(engine: &ActorEngine) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        engine.passivate_all();
        if engine.active_actors() == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "actors stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An actor started from the caller's copy of the card: a copy that went
/// stale (another commit since) is refused by the version check, the actor
/// reloads and runs the command again, once, on the real state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_card_hint_is_caught_and_retried() {
    let w = world(DatabaseBackend::Sqlite, 1).await;
    let card = w.cards[0];
    let stale = w.store.get_card(card).await.expect("get").expect("card");
    let metrics = RuntimeMetrics::new();
    let engine = ActorEngine::start(Arc::clone(&w.store), config(), metrics.clone());
    assert!(matches!(engine.execute(stamp(&w, card, None)).await, Ok(CardReply::Done { .. })));
    passivate(&engine).await;

    let mut req = stamp(&w, card, Some("hinted".into()));
    req.card_hint = Some(Box::new(stale.clone()));
    let Ok(CardReply::Done { body, replayed: false, .. }) = engine.execute(req).await else {
        panic!("the retry applies the command")
    };
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["balance"], 2, "applied on the committed state, not the stale copy");
    let now = w.store.get_card(card).await.expect("get").expect("card");
    assert_eq!((now.balance, now.version), (2, stale.version + 2));
    assert_eq!((metrics.conflicts.get(), metrics.reruns.get()), (1, 1), "run again by the actor");

    // A fresh copy is used as is: no conflict, one more stamp.
    passivate(&engine).await;
    let mut req = stamp(&w, card, None);
    req.card_hint = Some(Box::new(now));
    assert!(matches!(engine.execute(req).await, Ok(CardReply::Done { .. })));
    assert_eq!(w.store.get_card(card).await.expect("get").expect("card").balance, 3);
}

/// Which transactions are cancelled is read from the store when the first
/// cancellation reaches a (re)started actor: a second cancellation of the same
/// transaction after passivation is refused even if the caller thought it open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_are_remembered_across_passivation() {
    use stampede_domain::card::{Original, Refusal};
    let w = world(DatabaseBackend::Sqlite, 1).await;
    let card = w.cards[0];
    let engine = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    for key in ["s1", "s2"] {
        assert!(matches!(engine.execute(stamp(&w, card, Some(key.into()))).await, Ok(CardReply::Done { .. })));
    }
    let page = w.store.card_entries(card, stampede_domain::page::PageRequest::new(None, Some(10))).await.expect("page");
    let first = page.items.iter().min_by_key(|e| e.created_at).expect("entry").clone();
    let cancel = |key: &str| {
        let mut req = stamp(&w, card, Some(key.into()));
        req.command = Command::Cancel {
            original: Original {
                id: first.id,
                kind: first.kind,
                reward_id: None,
                delta: first.delta,
                created_at: first.created_at,
                already_cancelled: false,
            },
            window: chrono::Duration::hours(1),
            at: chrono::Utc::now(),
        };
        req
    };
    assert!(matches!(engine.execute(cancel("c1")).await, Ok(CardReply::Done { .. })));
    // In the same actor: known in memory.
    assert_eq!(engine.execute(cancel("c2")).await, Ok(CardReply::Refused(Refusal::NotCancellable)));
    // In a new actor: read from the store.
    passivate(&engine).await;
    assert_eq!(engine.execute(cancel("c3")).await, Ok(CardReply::Refused(Refusal::NotCancellable)));
    let after = w.store.get_card(card).await.expect("get").expect("card");
    assert_eq!(after.balance, 1, "two stamps, one cancelled once");
}

/// A hot card under new commands mixed with retries of recent keys: every
/// command is answered (replays included) and none is refused as a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_card_with_retries_has_no_conflicts() {
    let w = world(DatabaseBackend::Postgres, 1).await;
    let engine: Arc<dyn CardEngine> = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    let mut tasks = Vec::new();
    for i in 0..400usize {
        // Every fourth command retries a key sent a little earlier.
        let key = if i % 4 == 3 { format!("k{}", i - 3) } else { format!("k{i}") };
        let (e, req) = (Arc::clone(&engine), stamp(&w, w.cards[0], Some(key)));
        tasks.push(tokio::spawn(async move { e.execute(req).await }));
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut conflicts = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(CardReply::Done { .. }) => {}
            Err(stampede_actors::RuntimeError::Conflict) => conflicts += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(conflicts, 0);
    assert_eq!(w.store.get_card(w.cards[0]).await.expect("get").expect("card").balance, 300);
}

/// Concurrent duplicates (the same key sent twice at once) never reach the
/// database as duplicates: the actor's recent keys answer them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_stay_in_the_actor() {
    let w = world(DatabaseBackend::Postgres, 1).await;
    let metrics = RuntimeMetrics::new();
    let engine: Arc<dyn CardEngine> = ActorEngine::start(Arc::clone(&w.store), config(), metrics.clone());
    let mut tasks = Vec::new();
    for i in 0..300usize {
        for _ in 0..2 {
            let (e, req) = (Arc::clone(&engine), stamp(&w, w.cards[0], Some(format!("d{i}"))));
            tasks.push(tokio::spawn(async move { e.execute(req).await }));
        }
    }
    for t in tasks {
        assert!(matches!(t.await.expect("task"), Ok(CardReply::Done { .. })));
    }
    assert_eq!(w.store.get_card(w.cards[0]).await.expect("get").expect("card").balance, 300);
    assert_eq!(metrics.conflicts.get(), 0, "no duplicate reached the database");
}

/// Run `n` commands on the first card, one after another, with keys
/// `old0`…: their answers, in order.
async fn first_answers(engine: &Arc<dyn CardEngine>, w: &World, n: usize) -> Vec<Vec<u8>> {
    let mut first = Vec::new();
    for i in 0..n {
        match engine.execute(stamp(w, w.cards[0], Some(format!("old{i}")))).await.expect("first run") {
            CardReply::Done { body, .. } => first.push(body),
            other => panic!("unexpected {other:?}"),
        }
    }
    first
}

/// Send at once, alternately, a retry of each key whose first answer is in
/// `first` and a new command (every `twice_every`-th new one sent twice):
/// every retry is a replay of its first answer, every command is answered.
async fn retries_among_new(engine: &Arc<dyn CardEngine>, w: &World, first: &[Vec<u8>], twice_every: Option<usize>) {
    let mut tasks = Vec::new();
    for i in 0..2 * first.len() {
        let key = if i % 2 == 0 { format!("old{}", i / 2) } else { format!("new{i}") };
        let copies = if twice_every.is_some_and(|n| i % (2 * n) == 1) { 2 } else { 1 };
        for _ in 0..copies {
            let (e, req) = (Arc::clone(engine), stamp(w, w.cards[0], Some(key.clone())));
            tasks.push((i, tokio::spawn(async move { e.execute(req).await })));
        }
    }
    for (i, t) in tasks {
        match t.await.expect("task") {
            Ok(CardReply::Done { body, replayed, .. }) if i % 2 == 0 => {
                assert!(replayed, "retry {i} is a replay");
                assert_eq!(body, first[i / 2], "with the first answer");
            }
            Ok(CardReply::Done { .. }) => {}
            other => panic!("command {i}: unexpected {other:?}"),
        }
    }
}

/// Retries of keys far older than the actor's 256 remembered answers (as a
/// client retrying a sale from minutes ago), mixed with new commands on a hot
/// card: each is answered with its first answer from the store, none is
/// applied again, and nothing pipelined behind them conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_of_old_keys_are_answered_without_conflicts() {
    let w = world(DatabaseBackend::Postgres, 1).await;
    let metrics = RuntimeMetrics::new();
    let engine: Arc<dyn CardEngine> = ActorEngine::start(Arc::clone(&w.store), config(), metrics.clone());
    let first = first_answers(&engine, &w, 600).await;
    retries_among_new(&engine, &w, &first[..300], None).await;
    assert_eq!(w.store.get_card(w.cards[0]).await.expect("get").expect("card").balance, 900);
    assert_eq!(metrics.conflicts.get(), 0, "no retry reached the database as a new operation");
}

/// A card that took more keys than its actor remembers (here 50): a retry of
/// a key it dropped would reach the database as a duplicate, and everything
/// pipelined behind it would fail its version check. So while keys dropped
/// for room are still inside the window, a key that may be one of them is
/// looked up first: retries get their first answer, new commands apply once
/// (without a lookup, bar the filter's rare false positive), nothing
/// conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowded_card_looks_unknown_keys_up_first() {
    let w = world(DatabaseBackend::Sqlite, 1).await;
    let metrics = RuntimeMetrics::new();
    let config = RuntimeConfig { recent_keys: 8, seen_keys_max: 50, ..config() };
    let engine: Arc<dyn CardEngine> = ActorEngine::start(Arc::clone(&w.store), config, metrics.clone());
    let first = first_answers(&engine, &w, 200).await;
    // Every tenth new command is also sent twice at once.
    retries_among_new(&engine, &w, &first, Some(10)).await;
    assert_eq!(w.store.get_card(w.cards[0]).await.expect("get").expect("card").balance, 400);
    assert_eq!(metrics.conflicts.get(), 0, "no retry reached the database as a new operation");
    // The 150 keys dropped before the retries came were looked up (and the
    // last 50 old ones, if new keys pushed them out meanwhile); the 200 new
    // keys were not.
    let lookups = metrics.key_lookups.get();
    assert!((150..=210).contains(&lookups), "retries of dropped keys, and only those, were looked up: {lookups}");
}

/// A card that went quiet drops the full answers it kept for retries (memory
/// of idle actors); a retry after that is still a replay of the first answer,
/// now read from the store's idempotency record, and applies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_card_forgets_its_answers_but_not_its_keys() {
    let w = world(DatabaseBackend::Sqlite, 1).await;
    let config = RuntimeConfig { answers_for: Duration::from_secs(1), ..config() };
    let engine = ActorEngine::start(Arc::clone(&w.store), config, RuntimeMetrics::new());
    let card = w.cards[0];
    let first = match engine.execute(stamp(&w, card, Some("k1".into()))).await {
        Ok(CardReply::Done { body, replayed: false, .. }) => body,
        other => panic!("unexpected {other:?}"),
    };
    let second = engine.execute(stamp(&w, card, Some("k2".into()))).await;
    assert!(matches!(second, Ok(CardReply::Done { replayed: false, .. })), "{second:?}");
    // While the card is busy, a retry is answered from the actor's memory:
    // even with k1's stored record gone.
    let far = chrono::Utc::now() + chrono::Duration::days(30);
    assert_eq!(w.store.purge_idempotency(far).await.expect("purge"), 2);
    match engine.execute(stamp(&w, card, Some("k1".into()))).await {
        Ok(CardReply::Done { body, replayed: true, .. }) => assert_eq!(body, first),
        other => panic!("a retry from memory: {other:?}"),
    }
    // Quiet for longer than `answers_for`: the sweeper (once a second) tells
    // the actor to forget. k2 is now recognised as committed, but its answer
    // must come from the store, where it is gone: the actor says so rather than
    // apply k2 again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(engine.active_actors(), 1, "the actor is still active");
    let retry = engine.execute(stamp(&w, card, Some("k2".into()))).await;
    assert!(matches!(retry, Err(stampede_actors::RuntimeError::Unavailable)), "{retry:?}");
    assert_eq!(w.store.get_card(card).await.expect("get").expect("card").balance, 2, "nothing applied twice");
    // With the record in place (the normal case), such a retry replays it.
    let k3 = match engine.execute(stamp(&w, card, Some("k3".into()))).await {
        Ok(CardReply::Done { body, .. }) => body,
        other => panic!("unexpected {other:?}"),
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    match engine.execute(stamp(&w, card, Some("k3".into()))).await {
        Ok(CardReply::Done { body, replayed: true, .. }) => assert_eq!(body, k3),
        other => panic!("a retry from the store: {other:?}"),
    }
    assert_eq!(w.store.get_card(card).await.expect("get").expect("card").balance, 3);
}

/// Commands for a card that does not exist, sent together: every one waits
/// for the actor's read of the card and is answered "not found"; no actor is
/// left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_for_a_missing_card_are_answered_not_found() {
    let w = world(DatabaseBackend::Sqlite, 1).await;
    let engine = ActorEngine::start(Arc::clone(&w.store), config(), RuntimeMetrics::new());
    let missing = CardId(Uuid::now_v7());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (e, req) = (Arc::clone(&engine), stamp(&w, missing, Some(format!("missing-{i}"))));
            tokio::spawn(async move { e.execute(req).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task").err(), Some(stampede_actors::RuntimeError::NotFound));
    }
    // The actor leaves the registry once it answered them.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while engine.active_actors() > 0 {
        assert!(std::time::Instant::now() < deadline, "the missing card's actor leaves");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The real card next to it is served as usual.
    assert!(matches!(engine.execute(stamp(&w, w.cards[0], None)).await, Ok(CardReply::Done { .. })));
}

/// Cold cards asked for together are read many to a query, by id and by
/// code, and each caller gets its own card (or none).
async fn cold_cards_are_read_together(backend: DatabaseBackend) {
    let w = world(backend, 60).await;
    let batches = prometheus_client::metrics::histogram::Histogram::new([1.0, 8.0, 64.0]);
    let reads = stampede_actors::CardReads::start(Arc::clone(&w.store), batches.clone());
    let missing = CardId(Uuid::now_v7());
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..4 {
        for (i, &card) in w.cards.iter().enumerate() {
            let reads = Arc::clone(&reads);
            tasks.spawn(async move {
                let found = match (round + i) % 3 {
                    0 => reads.by_code(&format!("C{i}")).await,
                    _ => reads.by_id(card).await,
                };
                (card, found.expect("read").map(|c| c.id))
            });
        }
        let reads = Arc::clone(&reads);
        tasks.spawn(async move { (missing, reads.by_id(missing).await.expect("read").map(|c| c.id)) });
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        let (asked, got) = done.expect("task");
        let expected = (asked != missing).then_some(asked);
        assert_eq!(got, expected, "each caller its own card, the missing one none");
        answered += 1;
    }
    assert_eq!(answered, 4 * 61);
    let (reads_made, queries) = (observed(&batches, "sum"), observed(&batches, "count"));
    assert_eq!(reads_made, 4 * 61, "every read went through a batch");
    assert!(queries * 4 <= reads_made, "{reads_made} reads took {queries} batches: they were not gathered");
}

/// A histogram's `_sum` or `_count`, as it is exported.
fn observed(h: &prometheus_client::metrics::histogram::Histogram, what: &str) -> u64 {
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register("h", "h", h.clone());
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    let line = text.lines().find(|l| l.starts_with(&format!("h_{what} "))).expect("exported");
    line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).expect("a number") as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_cards_are_read_together_sqlite() {
    cold_cards_are_read_together(DatabaseBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_cards_are_read_together_postgres() {
    cold_cards_are_read_together(DatabaseBackend::Postgres).await;
}

/// Holds the cards table against writes (PostgreSQL) or the database's write
/// lock (SQLite) from another connection until released: a group commit
/// started meanwhile waits, and what the actor sends next gathers for the
/// batch after it.
enum Hold {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Hold {
    async fn take(db: &TestDatabase) -> Self {
        use sqlx::Connection;
        let url = &db.options.url;
        match db.options.backend {
            DatabaseBackend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(url);
                let mut c = sqlx::SqliteConnection::connect_with(&opts).await.expect("connect");
                sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await.expect("write lock");
                Hold::Sqlite(c)
            }
            DatabaseBackend::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
                sqlx::query("BEGIN").execute(&mut c).await.expect("begin");
                // Not the card's row: an update whose version check fails
                // never waits for a row it does not match.
                sqlx::query("LOCK TABLE loyalty.cards IN EXCLUSIVE MODE").execute(&mut c).await.expect("lock");
                Hold::Postgres(c)
            }
        }
    }

    async fn release(self) {
        match self {
            Hold::Sqlite(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(drop).expect("release"),
            Hold::Postgres(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(drop).expect("release"),
        }
    }
}

/// Another process (the naive engine) stamps the card behind its actor's
/// back, then `first` and `second` go to the actor in two batches: the first
/// one's commit waits on a lock while the second is sent.
async fn two_batches_on_a_stale_copy(
    engine: &Arc<ActorEngine>,
    w: &World,
    first: CardRequest,
    second: CardRequest,
) -> (Result<CardReply, RuntimeError>, Result<CardReply, RuntimeError>) {
    let naive = NaiveEngine::new(Arc::clone(&w.store), RuntimeMetrics::new());
    let elsewhere = naive.execute(stamp(w, first.card_id, Some("elsewhere".into()))).await;
    assert!(matches!(elsewhere, Ok(CardReply::Done { .. })), "{elsewhere:?}");
    let hold = Hold::take(&w.db).await;
    let e = Arc::clone(engine);
    let first = tokio::spawn(async move { e.execute(first).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let e = Arc::clone(engine);
    let second = tokio::spawn(async move { e.execute(second).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    hold.release().await;
    (first.await.expect("first"), second.await.expect("second"))
}

/// Another process commits to a card its actor holds (the naive engine
/// here; in production the expiry sweep in Lambda, or a second server), so
/// the card's version moves one past what the actor knows. Two operations
/// the actor then pipelines carry the versions `v` and `v + 1`: the first
/// conflicts, and the second, in a later batch, finds exactly the version it
/// expects. It was computed on top of the first, which never happened, so it
/// must fail too and run again on the card as it is: every balance stays the
/// sum of its ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_computed_on_a_failed_one_never_commit() {
    for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
        let w = world(backend, 1).await;
        let card = w.cards[0];
        let metrics = RuntimeMetrics::new();
        let engine = Arc::new(ActorEngine::start(Arc::clone(&w.store), config(), metrics.clone()));
        assert!(matches!(engine.execute(stamp(&w, card, Some("s1".into()))).await, Ok(CardReply::Done { .. })));
        // Two operations in a row, the first of two stamps, the second of one.
        let mut first = stamp(&w, card, Some("a".into()));
        if let Command::IssueStamps { count, .. } = &mut first.command {
            *count = 2;
        }
        let second = stamp(&w, card, Some("b".into()));
        let (a, b) = two_batches_on_a_stale_copy(&engine, &w, first, second).await;
        assert!(matches!(a, Ok(CardReply::Done { .. })), "{backend:?}: {a:?}");
        assert!(matches!(b, Ok(CardReply::Done { .. })), "{backend:?}: {b:?}");
        assert!(metrics.conflicts.get() >= 1, "{backend:?}: the actor's copy was stale");

        let now = w.store.get_card(card).await.expect("get").expect("card");
        let page =
            w.store.card_entries(card, stampede_domain::page::PageRequest::new(None, Some(10))).await.expect("page");
        let sum: i64 = page.items.iter().map(|e| e.delta).sum();
        assert_eq!((page.items.len(), sum), (4, 5), "{backend:?}: s1, elsewhere, a (2) and b, once each");
        assert_eq!(now.balance, sum, "{backend:?}: the balance is the sum of the ledger");
    }
}

/// Two cancellations (of two transactions) that ran on a stale copy of the
/// card wait for its reload, then run again in order. The first reads which
/// transactions are cancelled; the second waits for that read instead of
/// making its own, whose older answer would have replaced the set and
/// forgotten the first cancellation. A third cancellation of the first
/// transaction is then refused as such, not taken for new (and stopped only
/// by the database's unique index, failing its whole batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_after_a_reload_run_in_order_and_remember_each_other() {
    use stampede_domain::card::{Original, Refusal};
    for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
        let w = world(backend, 1).await;
        let card = w.cards[0];
        let metrics = RuntimeMetrics::new();
        let engine = Arc::new(ActorEngine::start(Arc::clone(&w.store), config(), metrics.clone()));
        for key in ["s1", "s2"] {
            assert!(matches!(engine.execute(stamp(&w, card, Some(key.into()))).await, Ok(CardReply::Done { .. })));
        }
        let page =
            w.store.card_entries(card, stampede_domain::page::PageRequest::new(None, Some(10))).await.expect("page");
        let mut entries = page.items.clone();
        entries.sort_by_key(|e| e.created_at);
        let cancel = |key: &str, e: &LedgerEntry| {
            let mut req = stamp(&w, card, Some(key.into()));
            req.command = Command::Cancel {
                original: Original {
                    id: e.id,
                    kind: e.kind,
                    reward_id: None,
                    delta: e.delta,
                    created_at: e.created_at,
                    already_cancelled: false,
                },
                window: chrono::Duration::hours(1),
                at: chrono::Utc::now(),
            };
            req
        };
        // Both cancellations go out on a stale copy; both fail and wait for
        // the reload.
        let (c1, c2) = (cancel("c1", &entries[0]), cancel("c2", &entries[1]));
        let (first, second) = two_batches_on_a_stale_copy(&engine, &w, c1, c2).await;
        assert!(matches!(first, Ok(CardReply::Done { .. })), "{backend:?}: {first:?}");
        assert!(matches!(second, Ok(CardReply::Done { .. })), "{backend:?}: {second:?}");
        assert!(metrics.reruns.get() >= 2, "{backend:?}: both ran again after the reload");

        assert_eq!(
            engine.execute(cancel("c3", &entries[0])).await,
            Ok(CardReply::Refused(Refusal::NotCancellable)),
            "{backend:?}"
        );
        let page =
            w.store.card_entries(card, stampede_domain::page::PageRequest::new(None, Some(10))).await.expect("page");
        let mut deltas: Vec<i64> = page.items.iter().map(|e| e.delta).collect();
        deltas.sort_unstable();
        assert_eq!(deltas, vec![-1, -1, 1, 1, 1], "{backend:?}: s1, s2, elsewhere, and each cancellation once");
        let now = w.store.get_card(card).await.expect("get").expect("card");
        assert_eq!(now.balance, 1, "{backend:?}: three stamps, two cancelled");
    }
}

/// One operation of card `w.cards[i]`: a stamp, as an actor would prepare it.
async fn prepared_stamp(w: &World, i: usize, key: String) -> stampede_domain::ledger::CommitOp {
    use stampede_actors::prepare::{CardFacts, SideEffects, prepare};
    let card = w.store.get_card(w.cards[i]).await.expect("get").expect("card");
    let req = stamp(w, card.id, Some(key));
    let state = card.state();
    let (mut next, effect) = state.execute(&w.program.rules, &[], &req.command).expect("stamp");
    prepare(&req, CardFacts::of(&card), &state, &mut next, &effect, SideEffects::InCommit { relay_all: false }).op
}

/// A batch of 100 operations, one of them (`bad`) spoiled by `spoil`, sent
/// to one writer at once, so they form one group commit. The spoiled one
/// fails alone, answered `Rejected` for good; the 99 others commit, once.
async fn one_poisoned_in_a_batch(
    w: &World,
    round: usize,
    bad: usize,
    spoil: fn(&mut stampede_domain::ledger::CommitOp),
) {
    use stampede_actors::writer::{Done, WriteFailure, WriteRequest, Writers};
    use stampede_domain::ledger::CommitOutcome;
    let mut ops = Vec::new();
    let mut before = Vec::new();
    for card in &w.cards {
        before.push(w.store.get_card(*card).await.expect("get").expect("card").balance);
    }
    for i in 0..w.cards.len() {
        let mut op = prepared_stamp(w, i, format!("{round}-{i}")).await;
        if i == bad {
            spoil(&mut op);
        }
        ops.push(op);
    }
    let metrics = RuntimeMetrics::new();
    let writers = Writers::start(1, 1_000, 500, Duration::ZERO, Arc::clone(&w.store), metrics.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // No await until all are queued: on this one-threaded runtime the writer
    // cannot start before, and takes all 100 into its first batch.
    for (i, op) in ops.into_iter().enumerate() {
        let tx = tx.clone();
        let done = Done::new(move |result| {
            let _ = tx.send((i, result));
        });
        let queued = writers.for_card(w.cards[i]).try_send(WriteRequest { op, generation: 1, done });
        assert!(queued.is_ok(), "queued");
    }
    drop(tx);
    let mut answers = vec![None; w.cards.len()];
    while let Some((i, result)) = rx.recv().await {
        answers[i] = Some(result);
    }
    for (i, answer) in answers.iter().enumerate() {
        let expected = if i == bad { Err(WriteFailure::Rejected) } else { Ok(CommitOutcome::Committed) };
        assert_eq!(*answer, Some(expected), "operation {i}");
    }
    assert_eq!(metrics.rejected.get(), 1);
    assert!(metrics.commit_failures.get() > 1, "one batch of 100 first, then split down to the bad one");
    for (i, card) in w.cards.iter().enumerate() {
        let c = w.store.get_card(*card).await.expect("get").expect("card");
        let entries = w.store.card_entries(*card, stampede_domain::page::PageRequest::new(None, Some(10))).await;
        let entries = entries.expect("entries").items.len() as i64;
        let expected = before[i] + i64::from(i != bad);
        assert_eq!((c.balance, entries), (expected, expected), "card {i}, round {round}");
    }
}

/// A poisoned operation (one the database refuses, whatever the reason it
/// got this far) fails alone with a definitive answer; the rest of its batch,
/// other cards' operations, commits. On both databases: a card update that
/// breaks a CHECK, and on PostgreSQL text it cannot store (a NUL byte).
#[tokio::test]
async fn a_poisoned_operation_fails_alone() {
    for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
        let w = world(backend, 100).await;
        one_poisoned_in_a_batch(&w, 1, 37, |op| op.card.balance = -1).await;
        if backend == DatabaseBackend::Postgres {
            one_poisoned_in_a_batch(&w, 2, 99, |op| op.entry.metadata = serde_json::json!({"reason": "a\u{0}b"})).await;
        }
    }
}
