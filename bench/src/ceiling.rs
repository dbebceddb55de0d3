//! Ceilings, measured in the same run as the engines, so a reader sees how
//! far from the machine's limits the runtime is:
//!
//! - the HTTP ceiling: the same generator and connections against
//!   `GET /healthz`, which touches no database (`Step::health_only`);
//! - the database's ceiling for the ledger's rows: rows shaped like
//!   `transactions` (same columns, defaults and indexes, in a scratch table)
//!   inserted straight from the harness in batches, one transaction per
//!   batch, no server in between.

use std::time::Instant;

use serde::Serialize;
use sqlx::{Connection, Executor};
use stampede_store::testing::TestDatabase;
use stampede_store::{DatabaseBackend, DatabaseOptions};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct DbCeiling {
    pub database: String,
    pub rows: u64,
    pub batch: usize,
    pub secs: f64,
    pub rows_per_s: f64,
}

/// Insert `rows` ledger-shaped rows in batches of `batch` into a fresh,
/// migrated database of `backend`.
pub async fn database(backend: DatabaseBackend, rows: usize, batch: usize) -> anyhow::Result<DbCeiling> {
    let db = TestDatabase::fresh(backend).await;
    drop(stampede_store::open(&db.options).await?);
    let secs = match backend {
        DatabaseBackend::Postgres => postgres(&db.options, rows, batch).await?,
        DatabaseBackend::Sqlite => sqlite(&db.options, rows, batch).await?,
    };
    let name = match backend {
        DatabaseBackend::Postgres => "PostgreSQL",
        DatabaseBackend::Sqlite => "SQLite",
    };
    Ok(DbCeiling { database: name.into(), rows: rows as u64, batch, secs, rows_per_s: rows as f64 / secs })
}

/// One batch's values: ids, cards, customers, and the one business and
/// program of the run.
struct Batch {
    ids: Vec<Uuid>,
    cards: Vec<Uuid>,
    customers: Vec<Uuid>,
}

fn batch(n: usize) -> Batch {
    Batch {
        ids: (0..n).map(|_| Uuid::now_v7()).collect(),
        cards: (0..n).map(|_| Uuid::new_v4()).collect(),
        customers: (0..n).map(|_| Uuid::new_v4()).collect(),
    }
}

async fn postgres(db: &DatabaseOptions, rows: usize, size: usize) -> anyhow::Result<f64> {
    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
    conn.execute(
        "CREATE TABLE loyalty.bench_ceiling (LIKE loyalty.transactions INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)",
    )
    .await?;
    let (business, program) = (Uuid::new_v4(), Uuid::new_v4());
    let batches: Vec<Batch> = (0..rows.div_ceil(size)).map(|i| batch(size.min(rows - i * size))).collect();
    let started = Instant::now();
    for b in &batches {
        sqlx::query(
            "INSERT INTO loyalty.bench_ceiling
                 (id, card_id, customer_id, business_id, program_id, program_version, kind, stamps_delta,
                  balance_after, created_at)
             SELECT id, card, customer, $4, $5, 1, 'stamps', 1, 1, now()
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) AS u(id, card, customer)",
        )
        .bind(&b.ids)
        .bind(&b.cards)
        .bind(&b.customers)
        .bind(business)
        .bind(program)
        .execute(&mut conn)
        .await?;
    }
    let secs = started.elapsed().as_secs_f64();
    conn.execute("DROP TABLE loyalty.bench_ceiling").await?;
    Ok(secs)
}

async fn sqlite(db: &DatabaseOptions, rows: usize, size: usize) -> anyhow::Result<f64> {
    let path = db.url.trim_start_matches("sqlite://");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .foreign_keys(false);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    // The ledger's table and its indexes, renamed.
    let ddl: Vec<(String,)> =
        sqlx::query_as("SELECT sql FROM sqlite_master WHERE tbl_name = 'transactions' AND sql IS NOT NULL")
            .fetch_all(&mut conn)
            .await?;
    for (sql,) in ddl {
        conn.execute(sqlx::AssertSqlSafe(sql.replace("transactions", "bench_ceiling"))).await?;
    }
    let (business, program) = (Uuid::new_v4(), Uuid::new_v4());
    let batches: Vec<Batch> = (0..rows.div_ceil(size)).map(|i| batch(size.min(rows - i * size))).collect();
    let now = chrono::Utc::now();
    let started = Instant::now();
    for b in &batches {
        // One multi-row statement per batch, as PostgreSQL's UNNEST: a
        // statement per row would measure sqlx's hop to its SQLite thread.
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO bench_ceiling (id, card_id, customer_id, business_id, program_id, program_version, kind,
                 stamps_delta, balance_after, created_at) ",
        );
        insert.push_values(0..b.ids.len(), |mut row, i| {
            row.push_bind(b.ids[i])
                .push_bind(b.cards[i])
                .push_bind(b.customers[i])
                .push_bind(business)
                .push_bind(program)
                .push("1, 'stamps', 1, 1")
                .push_bind(now);
        });
        insert.build().execute(&mut conn).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    conn.execute("DROP TABLE bench_ceiling").await?;
    Ok(secs)
}

/// `GET /healthz` at `rate` for `secs` over the fleet's connections: what
/// the generator and HTTP alone reach on this machine.
pub async fn http(
    shared: &std::sync::Arc<crate::load::Shared>,
    t: &crate::run::Target<'_>,
    rate: f64,
    secs: u64,
) -> anyhow::Result<crate::load::StepResult> {
    let counters = crate::run::DbCounters::connect(t.db).await;
    let step =
        crate::load::Step { health_only: true, ..crate::load::Step::new(rate, std::time::Duration::from_secs(secs)) };
    // Once to open the connections, once measured.
    crate::run::measured_step(shared, t, &counters, crate::load::Load::default(), step).await?;
    Ok(crate::run::measured_step(shared, t, &counters, crate::load::Load::default(), step).await?.result)
}
