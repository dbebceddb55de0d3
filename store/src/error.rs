//! Mapping driver errors onto the domain's [`StoreError`], so nothing above the
//! adapters sees SQL.

use stampede_domain::ports::StoreError;

/// Map a sqlx error. `unique` names the conflict for the caller (e.g. `email`)
/// when a uniqueness constraint fails.
pub(crate) fn map(err: sqlx::Error, unique: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(unique),
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::Database(db) if is_transient(db.code().as_deref()) => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Other(err.to_string()),
    }
}

/// Shorthand for queries with no uniqueness rule of interest.
pub(crate) fn other(err: sqlx::Error) -> StoreError {
    map(err, "record")
}

/// Map an error of the direct SQLite path (`sqlite::direct`), by the same
/// rules: busy or locked is transient, the rest is an internal error.
pub(crate) fn sqlite_direct(err: rusqlite::Error) -> StoreError {
    let code = err.sqlite_error().map(|e| e.extended_code.to_string());
    if is_transient(code.as_deref()) {
        StoreError::Unavailable(err.to_string())
    } else {
        StoreError::Other(err.to_string())
    }
}

/// SQLSTATEs (PostgreSQL) and result codes (SQLite) that say "try again".
fn is_transient(code: Option<&str>) -> bool {
    matches!(
        code,
        // serialization failure, deadlock, admin shutdown, cannot connect now
        Some("40001" | "40P01" | "57P01" | "57P03")
        // SQLITE_BUSY, SQLITE_LOCKED and their extended codes
        | Some("5" | "6" | "517" | "261" | "262")
    )
}
