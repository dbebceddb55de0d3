//! The transaction path on SQLite: the same steps as the PostgreSQL adapter
//! (see there), as a loop of prepared statements inside one `BEGIN IMMEDIATE`
//! transaction: SQLite runs in process, so a statement costs microseconds and
//! the commit (one fsync) is what a batch amortises. Written by hand, not
//! generated.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use stampede_domain::card::{Card, TxKind};
use stampede_domain::ids::{BusinessId, CardId, CustomerId, StoreId};
use stampede_domain::ledger::{CommitOp, CommitOutcome, IdempotencyRecord, LedgerEntry, OutboxEvent, PendingEvent};
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{LedgerRepo, StoreResult};
use uuid::Uuid;

use super::SqliteStore;
use crate::error;
use crate::ledger_common::{Attempt, Retry, decide_groups, entry_metadata, split_metadata};

pub(super) const ENTRY: &str =
    "SELECT id, card_id, customer_id, business_id, store_id, program_id, program_version, kind,
    stamps_delta, points_delta, counts, balance_after, amount_minor, currency, reward_id, reverses_id, terminal_id,
    staff_id, metadata, created_at FROM transactions";

pub(super) fn entry_from_row(row: &SqliteRow) -> Result<LedgerEntry, sqlx::Error> {
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

impl SqliteStore {
    /// `set` (with `at` bound after it, if given) `WHERE seq IN (…)`, one
    /// statement per `CHUNK` rows in one transaction. A statement per row held
    /// the one writer connection for a round trip each: a relay pass of a few
    /// hundred rows stalled every group commit behind it for tens of ms.
    async fn update_outbox(&self, set: &'static str, at: Option<DateTime<Utc>>, seqs: &[i64]) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        for chunk in seqs.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(set);
            if let Some(at) = at {
                q.push_bind(at);
            }
            q.push(" WHERE seq IN (");
            let mut list = q.separated(", ");
            for seq in chunk {
                list.push_bind(*seq);
            }
            q.push(")");
            q.build().execute(&mut *tx).await.map_err(error::other)?;
        }
        tx.commit().await.map_err(error::other)
    }

    /// One attempt. `Err(dups)` names operations whose key was already stored.
    async fn try_batch(&self, ops: &[&CommitOp]) -> StoreResult<Attempt> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await.map_err(error::other)?;
        let written = write_ops(&mut tx, ops).await?;
        if written.is_ok() {
            tx.commit().await.map_err(error::other)?;
        }
        Ok(written) // on duplicates, dropping `tx` rolls back
    }
}

/// Take one unit of stock per operation on a stocked reward, in order. The
/// operations that find none left are returned, to be dropped.
async fn take_stock(tx: &mut SqliteConnection, ops: &[&CommitOp]) -> StoreResult<Option<Vec<(usize, CommitOutcome)>>> {
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Some(reward) = op.stock_reward else { continue };
        let done = sqlx::query("UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0")
            .bind(reward)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        if done.rows_affected() == 0 {
            out.push((i, CommitOutcome::OutOfStock));
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Rows per multi-row statement: 20 columns × 400 stays far below SQLite's
/// 32,766 bound parameters.
const CHUNK: usize = 400;

/// The statements of a batch, inside the caller's transaction. Each step is
/// one multi-row statement per `CHUNK` operations, not one per operation: on
/// SQLite every statement is a round trip to the connection's thread, and the
/// one writer connection is what every write in the process queues for, so
/// its time per batch is what bounds throughput.
async fn write_ops(tx: &mut SqliteConnection, ops: &[&CommitOp]) -> StoreResult<Attempt> {
    let now = Utc::now();

    // (1) Idempotency records; a key that comes back was inserted now. Two
    // operations of one batch with the same key: the first one inserted it.
    let keyed: Vec<(usize, &IdempotencyRecord)> =
        ops.iter().enumerate().filter_map(|(i, op)| op.idempotency.as_ref().map(|r| (i, r))).collect();
    let mut inserted: HashSet<(String, String)> = HashSet::new();
    for chunk in keyed.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at, expires_at) ",
        );
        q.push_values(chunk, |mut b, (_, r)| {
            b.push_bind(&r.scope)
                .push_bind(&r.key)
                .push_bind(&r.fingerprint)
                .push_bind(i64::from(r.status))
                .push_bind(&r.body)
                .push_bind(now)
                .push_bind(r.expires_at);
        });
        q.push(" ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key");
        for row in q.build().fetch_all(&mut *tx).await.map_err(error::other)? {
            inserted.insert((row.try_get(0).map_err(error::other)?, row.try_get(1).map_err(error::other)?));
        }
    }
    let dups: Vec<(usize, CommitOutcome)> = keyed
        .iter()
        .filter(|(_, r)| !inserted.remove(&(r.scope.clone(), r.key.clone())))
        .map(|(i, _)| (*i, CommitOutcome::Duplicate))
        .collect();
    if !dups.is_empty() {
        return Ok(Err(dups));
    }
    if let Some(out) = take_stock(tx, ops).await? {
        return Ok(Err(out));
    }

    // (2) One row per card, checked against the version its first operation
    // saw; the ids that come back are the cards that were updated.
    let groups = decide_groups(ops);
    let mut updated = HashSet::new();
    for chunk in groups.chunks(CHUNK) {
        let mut q =
            QueryBuilder::<Sqlite>::new("WITH v (id, expected, stamps, points, state, version, next_expiry_at) AS (");
        q.push_values(chunk, |mut b, g| {
            let (stamps, points) = if g.last.points { (0, g.last.balance) } else { (g.last.balance, 0) };
            b.push_bind(g.card_id.0)
                .push_bind(g.expected_version)
                .push_bind(stamps)
                .push_bind(points)
                .push_bind(Json(&g.last.book))
                .push_bind(g.last.new_version)
                .push_bind(g.last.next_expiry_at);
        });
        q.push(
            ") UPDATE cards SET stamps = v.stamps, points = v.points, state = v.state, version = v.version,
                 next_expiry_at = v.next_expiry_at, updated_at = ",
        );
        q.push_bind(now);
        q.push(" FROM v WHERE cards.id = v.id AND cards.version = v.expected RETURNING cards.id");
        for row in q.build().fetch_all(&mut *tx).await.map_err(error::other)? {
            updated.insert(CardId(row.try_get(0).map_err(error::other)?));
        }
    }

    // (3) Conflicted cards keep no idempotency record (rare: one statement each).
    for op in ops.iter().filter(|op| !updated.contains(&op.card.card_id)) {
        if let Some(r) = &op.idempotency {
            sqlx::query("DELETE FROM idempotency WHERE scope = $1 AND key = $2")
                .bind(&r.scope)
                .bind(&r.key)
                .execute(&mut *tx)
                .await
                .map_err(error::other)?;
        }
    }

    // (4) Ledger and outbox rows of what committed.
    let committed: Vec<&CommitOp> = ops.iter().copied().filter(|op| updated.contains(&op.card.card_id)).collect();
    for chunk in committed.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO transactions (id, card_id, customer_id, business_id, store_id, program_id,
                 program_version, kind, stamps_delta, points_delta, counts, balance_after, amount_minor, currency,
                 reward_id, reverses_id, terminal_id, staff_id, metadata, created_at) ",
        );
        q.push_values(chunk, |mut b, op| {
            let x = &op.entry;
            b.push_bind(x.id)
                .push_bind(x.card_id.0)
                .push_bind(x.customer_id.0)
                .push_bind(x.business_id.0)
                .push_bind(x.store_id.map(|s| s.0))
                .push_bind(x.program_id)
                .push_bind(x.program_version)
                .push_bind(x.kind.as_str())
                .push_bind(if x.points { 0 } else { x.delta })
                .push_bind(if x.points { x.delta } else { 0 })
                .push_bind(if x.points { "points" } else { "stamps" })
                .push_bind(x.balance_after)
                .push_bind(x.amount_minor)
                .push_bind(&x.currency)
                .push_bind(x.reward_id)
                .push_bind(x.reverses_id)
                .push_bind(x.terminal_id)
                .push_bind(x.staff_id)
                .push_bind(Json(entry_metadata(x)))
                .push_bind(x.created_at);
        });
        q.build().execute(&mut *tx).await.map_err(error::other)?;

        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO outbox (event_id, card_id, topic, payload, created_at) ");
        q.push_values(chunk, |mut b, op| {
            let o = &op.outbox;
            b.push_bind(o.event_id)
                .push_bind(o.card_id.map(|c| c.0))
                .push_bind(&o.topic)
                .push_bind(Json(&o.payload))
                .push_bind(now);
        });
        q.build().execute(&mut *tx).await.map_err(error::other)?;
    }
    Ok(Ok(updated))
}

fn idempotency_from_row(row: &SqliteRow) -> StoreResult<IdempotencyRecord> {
    let status: i64 = row.try_get("status").map_err(error::other)?;
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
impl LedgerRepo for SqliteStore {
    async fn commit_batch(&self, ops: &[CommitOp]) -> StoreResult<Vec<CommitOutcome>> {
        let mut retry = Retry::new(ops.len());
        loop {
            let idx = retry.live();
            if idx.is_empty() {
                break;
            }
            let live: Vec<&CommitOp> = idx.iter().map(|&i| &ops[i]).collect();
            let attempt = self.try_batch(&live).await?;
            if retry.record(ops, &idx, attempt) {
                break;
            }
        }
        Ok(retry.finish())
    }

    async fn get_idempotency(&self, scope: &str, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT scope, key, fingerprint, status, body, expires_at FROM idempotency
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
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM transactions WHERE reverses_id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(error::other)?;
        Ok(n > 0)
    }

    async fn card_entries(&self, card: CardId, page: PageRequest) -> StoreResult<Page<LedgerEntry>> {
        let sql = format!("{ENTRY} WHERE card_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(card.0)
            .bind(page.after)
            .bind(page.fetch_limit())
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        let items = rows.iter().map(entry_from_row).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        Ok(Page::from_rows(items, page, |e| e.id))
    }

    async fn cards_due_for_expiry(&self, at: DateTime<Utc>, limit: i64) -> StoreResult<Vec<CardId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM cards WHERE next_expiry_at IS NOT NULL AND next_expiry_at <= $1
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
            "SELECT seq, event_id, card_id, topic, payload, attempts FROM outbox
             WHERE delivered_at IS NULL ORDER BY seq LIMIT $1",
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

    async fn mark_delivered(&self, seqs: &[i64]) -> StoreResult<()> {
        let now = Utc::now();
        self.update_outbox("UPDATE outbox SET delivered_at = ", Some(now), seqs).await
    }

    async fn mark_attempted(&self, seqs: &[i64]) -> StoreResult<()> {
        self.update_outbox("UPDATE outbox SET attempts = attempts + 1", None, seqs).await
    }

    async fn outbox_backlog(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
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
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await.map_err(error::other)?;
        let sql = format!("{} WHERE c.id = $1 ", super::cards::CARD);
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(card.0).fetch_optional(&mut *tx).await.map_err(error::other)?;
        let current = row.as_ref().map(super::cards::card_from_row).transpose().map_err(error::other)?;
        let stored = match &idempotency {
            Some((scope, key)) => sqlx::query(
                "SELECT scope, key, fingerprint, status, body, expires_at FROM idempotency
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
        sqlx::query_scalar("SELECT reverses_id FROM transactions WHERE card_id = $1 AND reverses_id IS NOT NULL")
            .bind(card.0)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency WHERE expires_at < $1")
            .bind(before)
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(done.rows_affected())
    }
}
