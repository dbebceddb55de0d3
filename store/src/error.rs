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

/// Whether an error code says "try again": the database is busy, short of a
/// resource, restarting or unreachable, not refusing this data. Everything
/// else a commit meets (a constraint, a value it cannot store) fails the same
/// way every time, so the card runtime isolates that operation instead of
/// retrying it. PostgreSQL's SQLSTATEs are five characters; SQLite's
/// (extended) result codes are numbers of at most four digits.
fn is_transient(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if code.len() == 5 {
        // connection exception, transaction rollback (serialization,
        // deadlock), insufficient resources, operator intervention (admin
        // shutdown, query cancelled), system error, lock not available
        return ["08", "40", "53", "57", "58"].iter().any(|class| code.starts_with(class)) || code == "55P03";
    }
    // BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL and their extended codes.
    code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14 | 15))
}

#[cfg(test)]
mod tests {
    use super::is_transient;

    #[test]
    fn transient_codes() {
        for code in ["40001", "40P01", "57P01", "57014", "53300", "08006", "55P03", "5", "517", "6", "10", "266", "13"]
        {
            assert!(is_transient(Some(code)), "{code}");
        }
        // check violation, invalid text (NUL), not-null; SQLite CONSTRAINT_CHECK, TOOBIG
        for code in ["23514", "22P05", "22021", "23502", "275", "18", "1"] {
            assert!(!is_transient(Some(code)), "{code}");
        }
        assert!(!is_transient(None));
    }
}
