//! The embedded default's queues on SQLite: every write runs on the one
//! writer connection (see the module docs), which also makes a lease atomic.
//! Written by hand, not generated.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use stampede_domain::ports::{LeasedMessage, QueueMessage, QueueRepo, StoreResult};

use super::SqliteStore;
use crate::error;

/// Rows per `INSERT` (seven parameters each; SQLite allows 32,766).
const CHUNK: usize = 500;

fn leased(row: &SqliteRow) -> Result<LeasedMessage, sqlx::Error> {
    Ok(LeasedMessage {
        seq: row.try_get("seq")?,
        topic: row.try_get("topic")?,
        receives: u32::try_from(row.try_get::<i64, _>("receives")?).unwrap_or(0),
        message: QueueMessage {
            id: row.try_get("message_id")?,
            message_type: row.try_get("message_type")?,
            schema_version: u32::try_from(row.try_get::<i64, _>("schema_version")?).unwrap_or(0),
            request_id: row.try_get("request_id")?,
            body: row.try_get("body")?,
        },
    })
}

#[async_trait]
impl QueueRepo for SqliteStore {
    async fn enqueue(&self, topics: &[&str], messages: &[QueueMessage]) -> StoreResult<()> {
        let now = Utc::now().timestamp_millis();
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let rows: Vec<(&str, &QueueMessage)> =
            topics.iter().flat_map(|t| messages.iter().map(move |m| (*t, m))).collect();
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO queue_messages
                 (topic, message_id, message_type, schema_version, request_id, body, visible_ms) ",
            );
            q.push_values(chunk, |mut row, (topic, m)| {
                row.push_bind(*topic)
                    .push_bind(m.id)
                    .push_bind(&m.message_type)
                    .push_bind(i64::from(m.schema_version))
                    .push_bind(&m.request_id)
                    .push_bind(&m.body)
                    .push_bind(now);
            });
            q.build().execute(&mut *tx).await.map_err(error::other)?;
        }
        tx.commit().await.map_err(error::other)
    }

    async fn lease_messages(&self, max: i64, now: DateTime<Utc>, lease: Duration) -> StoreResult<Vec<LeasedMessage>> {
        let now = now.timestamp_millis();
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let rows = sqlx::query(
            "UPDATE queue_messages SET visible_ms = $2, receives = receives + 1
             WHERE seq IN (SELECT seq FROM queue_messages
                           WHERE buried IS NULL AND visible_ms <= $1 ORDER BY seq LIMIT $3)
             RETURNING seq, topic, message_id, message_type, schema_version, request_id, body, receives",
        )
        .bind(now)
        .bind(until)
        .bind(max)
        .fetch_all(self.writer())
        .await
        .map_err(error::other)?;
        let mut out = rows.iter().map(leased).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        // RETURNING promises no order.
        out.sort_by_key(|m| m.seq);
        Ok(out)
    }

    async fn delete_messages(&self, seqs: &[i64]) -> StoreResult<()> {
        self.rows_by_seq("DELETE FROM queue_messages", seqs).await
    }

    async fn release_message(&self, seq: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE queue_messages SET visible_ms = $2 WHERE seq = $1")
            .bind(seq)
            .bind(at.timestamp_millis())
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn bury_message(&self, seq: i64, reason: &str) -> StoreResult<()> {
        sqlx::query("UPDATE queue_messages SET buried = $2 WHERE seq = $1")
            .bind(seq)
            .bind(reason)
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn queue_depth(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT count(*) FILTER (WHERE buried IS NULL) AS waiting, count(buried) AS buried FROM queue_messages",
        )
        .fetch_one(self.pool())
        .await
        .map_err(error::other)?;
        Ok((row.try_get("waiting").map_err(error::other)?, row.try_get("buried").map_err(error::other)?))
    }
}
