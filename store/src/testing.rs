//! Helpers for tests (this crate's, the API's and the bench's): a fresh database
//! per test. PostgreSQL tests create a new database named `stampede_test_<uuid>` on
//! the server at `PG_TEST_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drop it when the guard goes; `scripts/test` also sweeps leftovers.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use stampede_domain::ports::Store;

use crate::{DatabaseBackend, DatabaseOptions, SqliteSync};

pub fn pg_admin_url() -> String {
    std::env::var("PG_TEST_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub options: DatabaseOptions,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = dir.path().join("stampede.db").display().to_string();
        Self { options: options(DatabaseBackend::Sqlite, url), pg_name: None, _dir: Some(dir) }
    }

    /// A new, empty PostgreSQL database.
    pub async fn postgres() -> Self {
        let admin = pg_admin_url();
        let name = format!("stampede_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.expect("PostgreSQL at PG_TEST_URL (scripts/test starts it)");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = match admin.rfind('/') {
            Some(i) if !admin[..i].ends_with('/') => format!("{}/{name}", &admin[..i]),
            _ => format!("{admin}/{name}"),
        };
        Self { options: options(DatabaseBackend::Postgres, url), pg_name: Some(name), _dir: None }
    }

    pub async fn fresh(backend: DatabaseBackend) -> Self {
        match backend {
            DatabaseBackend::Sqlite => Self::sqlite(),
            DatabaseBackend::Postgres => Self::postgres().await,
        }
    }

    /// Open (and migrate) it.
    pub async fn open(&self) -> Arc<dyn Store> {
        crate::open(&self.options).await.expect("open test database")
    }
}

fn options(backend: DatabaseBackend, url: String) -> DatabaseOptions {
    DatabaseOptions {
        backend,
        url,
        max_connections: 5,
        min_connections: 1,
        connect_timeout: Duration::from_secs(5),
        migrate: true,
        sqlite_sync: SqliteSync::Normal,
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Best effort, on a thread of its own: Drop may run inside a runtime.
        let admin = pg_admin_url();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}
