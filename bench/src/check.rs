//! The correctness check after a run: the database must hold exactly what was
//! acknowledged. Every card's balance is its starting balance plus its
//! acknowledged deltas; no key applied twice; one ledger row per acknowledged
//! write; the outbox fully delivered to the history store; the in-process
//! queues drained, and nothing buried by them during the run (a buried
//! message is a side effect not done: a count or a mail).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use stampede_domain::ids::CardId;
use stampede_store::{DatabaseBackend, DatabaseOptions};

use crate::load::Shared;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub passed: bool,
    pub acknowledged_writes: usize,
    pub ledger_rows: i64,
    pub cards_checked: usize,
    pub balance_mismatches: usize,
    pub idempotency_violations: u64,
    pub outbox_backlog: i64,
    /// Messages still waiting in the in-process queues, and buried ones (the
    /// latter of the whole database, earlier runs included).
    pub queue_waiting: i64,
    pub queue_buried: i64,
    pub history_rows: i64,
    pub problems: Vec<String>,
}

/// The ledger rows of the run's business, and of the whole database.
async fn ledger_rows(db: &DatabaseOptions, business: uuid::Uuid) -> anyhow::Result<(i64, i64)> {
    Ok(match db.backend {
        DatabaseBackend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&db.url).await?;
            sqlx::query_as("SELECT count(*) FILTER (WHERE business_id = $1), count(*) FROM loyalty.transactions")
                .bind(business)
                .fetch_one(&pool)
                .await?
        }
        DatabaseBackend::Sqlite => {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new().filename(db.url.trim_start_matches("sqlite://")),
                )
                .await?;
            sqlx::query_as("SELECT count(*) FILTER (WHERE business_id = $1), count(*) FROM transactions")
                .bind(business)
                .fetch_one(&pool)
                .await?
        }
    })
}

/// Messages the server's workers have buried, in the whole database: taken
/// before a run, so that its check counts only the run's.
pub async fn buried(db: &DatabaseOptions) -> anyhow::Result<i64> {
    let store = stampede_store::open(&DatabaseOptions { migrate: false, ..db.clone() }).await?;
    Ok(store.queue_depth().await?.1)
}

pub async fn check(shared: &Shared, db: &DatabaseOptions, buried_before: i64) -> anyhow::Result<CheckReport> {
    let store = stampede_store::open(&DatabaseOptions { migrate: false, ..db.clone() }).await?;
    // The relay runs in the server: wait (bounded) for it to catch up.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut backlog = store.outbox_backlog().await?;
    while backlog > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        backlog = store.outbox_backlog().await?;
    }
    // Then for the in-process workers to drain what the relay queued.
    let mut queues = store.queue_depth().await?;
    while queues.0 > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        queues = store.queue_depth().await?;
    }
    // Copy out of the lock: it is never held across an await.
    let (acknowledged, violations, unresolved) = {
        let truth = shared.truth.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        (truth.acknowledged.clone(), truth.idempotency_violations, truth.unresolved.len())
    };
    let mut problems = Vec::new();
    let mut per_card: HashMap<usize, i64> = HashMap::new();
    let mut ids = HashSet::new();
    for (card, delta, id) in acknowledged.values() {
        *per_card.entry(*card).or_default() += delta;
        ids.insert(*id);
    }
    if ids.len() != acknowledged.len() {
        problems.push(format!("{} keys share transactions", acknowledged.len() - ids.len()));
    }
    let mut mismatches = 0;
    for (card, delta) in &per_card {
        let id = CardId(shared.world.cards[*card]);
        let balance = store.get_card(id).await?.map(|c| c.balance).unwrap_or(i64::MIN);
        if balance != shared.world.initial_balance + delta {
            mismatches += 1;
            if mismatches <= 5 {
                problems.push(format!(
                    "card {id}: balance {balance}, acknowledged {} + {delta}",
                    shared.world.initial_balance
                ));
            }
        }
    }
    // This run's rows (a database used before holds other runs' rows too).
    let (rows, all_rows) = ledger_rows(db, shared.world.business).await?;
    if rows != acknowledged.len() as i64 {
        problems.push(format!("{rows} ledger rows for {} acknowledged writes", acknowledged.len()));
    }
    if violations > 0 {
        problems.push(format!("{} keys answered with two different transactions", violations));
    }
    if unresolved > 0 {
        problems.push(format!("{unresolved} writes never got a definitive answer"));
    }
    let history = store.count_history().await?;
    if backlog != 0 {
        problems.push(format!("outbox backlog {backlog} after the run"));
    }
    if queues.0 != 0 {
        problems.push(format!("{} messages still queued after the run", queues.0));
    }
    if queues.1 > buried_before {
        problems.push(format!("{} messages buried during the run", queues.1 - buried_before));
    }
    if history != all_rows {
        problems.push(format!("history store has {history} of {all_rows} transactions"));
    }
    Ok(CheckReport {
        passed: problems.is_empty(),
        acknowledged_writes: acknowledged.len(),
        ledger_rows: rows,
        cards_checked: per_card.len(),
        balance_mismatches: mismatches,
        idempotency_violations: violations,
        outbox_backlog: backlog,
        queue_waiting: queues.0,
        queue_buried: queues.1,
        history_rows: history,
        problems,
    })
}
