//! The group commit on SQLite, run straight on the writer connection's handle.
//!
//! sqlx runs every SQLite statement on the connection's own thread, so each
//! statement is a round trip between two threads (two wake-ups, tens of
//! microseconds of scheduler time) around a few microseconds of SQLite work. A
//! batch (`BEGIN`, four statements, `COMMIT`) paid for six of them on the one
//! writer connection that every write in the process queues for.
//!
//! Here the caller locks the writer connection once (`lock_handle`, one round
//! trip) and runs the whole batch on its own thread through rusqlite, on the
//! same `sqlite3` handle: `BEGIN IMMEDIATE`, one prepared statement per step
//! run once per row, `COMMIT`. It blocks the calling thread for the batch's
//! SQLite work and its one fsync; the group-commit writers, its only caller in
//! the server, run on a thread of their own for that reason.
//!
//! Values are encoded exactly as sqlx encodes them for SQLite (UUIDs as 16-byte
//! blobs, times as RFC 3339 text with `SecondsFormat::AutoSi`, JSON as text), so
//! everything else reads these rows as it always did; the contract tests read
//! them back through sqlx.

use std::collections::HashSet;
use std::ptr::NonNull;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use stampede_domain::analytics::{DailyDelta, is_visit};
use stampede_domain::ledger::{CommitOp, CommitOutcome, Stock};
use uuid::Uuid;

use crate::ledger_common::{Attempt, decide_groups, entry_metadata};
use crate::tally::{ADD_TO_ROW, Tally};

/// A time as sqlx writes it.
fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A date as sqlx writes it.
fn date(d: NaiveDate) -> String {
    d.format("%F").to_string()
}

/// A UUID as sqlx writes it.
fn id(u: Uuid) -> [u8; 16] {
    *u.as_bytes()
}

/// Wrap a handle the caller holds locked. The returned connection does not
/// close the handle when dropped (its prepared statements are finalized).
#[expect(unsafe_code, reason = "rusqlite over the handle sqlx owns; see the SAFETY note")]
fn borrow(handle: NonNull<rusqlite::ffi::sqlite3>) -> rusqlite::Result<Connection> {
    // SAFETY: the handle is open and stays open while the caller holds sqlx's
    // `LockedSqliteHandle`, which also keeps sqlx's worker thread off it; the
    // connection made here is dropped before the caller releases that lock
    // (`write_batch` owns it), and `from_handle` never closes the handle.
    unsafe { Connection::from_handle(handle.as_ptr()) }
}

/// One attempt at a batch, committed if it went through (`Ok`), rolled back
/// if some operations must be dropped first (`Err`, as `Attempt` says).
pub(super) fn write_batch(handle: NonNull<rusqlite::ffi::sqlite3>, ops: &[&CommitOp]) -> rusqlite::Result<Attempt> {
    let mut conn = borrow(handle)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let written = write_ops(&tx, ops)?;
    if written.is_ok() {
        tx.commit()?;
    } // else dropping `tx` rolls back
    Ok(written)
}

/// The same statements inside a transaction the caller opened on the handle
/// (the naive engine's locked transaction), which the caller ends.
pub(super) fn write_in_transaction(
    handle: NonNull<rusqlite::ffi::sqlite3>,
    ops: &[&CommitOp],
) -> rusqlite::Result<Attempt> {
    write_ops(&borrow(handle)?, ops)
}

fn write_ops(tx: &Connection, ops: &[&CommitOp]) -> rusqlite::Result<Attempt> {
    let now = time(Utc::now());

    // (1) Idempotency records: a key already stored drops its operation (and
    // what its card did after it); of two operations of one batch with the
    // same key, the first one stores it.
    let mut dups = Vec::new();
    {
        let mut insert = tx.prepare(
            "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (scope, key) DO NOTHING",
        )?;
        for (i, op) in ops.iter().enumerate() {
            let Some(r) = &op.idempotency else { continue };
            let n = insert.execute(params![
                r.scope,
                r.key,
                r.fingerprint,
                i64::from(r.status),
                r.body,
                now,
                time(r.expires_at)
            ])?;
            if n == 0 {
                dups.push((i, CommitOutcome::Duplicate));
            }
        }
    }
    if !dups.is_empty() {
        return Ok(Err(dups));
    }

    // Stock, one unit per operation on a stocked reward, in order. Statements
    // a batch may not need are prepared only when it does: each preparation
    // parses its SQL again, on the one thread every group commit runs on.
    let mut out = Vec::new();
    if ops.iter().any(|op| op.stock.is_some()) {
        let mut take = tx.prepare("UPDATE rewards SET stock = stock - 1 WHERE id = ?1 AND stock > 0")?;
        let mut give_back = tx.prepare("UPDATE rewards SET stock = stock + 1 WHERE id = ?1 AND stock IS NOT NULL")?;
        for (i, op) in ops.iter().enumerate() {
            match op.stock {
                Some(Stock::Take(reward)) if take.execute(params![id(reward)])? == 0 => {
                    out.push((i, CommitOutcome::OutOfStock));
                }
                Some(Stock::Return(reward)) => {
                    give_back.execute(params![id(reward)])?;
                }
                _ => {}
            }
        }
    }
    if !out.is_empty() {
        return Ok(Err(out));
    }

    // (2) One row per card, checked against the state its first operation saw:
    // its version and the entry that made it (`IS`: none before the first).
    let mut updated = HashSet::new();
    {
        let mut update = tx.prepare(
            "UPDATE cards SET stamps = ?2, points = ?3, state = ?4, version = ?5, next_expiry_at = ?6,
                 updated_at = ?7, last_entry_id = ?9
             WHERE id = ?1 AND version = ?8 AND last_entry_id IS ?10",
        )?;
        for g in decide_groups(ops) {
            let (stamps, points) = if g.last.points { (0, g.last.balance) } else { (g.last.balance, 0) };
            let book =
                serde_json::to_string(&g.last.book).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
            let n = update.execute(params![
                id(g.card_id.0),
                stamps,
                points,
                book,
                g.last.new_version,
                g.last.next_expiry_at.map(time),
                now,
                g.expected_version,
                id(g.last_entry),
                g.expected_entry.map(id)
            ])?;
            if n == 1 {
                updated.insert(g.card_id);
            }
        }
    }

    // (3) Conflicted cards keep no idempotency record.
    let conflicted: Vec<_> =
        ops.iter().filter(|op| !updated.contains(&op.card.card_id)).filter_map(|op| op.idempotency.as_ref()).collect();
    if !conflicted.is_empty() {
        let mut forget = tx.prepare("DELETE FROM idempotency WHERE scope = ?1 AND key = ?2")?;
        for r in conflicted {
            forget.execute(params![r.scope, r.key])?;
        }
    }

    // (4) Ledger and outbox rows of what committed (outbox rows only for the
    // operations that have one).
    let mut ledger = tx.prepare(
        "INSERT INTO transactions (id, card_id, customer_id, business_id, store_id, program_id,
             program_version, kind, stamps_delta, points_delta, counts, balance_after, amount_minor, currency,
             reward_id, reverses_id, terminal_id, staff_id, metadata, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?;
    let committed: Vec<&CommitOp> = ops.iter().copied().filter(|op| updated.contains(&op.card.card_id)).collect();
    for op in &committed {
        let x = &op.entry;
        ledger.execute(params![
            id(x.id),
            id(x.card_id.0),
            id(x.customer_id.0),
            id(x.business_id.0),
            x.store_id.map(|s| id(s.0)),
            id(x.program_id),
            x.program_version,
            x.kind.as_str(),
            if x.points { 0 } else { x.delta },
            if x.points { x.delta } else { 0 },
            if x.points { "points" } else { "stamps" },
            x.balance_after,
            x.amount_minor,
            x.currency,
            x.reward_id.map(id),
            x.reverses_id.map(id),
            x.terminal_id.map(id),
            x.staff_id.map(id),
            entry_metadata(x).to_string(),
            time(x.created_at)
        ])?;
    }
    if committed.iter().any(|op| op.outbox.is_some()) {
        let mut outbox = tx.prepare(
            "INSERT INTO outbox (event_id, card_id, topic, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for o in committed.iter().filter_map(|op| op.outbox.as_ref()) {
            outbox.execute(params![id(o.event_id), o.card_id.map(|c| id(c.0)), o.topic, o.payload.to_string(), now])?;
        }
    }
    count_in_analytics(tx, &committed)?;
    Ok(Ok(updated))
}

/// (5) What the committed operations the commit counts add to the daily
/// analytics, as the analytics processor counts them: each customer active
/// once per row and day, new once per business, one upsert per row.
fn count_in_analytics(tx: &Connection, committed: &[&CommitOp]) -> rusqlite::Result<()> {
    let counted: Vec<(DailyDelta, bool)> = committed
        .iter()
        .filter(|op| op.counted)
        .map(|op| (DailyDelta::of_entry(&op.entry), is_visit(op.entry.kind)))
        .collect();
    if counted.is_empty() {
        return Ok(());
    }
    let mut tally = Tally::of(counted.iter().map(|(d, visit)| (d, *visit)));
    if !tally.active.is_empty() {
        let mut active = tx.prepare(
            "INSERT INTO daily_customers (business_id, store_id, program_id, day, customer_id)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?;
        let mut fresh = Vec::new();
        for &((business, store, program, day), customer) in &tally.active {
            if active.execute(params![id(business), id(store), id(program), date(day), id(customer)])? == 1 {
                fresh.push((business, store, program, day));
            }
        }
        fresh.into_iter().for_each(|key| tally.counted_active(key));
        let mut first = tx.prepare(
            "INSERT INTO first_seen (business_id, customer_id, day) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?;
        let mut new = Vec::new();
        for (&(business, customer), key) in &tally.firsts {
            if first.execute(params![id(business), id(customer), date(key.3)])? == 1 {
                new.push((business, customer));
            }
        }
        new.into_iter().for_each(|(business, customer)| tally.counted_new(business, customer));
    }
    let mut upsert = tx.prepare(&format!(
        "INSERT INTO daily_aggregates AS a
             (business_id, store_id, program_id, day, stamps_issued, points_earned, rewards_redeemed,
              active_customers, new_customers)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) {ADD_TO_ROW}"
    ))?;
    for (&(business, store, program, day), s) in &tally.sums {
        upsert.execute(params![
            id(business),
            id(store),
            id(program),
            date(day),
            s.stamps,
            s.points,
            s.redeemed,
            s.active,
            s.new
        ])?;
    }
    Ok(())
}
