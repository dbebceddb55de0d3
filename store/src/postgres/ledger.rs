//! The transaction path on PostgreSQL: group commits as a handful of multi-row
//! statements (`UNNEST` over arrays), whatever the batch size.
//!
//! A batch runs in one transaction: (1) insert the idempotency records, keeping
//! out those whose key exists (duplicates: the transaction is rolled back and
//! retried without them and without what depends on them); (2) update every
//! card with its version check (one row per card: the state after its last
//! operation, checked against the version before its first); (3) drop the
//! idempotency records of cards whose check failed; (4) insert the ledger rows
//! and outbox rows of what is left; commit.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use stampede_domain::card::{Card, TxKind};
use stampede_domain::ids::{BusinessId, CardId, CustomerId, StoreId};
use stampede_domain::ledger::{CommitOp, CommitOutcome, IdempotencyRecord, LedgerEntry, OutboxEvent, PendingEvent};
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{LedgerRepo, StoreResult};
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

impl PgStore {
    /// One attempt. `Err(dups)` names operations whose key was already stored.
    async fn try_batch(&self, ops: &[&CommitOp]) -> StoreResult<Attempt> {
        let started = std::time::Instant::now();
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let began = started.elapsed();
        let written = write_ops(&mut tx, ops).await?;
        let wrote = started.elapsed();
        if written.is_ok() {
            tx.commit().await.map_err(error::other)?;
        }
        // A slow commit holds up every request behind it: say where the time went.
        let total = started.elapsed();
        if total > SLOW_COMMIT {
            tracing::info!(
                began_ms = began.as_secs_f64() * 1e3,
                statements_ms = (wrote - began).as_secs_f64() * 1e3,
                commit_ms = (total - wrote).as_secs_f64() * 1e3,
                ops = ops.len(),
                "slow group commit (a pooled connection and BEGIN, the statements, COMMIT)"
            );
        }
        Ok(written) // on duplicates, dropping `tx` rolls back
    }
}

/// A group commit slower than this is logged with where its time went.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Take one unit of stock per operation on a stocked reward, in order. The
/// operations that find none left are returned, to be dropped.
async fn take_stock(tx: &mut PgConnection, ops: &[&CommitOp]) -> StoreResult<Option<Vec<(usize, CommitOutcome)>>> {
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Some(reward) = op.stock_reward else { continue };
        let done = sqlx::query("UPDATE loyalty.rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0")
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

/// Rows per multi-row statement. Each statement stays well under the loopback
/// socket's send buffer (16 KiB by default): sqlx sets no TCP_NODELAY, and a
/// message written in two parts waits ~40 ms for a delayed ACK (Nagle).
const CHUNK: usize = 24;

/// The statements of a batch, inside the caller's transaction.
async fn write_ops(tx: &mut PgConnection, ops: &[&CommitOp]) -> StoreResult<Attempt> {
    let now = Utc::now();

    // (1) Idempotency records.
    let keyed: Vec<(usize, &IdempotencyRecord)> =
        ops.iter().enumerate().filter_map(|(i, op)| op.idempotency.as_ref().map(|r| (i, r))).collect();
    let mut fresh: HashSet<(String, String)> = HashSet::new();
    for keyed in keyed.chunks(CHUNK) {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "INSERT INTO loyalty.idempotency (scope, key, fingerprint, status, body, created_at, expires_at)
                 SELECT s, k, f, st, b, $6, e
                 FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int2[], $5::bytea[], $7::timestamptz[])
                      AS u(s, k, f, st, b, e)
                 ON CONFLICT (scope, key) DO NOTHING
                 RETURNING scope, key",
        )
        .bind(keyed.iter().map(|(_, r)| r.scope.clone()).collect::<Vec<_>>())
        .bind(keyed.iter().map(|(_, r)| r.key.clone()).collect::<Vec<_>>())
        .bind(keyed.iter().map(|(_, r)| r.fingerprint.clone()).collect::<Vec<_>>())
        .bind(keyed.iter().map(|(_, r)| r.status as i16).collect::<Vec<_>>())
        .bind(keyed.iter().map(|(_, r)| r.body.clone()).collect::<Vec<_>>())
        .bind(now)
        .bind(keyed.iter().map(|(_, r)| r.expires_at).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await
        .map_err(error::other)?;
        fresh.extend(rows);
    }
    let dups: Vec<(usize, CommitOutcome)> = keyed
        .iter()
        .filter(|(_, r)| !fresh.contains(&(r.scope.clone(), r.key.clone())))
        .map(|(i, _)| (*i, CommitOutcome::Duplicate))
        .collect();
    if !dups.is_empty() {
        return Ok(Err(dups));
    }
    if let Some(out) = take_stock(tx, ops).await? {
        return Ok(Err(out));
    }

    // (2) One update per card: its first expected version, its last state.
    let all_groups = decide_groups(ops);
    let mut updated: HashSet<CardId> = HashSet::new();
    for groups in all_groups.chunks(CHUNK) {
        let rows: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE loyalty.cards AS c
             SET stamps = u.stamps, points = u.points, state = u.state, version = u.new_version,
                 next_expiry_at = u.next_expiry_at, updated_at = $8
             FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::jsonb[], $7::timestamptz[])
                  AS u(id, expected, new_version, stamps, points, state, next_expiry_at)
             WHERE c.id = u.id AND c.version = u.expected
             RETURNING c.id",
        )
        .bind(groups.iter().map(|g| g.card_id.0).collect::<Vec<_>>())
        .bind(groups.iter().map(|g| g.expected_version).collect::<Vec<_>>())
        .bind(groups.iter().map(|g| g.last.new_version).collect::<Vec<_>>())
        .bind(groups.iter().map(|g| if g.last.points { 0 } else { g.last.balance }).collect::<Vec<_>>())
        .bind(groups.iter().map(|g| if g.last.points { g.last.balance } else { 0 }).collect::<Vec<_>>())
        .bind(groups.iter().map(|g| serde_json::to_value(&g.last.book).unwrap_or_default()).collect::<Vec<_>>())
        .bind(groups.iter().map(|g| g.last.next_expiry_at).collect::<Vec<_>>())
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(error::other)?;
        updated.extend(rows.into_iter().map(CardId));
    }

    // (3) Conflicted cards keep no idempotency record.
    let lost: Vec<&IdempotencyRecord> =
        ops.iter().filter(|op| !updated.contains(&op.card.card_id)).filter_map(|op| op.idempotency.as_ref()).collect();
    if !lost.is_empty() {
        sqlx::query(
            "DELETE FROM loyalty.idempotency i USING UNNEST($1::text[], $2::text[]) AS u(s, k)
                 WHERE i.scope = u.s AND i.key = u.k",
        )
        .bind(lost.iter().map(|r| r.scope.clone()).collect::<Vec<_>>())
        .bind(lost.iter().map(|r| r.key.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
    }

    // (4) Ledger and outbox rows of what committed.
    let done: Vec<&CommitOp> = ops.iter().copied().filter(|op| updated.contains(&op.card.card_id)).collect();
    for done in done.chunks(CHUNK) {
        let e: Vec<&LedgerEntry> = done.iter().map(|op| &op.entry).collect();
        sqlx::query(
                "INSERT INTO loyalty.transactions (id, card_id, customer_id, business_id, store_id, program_id,
                     program_version, kind, stamps_delta, points_delta, counts, balance_after, amount_minor, currency,
                     reward_id, reverses_id, terminal_id, staff_id, metadata, created_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[],
                     $7::int8[], $8::text[], $9::int8[], $10::int8[], $11::text[], $12::int8[], $13::int8[], $14::text[],
                     $15::uuid[], $16::uuid[], $17::uuid[], $18::uuid[], $19::jsonb[], $20::timestamptz[])",
            )
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
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        let o: Vec<&OutboxEvent> = done.iter().map(|op| &op.outbox).collect();
        sqlx::query(
            "INSERT INTO loyalty.outbox (event_id, card_id, topic, payload, created_at)
                 SELECT e, c, t, p, $5 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[]) AS u(e, c, t, p)",
        )
        .bind(o.iter().map(|x| x.event_id).collect::<Vec<_>>())
        .bind(o.iter().map(|x| x.card_id.map(|c| c.0)).collect::<Vec<_>>())
        .bind(o.iter().map(|x| x.topic.clone()).collect::<Vec<_>>())
        .bind(o.iter().map(|x| x.payload.clone()).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
    }
    Ok(Ok(updated))
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
        sqlx::query_scalar("SELECT count(*) FROM loyalty.outbox").fetch_one(self.pool()).await.map_err(error::other)
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
