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
];

pub(crate) fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
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
}
