//! The transaction path on SQLite: the same steps as the PostgreSQL adapter
//! (see there). The group commit itself runs on the writer connection's handle
//! (`direct`): one `BEGIN IMMEDIATE` transaction, a prepared statement per step
//! run once per operation; SQLite runs in process, so a statement costs
//! microseconds and the commit (one fsync) is what a batch amortises. Written
//! by hand, not generated.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row, Sqlite};
use stampede_domain::card::{Card, TxKind};
use stampede_domain::ids::{BusinessId, CardId, CustomerId, StoreId};
use stampede_domain::ledger::{CommitOp, CommitOutcome, IdempotencyRecord, LedgerEntry, OutboxEvent, PendingEvent};
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{LedgerRepo, StoreResult};
use uuid::Uuid;

use super::SqliteStore;
use crate::error;
use crate::ledger_common::{Attempt, Retry, split_metadata};

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
    /// Run `statement` (an UPDATE or DELETE of a table keyed by `seq`: the
    /// outbox, the queues) `WHERE seq IN (…)`, one statement per `CHUNK` rows
    /// in one transaction. A statement per row held the one writer connection
    /// for a round trip each: a relay pass of a few hundred rows stalled every
    /// group commit behind it for tens of ms.
    pub(super) async fn rows_by_seq(&self, statement: &'static str, seqs: &[i64]) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        for chunk in seqs.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(statement);
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

    /// One attempt. `Err(dups)` names operations whose key was already
    /// stored. Runs on the writer connection's handle, on this thread (see
    /// `direct`): one hand-off to sqlx's connection thread per batch.
    async fn try_batch(&self, ops: &[&CommitOp]) -> StoreResult<Attempt> {
        let started = std::time::Instant::now();
        let mut conn = self.writer().acquire().await.map_err(error::other)?;
        let mut locked = conn.lock_handle().await.map_err(error::other)?;
        let waited = started.elapsed();
        let attempt = super::direct::write_batch(locked.as_raw_handle(), ops).map_err(error::sqlite_direct);
        let wrote = started.elapsed() - waited;
        // A slow commit holds up every request behind it: say where the time went.
        if waited + wrote > SLOW_COMMIT {
            tracing::info!(
                waited_ms = waited.as_secs_f64() * 1e3,
                wrote_ms = wrote.as_secs_f64() * 1e3,
                ops = ops.len(),
                "slow group commit (waited for the writer connection, then wrote)"
            );
        }
        attempt
    }
}

/// A group commit slower than this is logged with where its time went.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Rows per `IN (…)` list: far below SQLite's 32,766 bound parameters.
const CHUNK: usize = 400;

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
        self.entries_page(Owner::Card, card.0, page).await
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
        self.rows_by_seq("DELETE FROM outbox", seqs).await
    }

    async fn mark_attempted(&self, seqs: &[i64]) -> StoreResult<()> {
        self.rows_by_seq("UPDATE outbox SET attempts = attempts + 1", seqs).await
    }

    async fn outbox_backlog(&self) -> StoreResult<i64> {
        // Two ends of the primary key, not a count (see the PostgreSQL twin).
        sqlx::query_scalar("SELECT coalesce(max(seq) - min(seq) + 1, 0) FROM outbox")
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
        let written = {
            let mut locked = tx.lock_handle().await.map_err(error::other)?;
            super::direct::write_in_transaction(locked.as_raw_handle(), &[&op]).map_err(error::sqlite_direct)?
        };
        let outcome = match written {
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

/// Whose ledger a page is of.
#[derive(Clone, Copy)]
pub(super) enum Owner {
    Card,
    Customer,
}

impl SqliteStore {
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
        let sql = format!("{ENTRY} WHERE {column} = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3");
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
