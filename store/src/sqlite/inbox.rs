use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stampede_domain::ports::{Begin, InboxRepo, StoreResult};
use uuid::Uuid;

use super::SqliteStore;
use crate::error;

/// The workers' inbox: one row per (consumer, message). A claim is an upsert
/// that only takes over a 'busy' row whose lease has run out, so two
/// concurrent attempts never both get `Fresh`.
#[async_trait]
impl InboxRepo for SqliteStore {
    async fn begin_message(
        &self,
        consumer: &str,
        message_id: Uuid,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Begin> {
        let stale = now - chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::minutes(5));
        let claimed: Option<String> = sqlx::query_scalar(
            "INSERT INTO processed_messages AS p (consumer, message_id, state, updated_at)
             VALUES ($1, $2, 'busy', $3)
             ON CONFLICT (consumer, message_id) DO UPDATE SET updated_at = $3
             WHERE p.state = 'busy' AND p.updated_at < $4
             RETURNING state",
        )
        .bind(consumer)
        .bind(message_id)
        .bind(now)
        .bind(stale)
        .fetch_optional(self.writer())
        .await
        .map_err(error::other)?;
        if claimed.is_some() {
            return Ok(Begin::Fresh);
        }
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM processed_messages WHERE consumer = $1 AND message_id = $2")
                .bind(consumer)
                .bind(message_id)
                .fetch_optional(self.writer())
                .await
                .map_err(error::other)?;
        Ok(match state.as_deref() {
            Some("done") => Begin::Done,
            Some(_) => Begin::Busy,
            // Released between the two statements: the next delivery claims it.
            None => Begin::Busy,
        })
    }

    async fn finish_message(&self, consumer: &str, message_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO processed_messages AS p (consumer, message_id, state, updated_at)
             VALUES ($1, $2, 'done', $3)
             ON CONFLICT (consumer, message_id) DO UPDATE SET state = 'done', updated_at = $3",
        )
        .bind(consumer)
        .bind(message_id)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn abandon_message(&self, consumer: &str, message_id: Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM processed_messages WHERE consumer = $1 AND message_id = $2 AND state = 'busy'")
            .bind(consumer)
            .bind(message_id)
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }
}
