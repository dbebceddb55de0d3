//! Memory per card: activate N cards (SQLite, seeded here) and measure the
//! RSS growth with every card an active actix actor, park them all (their
//! state stays in memory as idle cards) and measure again, then drop them
//! all and measure once more.
//!
//! `cargo run --release -p stampede-actors --example actor_memory -- 200000`
//! activates each card with a command that changes nothing (an `Expire` with
//! nothing due): the card state alone. With `stamp` after the count, each card
//! takes one idempotent stamp instead (a POS sale): its actor then also keeps
//! the answer for retries until the card is quiet for `answers_for` (30 s),
//! and the key itself for the `seen` window; RSS is measured with the answers
//! and again after they are dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_actors::{
    ActorEngine, CardEngine, CardRequest, EntryMeta, IdempotencyInput, ProgramContext, RuntimeConfig, RuntimeMetrics,
};
use stampede_domain::access::Place;
use stampede_domain::card::{AtStore, Command};
use stampede_domain::ids::{BusinessId, CardId, StoreId};
use stampede_domain::program::{ProgramRules, StampRules};
use stampede_store::testing::TestDatabase;
use uuid::Uuid;

fn rss_kib() -> u64 {
    stampede_actors::memory::resident_kib()
}

fn render(e: &stampede_domain::ledger::LedgerEntry) -> (u16, Vec<u8>) {
    // About the size of the API's answer to a sale (~450 bytes of JSON).
    (201, serde_json::to_vec(&serde_json::json!({ "transaction": e })).unwrap_or_default())
}

fn per_actor(from: u64, to: u64, n: usize) -> f64 {
    (to.saturating_sub(from) * 1024) as f64 / n as f64
}

/// The allocator's bytes in use, in KiB (0 where it cannot tell).
fn heap_kib() -> u64 {
    stampede_actors::memory::heap_in_use().map(|b| b as u64 / 1024).unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let stamp = std::env::args().nth(2).as_deref() == Some("stamp");
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    let program = Uuid::now_v7();
    let business = Uuid::now_v7();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&db.options.url))
        .await?;
    let now = chrono::Utc::now();
    sqlx::query("INSERT INTO businesses (id, name, created_at, updated_at) VALUES ($1, 'b', $2, $2)")
        .bind(business)
        .bind(now)
        .execute(&pool)
        .await?;
    sqlx::query("INSERT INTO programs (id, business_id, kind, name, rules, created_at, updated_at) VALUES ($1, $2, 'stamps', 'p', '{}', $3, $3)")
        .bind(program)
        .bind(business)
        .bind(now)
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    let mut cards = Vec::with_capacity(n);
    for i in 0..n {
        let (c, card) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO customers (id, email, name, joined_at, updated_at) VALUES ($1, $2, 'n', $3, $3)")
            .bind(c)
            .bind(format!("m{i}@x"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO cards (id, program_id, customer_id, business_id, code, stamps, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 3, '{\"lots\":[{\"earned_at\":\"2026-11-26T00:00:00Z\",\"expires_at\":null,\"remaining\":3}]}', $6, $6)")
            .bind(card)
            .bind(program)
            .bind(c)
            .bind(business)
            .bind(format!("C{i}"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        cards.push(CardId(card));
    }
    tx.commit().await?;
    let rules = ProgramRules::Stamps(StampRules {
        stamps_per_reward: 10,
        max_stamps_per_visit: 5,
        min_purchase_minor: None,
        currency: None,
        min_interval_secs: 0,
        daily_cap: None,
        expiry_days: None,
    });
    let ctx = Arc::new(ProgramContext {
        program_id: program,
        version: 1,
        rules,
        campaigns: Vec::new(),
        reward_costs: Vec::new(),
    });
    // The runtime's default; the first figure below is "with answers" only if
    // activating takes less than this (200k stamps take ~20 s here).
    let answers_for = RuntimeConfig::default().answers_for;
    // Actors stay active until told to park: the first figure is theirs.
    let config =
        RuntimeConfig { max_actors: n * 2, answers_for, active_grace: Duration::from_secs(3600), ..Default::default() };
    let engine = ActorEngine::start(Arc::clone(&store), config, RuntimeMetrics::new());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, heap_before) = (rss_kib(), heap_kib());
    print_largest_mappings("before activating");
    let started = Instant::now();
    // An Expire with nothing due is refused: it activates the card and changes nothing.
    let mut handles = Vec::new();
    for chunk in cards.chunks(1000) {
        for &card in chunk {
            let (e, ctx) = (Arc::clone(&engine), Arc::clone(&ctx));
            handles.push(tokio::spawn(async move {
                let at = chrono::Utc::now();
                let (command, idempotency) = if stamp {
                    let place = Place::store(BusinessId(business), None, StoreId::new());
                    let store = AtStore { place, tz: chrono_tz::Tz::UTC, at };
                    let key = IdempotencyInput {
                        scope: "t:memory".into(),
                        key: Uuid::now_v7().to_string(),
                        fingerprint: vec![7; 32],
                        ttl: Duration::from_secs(86_400),
                    };
                    (Command::IssueStamps { store, count: 1, purchase_minor: None }, Some(key))
                } else {
                    (Command::Expire { at }, None)
                };
                let req = CardRequest {
                    card_id: card,
                    program: ctx,
                    command,
                    meta: EntryMeta::default(),
                    idempotency,
                    render,
                    at,
                    card_hint: None,
                };
                let _ = e.execute(req).await;
            }));
        }
        for h in handles.drain(..) {
            let _ = h.await;
        }
    }
    let took = started.elapsed();
    if stamp && took >= answers_for {
        println!("(activating took longer than answers_for: the first actors have dropped their answers already)");
    }
    let (active, heap_active) = (rss_kib(), heap_kib());
    println!(
        "activated {} cards, {} actors running ({}) in {:.1} s: RSS {} → {} KiB, {:.0} bytes per active card \
         (heap in use {:.0} bytes per card)",
        engine.active_actors(),
        engine.running_actors(),
        if stamp { "one idempotent stamp each" } else { "no change" },
        took.as_secs_f64(),
        before,
        active,
        per_actor(before, active, n),
        per_actor(heap_before, heap_active, n)
    );
    // Quiet for longer than `answers_for`: the sweeper tells them to drop their answers.
    tokio::time::sleep(answers_for + Duration::from_secs(4)).await;
    let (quiet, heap_quiet) = (rss_kib(), heap_kib());
    println!(
        "quiet for {} s: RSS {} KiB, {:.0} bytes per active card (heap in use {:.0} bytes per card)",
        (answers_for + Duration::from_secs(4)).as_secs(),
        quiet,
        per_actor(before, quiet, n),
        per_actor(heap_before, heap_quiet, n)
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while engine.running_actors() > 0 && Instant::now() < deadline {
        // Each call tells at most 20,000, as the runtime's own sweeps do.
        engine.park_all();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The runtime hands memory back a second after the weight stops falling.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (parked, heap_parked) = (rss_kib(), heap_kib());
    println!(
        "parked: {} cards in memory, {} actors running: RSS {} KiB, {:.0} bytes per idle card \
         (heap in use {:.0} bytes per card)",
        engine.active_actors(),
        engine.running_actors(),
        parked,
        per_actor(before, parked, n),
        per_actor(heap_before, heap_parked, n)
    );
    engine.passivate_all();
    let deadline = Instant::now() + Duration::from_secs(120);
    while engine.active_actors() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Each call tells at most 20,000, as the runtime's own sweeps do.
        engine.passivate_all();
    }
    // The runtime hands memory back a second after the count stops falling;
    // with a million actors, giving back 1.5 GiB takes a few seconds more.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (after, heap_after) = (rss_kib(), heap_kib());
    println!(
        "after dropping them: {} cards, RSS {} KiB ({:+.1}% of the RSS before activation); \
         heap in use {} → {} KiB",
        engine.active_actors(),
        after,
        (after as f64 / before as f64 - 1.0) * 100.0,
        heap_before,
        heap_after
    );
    print_largest_mappings("after passivating");
    Ok(())
}

/// The mappings holding the most resident memory, from `/proc/self/smaps`:
/// what stays resident after passivating, and whose it is (a thread's malloc
/// arena is an anonymous mapping at a 64 MiB boundary).
fn print_largest_mappings(label: &str) {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let mut maps: Vec<(u64, &str)> = Vec::new();
    let mut mapping = "";
    for line in smaps.lines() {
        // A mapping's header starts with its address range ("7f…-7f… rw-p …");
        // its fields ("Rss:        12 kB") follow.
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            mapping = line;
        } else if let Some(kib) = line.strip_prefix("Rss:") {
            maps.push((kib.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0), mapping));
        }
    }
    maps.sort_by_key(|m| std::cmp::Reverse(m.0));
    println!("{label}: the largest resident mappings");
    for (kib, m) in maps.iter().take(6) {
        println!("  {kib:>8} KiB  {}", m.split_whitespace().collect::<Vec<_>>().join(" "));
    }
}
