//! Opening the system of record from options.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use stampede_domain::ports::Store;

use crate::migrations;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

/// SQLite's `synchronous` pragma. `Full` (the default) fsyncs every commit, so an
/// acknowledged write survives a power cut; `Normal` survives a process crash only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSync {
    Full,
    Normal,
}

/// A pooled PostgreSQL connection idle at least this long is pinged before it
/// is handed out; one used more recently is handed out as it is (HikariCP's
/// default "alive bypass window" is the same 500 ms).
const IDLE_PING: Duration = Duration::from_millis(500);

/// What `open` needs; the binary builds this from its settings.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub backend: DatabaseBackend,
    /// `postgres://…` or a SQLite file path / `sqlite://…` URL.
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL connections opened by `open` and kept (at most `max_connections`).
    pub min_connections: u32,
    pub connect_timeout: Duration,
    pub migrate: bool,
    pub sqlite_sync: SqliteSync,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("database.url is not a valid {backend} URL: {reason}")]
    BadUrl { backend: &'static str, reason: String },
    #[error("cannot reach the database at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("migrating the database failed: {0}")]
    Migrate(String),
}

/// Connect, check the connection, migrate if asked.
pub async fn open(opts: &DatabaseOptions) -> Result<Arc<dyn Store>, OpenError> {
    match opts.backend {
        DatabaseBackend::Postgres => {
            let connect = PgConnectOptions::from_str(&opts.url)
                .map_err(|e| OpenError::BadUrl { backend: "postgres", reason: e.to_string() })?;
            let address =
                format!("{}:{}/{}", connect.get_host(), connect.get_port(), connect.get_database().unwrap_or(""));
            // One direct connection first: the pool would retry until its timeout
            // and then report only "timed out", losing the reason.
            let probe = tokio::time::timeout(opts.connect_timeout, PgConnection::connect_with(&connect)).await;
            match probe {
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                }
                Ok(Err(e)) => return Err(OpenError::Unreachable { address, reason: e.to_string() }),
                Err(_) => {
                    return Err(OpenError::Unreachable { address, reason: "timed out".into() });
                }
            }
            // Over TCP, each new connection gets TCP_NODELAY (`postgres::nodelay`).
            let tcp_port = (!connect.get_host().starts_with('/')).then(|| connect.get_port());
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .min_connections(opts.min_connections.min(opts.max_connections))
                .acquire_timeout(opts.connect_timeout)
                // sqlx pings every idle connection before handing it out by
                // default: a round trip in front of every statement. Only a
                // connection idle for a while is tested (`IDLE_PING`); one that
                // broke while busy fails its statement (a 503 to retry) and is
                // dropped when it comes back, by the ping sqlx makes on release.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= IDLE_PING {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .after_connect(move |_conn, _meta| {
                    Box::pin(async move {
                        if let Some(port) = tcp_port {
                            let n = crate::postgres::nodelay::set_on_sockets_to(port);
                            tracing::debug!(sockets = n, "TCP_NODELAY set on new database connections");
                        }
                        Ok(())
                    })
                })
                .connect_with(connect)
                .await
                .map_err(|e| OpenError::Unreachable { address, reason: e.to_string() })?;
            if opts.migrate {
                migrations::migrator(migrations::POSTGRES)
                    .run(&pool)
                    .await
                    .map_err(|e| OpenError::Migrate(e.to_string()))?;
            }
            Ok(Arc::new(PgStore::new(pool)))
        }
        DatabaseBackend::Sqlite => {
            let url = opts.url.strip_prefix("sqlite://").unwrap_or(&opts.url);
            let path = std::path::Path::new(url);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| OpenError::Unreachable {
                    address: parent.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
            let connect = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(match opts.sqlite_sync {
                    SqliteSync::Full => SqliteSynchronous::Full,
                    SqliteSync::Normal => SqliteSynchronous::Normal,
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let unreachable =
                |e: sqlx::Error| OpenError::Unreachable { address: path.display().to_string(), reason: e.to_string() };
            // One writer connection, created first (it creates the file and
            // migrates), then the read-only readers: see `sqlite/mod.rs`.
            // No ping before each use (sqlx's default): an in-process
            // connection does not break while idle, and each ping is a round
            // trip to the connection's worker thread.
            let writes = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(opts.connect_timeout)
                .test_before_acquire(false)
                .after_connect(|conn, _meta| Box::pin(crate::writes::count_on(conn)))
                // Checkpoints run beside it, not inside its commits.
                .connect_with(connect.clone().pragma("wal_autocheckpoint", "0"))
                .await
                .map_err(unreachable)?;
            // Owner-only; SQLite gives its WAL and shared-memory files the
            // database file's permissions.
            if let Err(e) = crate::private::file(path) {
                tracing::warn!(error = %e, file = %path.display(), "cannot make the database file owner-only");
            }
            if opts.migrate {
                migrations::migrator(migrations::SQLITE)
                    .run(&writes)
                    .await
                    .map_err(|e| OpenError::Migrate(e.to_string()))?;
            }
            let reads = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.connect_timeout)
                .test_before_acquire(false)
                .connect_with(connect.clone().read_only(true))
                .await
                .map_err(unreachable)?;
            let store = SqliteStore::new(reads, writes);
            crate::sqlite::checkpoint::spawn(connect, store.alive());
            Ok(Arc::new(store))
        }
    }
}
