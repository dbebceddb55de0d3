//! The migrations of `migrations/postgres` and `migrations/sqlite`, embedded so the
//! binary migrates a database from anywhere (without sqlx's `macros` feature,
//! which would compile the drivers a second time).
//!
//! Adding a migration: put `NNNN_name.sql` in the folder of each database whose
//! schema it changes (both, for tables; 0010 and 0012, a server-side function, are
//! PostgreSQL's alone) and add a line to its list below. A test checks that the
//! lists and the folders agree.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQL) for PostgreSQL.
pub const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, "identity", include_str!("../../migrations/postgres/0002_identity.sql")),
    (3, "admin", include_str!("../../migrations/postgres/0003_admin.sql")),
    (4, "runtime", include_str!("../../migrations/postgres/0004_runtime.sql")),
    (5, "workers", include_str!("../../migrations/postgres/0005_workers.sql")),
    (6, "history_is_the_ledger", include_str!("../../migrations/postgres/0006_history_is_the_ledger.sql")),
    (7, "outbox_keeps_only_pending", include_str!("../../migrations/postgres/0007_outbox_keeps_only_pending.sql")),
    (8, "lean_outbox", include_str!("../../migrations/postgres/0008_lean_outbox.sql")),
    (9, "outbox_without_delivered_at", include_str!("../../migrations/postgres/0009_outbox_without_delivered_at.sql")),
    (10, "commit_batch_function", include_str!("../../migrations/postgres/0010_commit_batch_function.sql")),
    (11, "durable_queues", include_str!("../../migrations/postgres/0011_durable_queues.sql")),
    (12, "analytics_in_the_commit", include_str!("../../migrations/postgres/0012_analytics_in_the_commit.sql")),
    (13, "leaner_writes", include_str!("../../migrations/postgres/0013_leaner_writes.sql")),
    (
        14,
        "cancelled_redemptions_return_stock",
        include_str!("../../migrations/postgres/0014_cancelled_redemptions_return_stock.sql"),
    ),
    (
        15,
        "invitations_and_audit_outbox",
        include_str!("../../migrations/postgres/0015_invitations_and_audit_outbox.sql"),
    ),
    (16, "consent_per_business", include_str!("../../migrations/postgres/0016_consent_per_business.sql")),
    (17, "cards_name_their_last_entry", include_str!("../../migrations/postgres/0017_cards_name_their_last_entry.sql")),
    (18, "second_factors", include_str!("../../migrations/postgres/0018_second_factors.sql")),
    (19, "mailings", include_str!("../../migrations/postgres/0019_mailings.sql")),
    (20, "phone_lookup", include_str!("../../migrations/postgres/0020_phone_lookup.sql")),
];

/// (version, description, SQL) for SQLite.
pub const SQLITE: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../../migrations/sqlite/0001_initial.sql")),
    (2, "identity", include_str!("../../migrations/sqlite/0002_identity.sql")),
    (3, "admin", include_str!("../../migrations/sqlite/0003_admin.sql")),
    (4, "runtime", include_str!("../../migrations/sqlite/0004_runtime.sql")),
    (5, "workers", include_str!("../../migrations/sqlite/0005_workers.sql")),
    (6, "history_is_the_ledger", include_str!("../../migrations/sqlite/0006_history_is_the_ledger.sql")),
    (7, "outbox_keeps_only_pending", include_str!("../../migrations/sqlite/0007_outbox_keeps_only_pending.sql")),
    (8, "lean_outbox", include_str!("../../migrations/sqlite/0008_lean_outbox.sql")),
    (9, "outbox_without_delivered_at", include_str!("../../migrations/sqlite/0009_outbox_without_delivered_at.sql")),
    (11, "durable_queues", include_str!("../../migrations/sqlite/0011_durable_queues.sql")),
    (13, "leaner_writes", include_str!("../../migrations/sqlite/0013_leaner_writes.sql")),
    (15, "invitations_and_audit_outbox", include_str!("../../migrations/sqlite/0015_invitations_and_audit_outbox.sql")),
    (16, "consent_per_business", include_str!("../../migrations/sqlite/0016_consent_per_business.sql")),
    (17, "cards_name_their_last_entry", include_str!("../../migrations/sqlite/0017_cards_name_their_last_entry.sql")),
    (18, "second_factors", include_str!("../../migrations/sqlite/0018_second_factors.sql")),
    (19, "mailings", include_str!("../../migrations/sqlite/0019_mailings.sql")),
    (20, "phone_lookup", include_str!("../../migrations/sqlite/0020_phone_lookup.sql")),
];

pub(crate) fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = list
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(dir);
        let mut names: Vec<String> = std::fs::read_dir(path)
            .expect("migrations folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    fn expected(list: &[(i64, &str, &str)]) -> Vec<String> {
        list.iter().map(|(v, d, _)| format!("{v:04}_{d}.sql")).collect()
    }

    #[test]
    fn embedded_lists_match_the_folders() {
        assert_eq!(files("postgres"), expected(POSTGRES));
        assert_eq!(files("sqlite"), expected(SQLITE));
    }

    /// SQLite cannot change a table's storage in place: 0013 copies
    /// `daily_customers` and `first_seen` into `WITHOUT ROWID` tables. A
    /// database that already counted customers keeps every row, and the keys
    /// still refuse a second count.
    #[tokio::test]
    async fn sqlite_tables_rebuilt_without_rowid_keep_their_rows() {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        let dir = tempfile::tempdir().expect("dir");
        let opts = SqliteConnectOptions::new().filename(dir.path().join("upgrade.db")).create_if_missing(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.expect("open");
        let at = SQLITE.iter().position(|m| m.0 == 13).expect("0013");
        migrator(&SQLITE[..at]).run(&pool).await.expect("migrate to 0011");
        let (business, store, program) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let customers: Vec<uuid::Uuid> = (0..5).map(|_| uuid::Uuid::now_v7()).collect();
        for (i, c) in customers.iter().enumerate() {
            sqlx::query("INSERT INTO daily_customers VALUES (?1, ?2, ?3, ?4, ?5)")
                .bind(business)
                .bind(store)
                .bind(program)
                .bind(format!("2026-12-0{}", 1 + i % 2))
                .bind(c)
                .execute(&pool)
                .await
                .expect("daily customer");
            sqlx::query("INSERT INTO first_seen VALUES (?1, ?2, '2026-12-01')")
                .bind(business)
                .bind(c)
                .execute(&pool)
                .await
                .expect("first seen");
        }
        migrator(SQLITE).run(&pool).await.expect("migrate past 0013");
        for table in ["daily_customers", "first_seen"] {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .expect("count");
            assert_eq!(n, 5, "{table} kept its rows");
            let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = ?1")
                .bind(table)
                .fetch_one(&pool)
                .await
                .expect("schema");
            assert!(sql.contains("WITHOUT ROWID"), "{table}: {sql}");
        }
        let again = sqlx::query("INSERT INTO first_seen VALUES (?1, ?2, '2026-12-02') ON CONFLICT DO NOTHING")
            .bind(business)
            .bind(customers[0])
            .execute(&pool)
            .await
            .expect("insert");
        assert_eq!(again.rows_affected(), 0, "a customer is new to a business once");
    }

    /// 0016 turns the one global marketing consent into a consent to each
    /// business whose card the customer held: a yes stays a yes where it was
    /// given, goes nowhere else, and an erased customer's goes nowhere.
    #[tokio::test]
    async fn sqlite_a_global_consent_becomes_consent_to_each_business_held() {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        let dir = tempfile::tempdir().expect("dir");
        let opts = SqliteConnectOptions::new().filename(dir.path().join("upgrade.db")).create_if_missing(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.expect("open");
        let at = SQLITE.iter().position(|m| m.0 == 16).expect("0016");
        migrator(&SQLITE[..at]).run(&pool).await.expect("migrate to 0015");
        let now = "2026-12-01T00:00:00Z";
        let id = uuid::Uuid::now_v7;
        let (b1, b2, b3) = (id(), id(), id());
        for (b, name) in [(b1, "One"), (b2, "Two"), (b3, "Three")] {
            sqlx::query("INSERT INTO businesses (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)")
                .bind(b)
                .bind(name)
                .bind(now)
                .execute(&pool)
                .await
                .expect("business");
        }
        let (p1, p1b, p2, p3) = (id(), id(), id(), id());
        for (p, b) in [(p1, b1), (p1b, b1), (p2, b2), (p3, b3)] {
            sqlx::query(
                "INSERT INTO programs (id, business_id, kind, name, rules, created_at, updated_at)
                 VALUES (?1, ?2, 'stamps', 'P', '{}', ?3, ?3)",
            )
            .bind(p)
            .bind(b)
            .bind(now)
            .execute(&pool)
            .await
            .expect("program");
        }
        let (yes, no, erased) = (id(), id(), id());
        for (c, consent, deleted) in [(yes, 1, None), (no, 0, None), (erased, 1, Some(now))] {
            sqlx::query(
                "INSERT INTO customers (id, email, name, joined_at, updated_at, marketing_consent, deleted_at)
                 VALUES (?1, ?2, 'C', ?3, ?3, ?4, ?5)",
            )
            .bind(c)
            .bind(format!("{}@x.test", c.simple()))
            .bind(now)
            .bind(consent)
            .bind(deleted)
            .execute(&pool)
            .await
            .expect("customer");
        }
        // `yes` holds two cards of business one and one of two; nobody's of three.
        for (c, p, b) in [(yes, p1, b1), (yes, p1b, b1), (yes, p2, b2), (no, p1, b1), (erased, p3, b3)] {
            sqlx::query(
                "INSERT INTO cards (id, program_id, customer_id, business_id, code, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )
            .bind(id())
            .bind(p)
            .bind(c)
            .bind(b)
            .bind(id().simple().to_string())
            .bind(now)
            .execute(&pool)
            .await
            .expect("card");
        }
        migrator(SQLITE).run(&pool).await.expect("migrate past 0016");
        let mut consents: Vec<(uuid::Uuid, uuid::Uuid, bool)> =
            sqlx::query_as("SELECT customer_id, business_id, marketing FROM consents")
                .fetch_all(&pool)
                .await
                .expect("read");
        consents.sort();
        let mut want = vec![(yes, b1, true), (yes, b2, true)];
        want.sort();
        assert_eq!(consents, want);
        let gone = sqlx::query("SELECT marketing_consent FROM customers").fetch_all(&pool).await;
        assert!(gone.is_err(), "the global column is dropped");
    }
}
