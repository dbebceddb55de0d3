//! The transaction path on PostgreSQL: a group commit is one call of the
//! server-side function `loyalty.commit_batch` (migration 0010), with the
//! batch as arrays, whatever its size: one round trip, one transaction.
//!
//! The function (1) inserts the idempotency records; a key already stored
//! raises, so nothing is written, and the batch is tried again without those
//! operations and what depends on them; (2) takes stocked rewards' units, likewise;
//! (3) updates every card with its check (one row per card: the state after
//! its last operation, checked against the version before its first and the
//! entry that made it, migration 0017);
//! (4) drops the idempotency records of cards whose check failed; (5) inserts
//! the ledger rows and outbox rows of what is left; (6) adds what is left, if
//! the commit counts it, to the daily analytics (migration 0012).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, Row};
use stampede_domain::analytics::{DailyDelta, is_visit};
use stampede_domain::card::{Card, TxKind};
use stampede_domain::ids::{BusinessId, CardId, CustomerId, StoreId};
use stampede_domain::ledger::{
    CommitOp, CommitOutcome, IdempotencyRecord, LedgerEntry, OutboxEvent, PendingEvent, Stock,
};
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{LedgerRepo, StoreError, StoreResult};
use uuid::Uuid;

use super::PgStore;
use crate::error;
use crate::ledger_common::{Attempt, Retry, decide_groups, entry_metadata, split_metadata};

pub(super) const ENTRY: &str =
    "SELECT id, card_id, customer_id, business_id, store_id, program_id, program_version, kind,
    stamps_delta, points_delta, counts, balance_after, amount_minor, currency, reward_id, reverses_id, terminal_id,
    staff_id, metadata, created_at FROM loyalty.transactions";

pub(super) fn entry_from_row(row: &PgRow) -> Result<LedgerEntry, sqlx::Error> {
    let counts: String = row.try_get("counts")?;
    let points = counts == "points";
    let delta: i64 = if points { row.try_get("points_delta")? } else { row.try_get("stamps_delta")? };
    let kind: String = row.try_get("kind")?;
    let (campaigns, metadata) = split_metadata(row.try_get::<Json<serde_json::Value>, _>("metadata")?.0);
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        card_id: CardId(row.try_get("card_id")?),
        customer_id: CustomerId(row.try_get("customer_id")?),
        business_id: BusinessId(row.try_get("business_id")?),
        store_id: row.try_get::<Option<Uuid>, _>("store_id")?.map(StoreId),
        program_id: row.try_get("program_id")?,
        program_version: row.try_get("program_version")?,
        kind: TxKind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(format!("kind {kind}").into()))?,
        delta,
        points,
        balance_after: row.try_get("balance_after")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        reward_id: row.try_get("reward_id")?,
        reverses_id: row.try_get("reverses_id")?,
        terminal_id: row.try_get("terminal_id")?,
        staff_id: row.try_get("staff_id")?,
        campaigns,
        metadata,
        created_at: row.try_get("created_at")?,
    })
}

/// A batch on `conn`: attempts until every operation committed or was
/// dropped (keys already stored, rewards out of stock, version conflicts).
async fn commit_on(conn: &mut PgConnection, ops: &[CommitOp]) -> StoreResult<Vec<CommitOutcome>> {
    let mut retry = Retry::new(ops.len());
    loop {
        let idx = retry.live();
        if idx.is_empty() {
            break;
        }
        let live: Vec<&CommitOp> = idx.iter().map(|&i| &ops[i]).collect();
        let started = std::time::Instant::now();
        let attempt = write_ops(conn, &live).await?;
        // A slow commit holds up every request behind it.
        let took = started.elapsed();
        if took > SLOW_COMMIT {
            tracing::info!(commit_ms = took.as_secs_f64() * 1e3, ops = live.len(), "slow group commit");
        }
        if retry.record(ops, &idx, attempt) {
            break;
        }
    }
    Ok(retry.finish())
}

/// A group-commit writer's own connection: no pool acquire and release (and
/// the ping sqlx sends on every release) per batch, and its socket is polled
/// by the writer's runtime, which opened it, not by whichever runtime opened
/// the pool's. Opened at the first batch; a connection that broke is dropped
/// and the next batch opens another.
pub struct PgCommitter {
    options: std::sync::Arc<sqlx::postgres::PgConnectOptions>,
    conn: Option<PgConnection>,
}

impl PgCommitter {
    pub fn new(options: std::sync::Arc<sqlx::postgres::PgConnectOptions>) -> Self {
        Self { options, conn: None }
    }

    async fn connection(&mut self) -> StoreResult<&mut PgConnection> {
        if self.conn.is_none() {
            let conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&self.options))
                .await
                .map_err(|_| StoreError::Unavailable("connecting the writer's connection timed out".into()))?
                .map_err(error::other)?;
            if !self.options.get_host().starts_with('/') {
                super::nodelay::set_on_sockets_to(self.options.get_port());
            }
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| StoreError::Unavailable("no connection".into()))
    }
}

/// How long a writer waits to open its connection before failing the batch
/// (503, retried by the caller).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[async_trait]
impl stampede_domain::ports::Committer for PgCommitter {
    async fn commit(&mut self, ops: &[CommitOp]) -> StoreResult<Vec<CommitOutcome>> {
        let result = commit_on(self.connection().await?, ops).await;
        if matches!(result, Err(StoreError::Unavailable(_))) {
            // Broken or in an unknown state: never used again.
            self.conn = None;
        }
        result
    }
}

/// A group commit slower than this is logged with where its time went.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(20);

/// The SQLSTATEs `loyalty.commit_batch` raises, with the positions of the
/// operations to drop in the message: keys already stored, rewards out of stock.
const DUPLICATE_KEYS: &str = "ZD001";
const OUT_OF_STOCK: &str = "ZS001";

/// The batch, as one call of `loyalty.commit_batch` (migrations 0010, 0017): one round
/// trip, in the caller's transaction or, from the pool, in its own.
async fn write_ops(conn: &mut PgConnection, ops: &[&CommitOp]) -> StoreResult<Attempt> {
    let now = Utc::now();
    let keyed: Vec<(usize, &CommitOp, &IdempotencyRecord)> =
        ops.iter().enumerate().filter_map(|(i, op)| op.idempotency.as_ref().map(|r| (i, *op, r))).collect();
    // Stock changes by operation: `i` takes a unit, `-(i + 1)` gives one back.
    let stocked: Vec<(i32, Uuid)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op.stock? {
            Stock::Take(r) => Some((i as i32, r)),
            Stock::Return(r) => Some((-(i as i32) - 1, r)),
        })
        .collect();
    let groups = decide_groups(ops);
    let e: Vec<&LedgerEntry> = ops.iter().map(|op| &op.entry).collect();
    let a: Vec<Option<DailyDelta>> = ops.iter().map(|op| op.counted.then(|| DailyDelta::of_entry(&op.entry))).collect();
    let o: Vec<&OutboxEvent> = ops.iter().filter_map(|op| op.outbox.as_ref()).collect();
    let answer: Result<Vec<Uuid>, sqlx::Error> = sqlx::query_scalar(
        "SELECT * FROM loyalty.commit_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
             $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36,
             $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51)",
    )
    // keyed operations
    .bind(keyed.iter().map(|(i, _, _)| *i as i32).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, op, _)| op.card.card_id.0).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, r)| r.scope.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, r)| r.key.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, r)| r.fingerprint.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, r)| r.status as i16).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, r)| r.body.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, r)| r.expires_at).collect::<Vec<_>>())
    // stocked rewards
    .bind(stocked.iter().map(|(i, _)| *i).collect::<Vec<_>>())
    .bind(stocked.iter().map(|(_, r)| *r).collect::<Vec<_>>())
    // one row per card: the state its first operation expects, its last state
    .bind(groups.iter().map(|g| g.card_id.0).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| g.expected_version).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| g.last.new_version).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| if g.last.points { 0 } else { g.last.balance }).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| if g.last.points { g.last.balance } else { 0 }).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| serde_json::to_value(&g.last.book).unwrap_or_default()).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| g.last.next_expiry_at).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| g.expected_entry).collect::<Vec<_>>())
    .bind(groups.iter().map(|g| g.last_entry).collect::<Vec<_>>())
    // one row per operation
    .bind(ops.iter().map(|op| op.card.card_id.0).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.card_id.0).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.customer_id.0).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.business_id.0).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.store_id.map(|s| s.0)).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.program_id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.program_version).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.kind.as_str().to_owned()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| if x.points { 0 } else { x.delta }).collect::<Vec<_>>())
    .bind(e.iter().map(|x| if x.points { x.delta } else { 0 }).collect::<Vec<_>>())
    .bind(e.iter().map(|x| if x.points { "points" } else { "stamps" }.to_owned()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.balance_after).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.amount_minor).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.currency.clone()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.reward_id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.reverses_id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.terminal_id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.staff_id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| entry_metadata(x)).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.created_at).collect::<Vec<_>>())
    // what each adds to the analytics, if the commit counts it
    .bind(a.iter().map(Option::is_some).collect::<Vec<_>>())
    .bind(a.iter().map(|d| d.as_ref().map_or(now.date_naive(), |d| d.day)).collect::<Vec<_>>())
    .bind(a.iter().map(|d| d.as_ref().map_or(0, |d| d.stamps_issued)).collect::<Vec<_>>())
    .bind(a.iter().map(|d| d.as_ref().map_or(0, |d| d.points_earned)).collect::<Vec<_>>())
    .bind(a.iter().map(|d| d.as_ref().map_or(0, |d| d.rewards_redeemed)).collect::<Vec<_>>())
    .bind(e.iter().map(|x| is_visit(x.kind)).collect::<Vec<_>>())
    // the outbox rows
    .bind(o.iter().map(|x| x.event_id).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.card_id.map(|c| c.0)).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.topic.clone()).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.payload.clone()).collect::<Vec<_>>())
    .bind(now)
    .fetch_all(&mut *conn)
    .await;
    match answer {
        Ok(updated) => Ok(Ok(updated.into_iter().map(CardId).collect())),
        Err(sqlx::Error::Database(db)) => {
            let why = match db.code().as_deref() {
                Some(DUPLICATE_KEYS) => CommitOutcome::Duplicate,
                Some(OUT_OF_STOCK) => CommitOutcome::OutOfStock,
                _ => return Err(error::other(sqlx::Error::Database(db))),
            };
            let drops = positions(db.message(), ops.len()).ok_or_else(|| {
                StoreError::Other(format!("loyalty.commit_batch named positions it was not given: {:?}", db.message()))
            })?;
            Ok(Err(drops.into_iter().map(|i| (i, why)).collect()))
        }
        Err(e) => Err(error::other(e)),
    }
}

/// The positions in a `commit_batch` exception's message (`"0,3,4"`), each
/// below `n`; `None` if it is not such a list.
fn positions(message: &str, n: usize) -> Option<Vec<usize>> {
    let out: Option<Vec<usize>> = message.split(',').map(|p| p.trim().parse().ok().filter(|&i| i < n)).collect();
    out.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::positions;

    #[test]
    fn an_exception_names_positions_in_the_batch() {
        assert_eq!(positions("0,3,4", 5), Some(vec![0, 3, 4]));
        assert_eq!(positions("2", 3), Some(vec![2]));
        assert_eq!(positions("3", 3), None, "past the batch");
        assert_eq!(positions("", 3), None);
        assert_eq!(positions("duplicate key value", 3), None);
    }
}

fn idempotency_from_row(row: &PgRow) -> StoreResult<IdempotencyRecord> {
    let status: i16 = row.try_get("status").map_err(error::other)?;
    Ok(IdempotencyRecord {
        scope: row.try_get("scope").map_err(error::other)?,
        key: row.try_get("key").map_err(error::other)?,
        fingerprint: row.try_get("fingerprint").map_err(error::other)?,
        status: status as u16,
        body: row.try_get("body").map_err(error::other)?,
        expires_at: row.try_get("expires_at").map_err(error::other)?,
    })
}

#[async_trait]
impl LedgerRepo for PgStore {
    async fn commit_batch(&self, ops: &[CommitOp]) -> StoreResult<Vec<CommitOutcome>> {
        let mut conn = self.pool().acquire().await.map_err(error::other)?;
        commit_on(&mut conn, ops).await
    }

    fn committer(&self) -> Option<Box<dyn stampede_domain::ports::Committer>> {
        Some(Box::new(PgCommitter::new(self.pool().connect_options())))
    }

    async fn get_idempotency(&self, scope: &str, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT scope, key, fingerprint, status, body, expires_at FROM loyalty.idempotency
             WHERE scope = $1 AND key = $2 AND expires_at > $3",
        )
        .bind(scope)
        .bind(key)
        .bind(Utc::now())
        .fetch_optional(self.pool())
        .await
        .map_err(error::other)?;
        row.as_ref().map(idempotency_from_row).transpose()
    }

    async fn get_entry(&self, id: Uuid) -> StoreResult<Option<LedgerEntry>> {
        let sql = format!("{ENTRY} WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(entry_from_row).transpose().map_err(error::other)
    }

    async fn is_cancelled(&self, id: Uuid) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM loyalty.transactions WHERE reverses_id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(error::other)?;
        Ok(n > 0)
    }

    async fn card_entries(&self, card: CardId, page: PageRequest) -> StoreResult<Page<LedgerEntry>> {
        self.entries_page(Owner::Card, card.0, page).await
    }

    async fn cards_due_for_expiry(&self, at: DateTime<Utc>, limit: i64) -> StoreResult<Vec<CardId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM loyalty.cards WHERE next_expiry_at IS NOT NULL AND next_expiry_at <= $1
             ORDER BY next_expiry_at LIMIT $2",
        )
        .bind(at)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        Ok(ids.into_iter().map(CardId).collect())
    }

    async fn pending_outbox(&self, limit: i64) -> StoreResult<Vec<PendingEvent>> {
        let rows = sqlx::query(
            "SELECT seq, event_id, card_id, topic, payload, attempts FROM loyalty.outbox
             ORDER BY seq LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter()
            .map(|row| -> Result<PendingEvent, sqlx::Error> {
                Ok(PendingEvent {
                    seq: row.try_get("seq")?,
                    attempts: row.try_get("attempts")?,
                    event: OutboxEvent {
                        event_id: row.try_get("event_id")?,
                        card_id: row.try_get::<Option<Uuid>, _>("card_id")?.map(CardId),
                        topic: row.try_get("topic")?,
                        payload: row.try_get::<Json<serde_json::Value>, _>("payload")?.0,
                    },
                })
            })
            .collect::<Result<_, _>>()
            .map_err(error::other)
    }

    async fn delete_delivered(&self, seqs: &[i64]) -> StoreResult<()> {
        sqlx::query("DELETE FROM loyalty.outbox WHERE seq = ANY($1)")
            .bind(seqs)
            .execute(self.pool())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn mark_attempted(&self, seqs: &[i64]) -> StoreResult<()> {
        sqlx::query("UPDATE loyalty.outbox SET attempts = attempts + 1 WHERE seq = ANY($1)")
            .bind(seqs)
            .execute(self.pool())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn outbox_backlog(&self) -> StoreResult<i64> {
        // Two ends of the primary key, not a count: a count scans a table
        // that churns a row per write.
        sqlx::query_scalar("SELECT coalesce(max(seq) - min(seq) + 1, 0) FROM loyalty.outbox")
            .fetch_one(self.pool())
            .await
            .map_err(error::other)
    }

    async fn run_locked(
        &self,
        card: CardId,
        idempotency: Option<(String, String)>,
        decide: Box<dyn FnOnce(Option<Card>, Option<IdempotencyRecord>) -> Option<CommitOp> + Send>,
    ) -> StoreResult<Option<CommitOutcome>> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let sql = format!("{} WHERE c.id = $1 FOR UPDATE", super::cards::CARD);
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(card.0).fetch_optional(&mut *tx).await.map_err(error::other)?;
        let current = row.as_ref().map(super::cards::card_from_row).transpose().map_err(error::other)?;
        let stored = match &idempotency {
            Some((scope, key)) => sqlx::query(
                "SELECT scope, key, fingerprint, status, body, expires_at FROM loyalty.idempotency
                 WHERE scope = $1 AND key = $2 AND expires_at > $3",
            )
            .bind(scope)
            .bind(key)
            .bind(Utc::now())
            .fetch_optional(&mut *tx)
            .await
            .map_err(error::other)?
            .map(|row| idempotency_from_row(&row))
            .transpose()?,
            None => None,
        };
        let Some(op) = decide(current, stored) else { return Ok(None) };
        let outcome = match write_ops(&mut tx, &[&op]).await? {
            Ok(updated) if updated.contains(&op.card.card_id) => CommitOutcome::Committed,
            Ok(_) => CommitOutcome::Conflict,
            Err(drops) => drops.first().map(|d| d.1).unwrap_or(CommitOutcome::Duplicate),
        };
        if outcome == CommitOutcome::Committed {
            tx.commit().await.map_err(error::other)?;
        }
        Ok(Some(outcome))
    }

    async fn card_reversals(&self, card: CardId) -> StoreResult<Vec<Uuid>> {
        sqlx::query_scalar(
            "SELECT reverses_id FROM loyalty.transactions WHERE card_id = $1 AND reverses_id IS NOT NULL",
        )
        .bind(card.0)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM loyalty.idempotency WHERE expires_at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(error::other)?;
        Ok(done.rows_affected())
    }
}

/// Whose ledger a page is of.
#[derive(Clone, Copy)]
pub(super) enum Owner {
    Card,
    Customer,
}

impl PgStore {
    /// A page of a card's or a customer's ledger, newest first (both columns
    /// are indexed).
    pub(super) async fn entries_page(
        &self,
        owner: Owner,
        id: Uuid,
        page: PageRequest,
    ) -> StoreResult<Page<LedgerEntry>> {
        // Static column names only: the id and the cursor are bound.
        let column = match owner {
            Owner::Card => "card_id",
            Owner::Customer => "customer_id",
        };
        let sql = format!("{ENTRY} WHERE {column} = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(page.after)
            .bind(page.fetch_limit())
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        let items = rows.iter().map(entry_from_row).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        Ok(Page::from_rows(items, page, |e| e.id))
    }
}
