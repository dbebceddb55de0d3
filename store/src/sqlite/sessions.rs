use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use stampede_domain::identity::{
    NewOneTimeToken, NewRefreshToken, OneTimeToken, RefreshOutcome, SubjectKind, TokenPurpose,
};
use stampede_domain::ports::{SessionRepo, StoreError, StoreResult};
use uuid::Uuid;

use super::SqliteStore;
use crate::error;

#[async_trait]
impl SessionRepo for SqliteStore {
    async fn insert_refresh_token(&self, t: NewRefreshToken) -> StoreResult<()> {
        // A family is dead once any of its tokens was revoked. Refusing a new
        // token into it closes the race where a replay revokes the family
        // between the winner's rotation and its successor's insert; the one
        // writer connection orders the two.
        let inserted = sqlx::query(
            "INSERT INTO sessions (token_hash, family_id, subject_kind, subject_id, created_at, expires_at)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE family_id = $2 AND revoked_at IS NOT NULL)",
        )
        .bind(&t.token_hash)
        .bind(t.family_id)
        .bind(t.subject_kind.as_str())
        .bind(t.subject_id)
        .bind(Utc::now())
        .bind(t.expires_at)
        .execute(self.writer())
        .await
        .map_err(error::other)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict("refresh token family revoked"));
        }
        Ok(())
    }

    async fn rotate_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<RefreshOutcome> {
        // The conditional update is the arbiter: of two concurrent uses of one
        // token, one rotates it and the other finds it rotated (a replay).
        let row = sqlx::query(
            "UPDATE sessions SET rotated_at = $2
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING family_id, subject_kind, subject_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.writer())
        .await
        .map_err(error::other)?;
        if let Some(row) = row {
            let kind: String = row.try_get("subject_kind").map_err(error::other)?;
            return Ok(RefreshOutcome::Rotated {
                family_id: row.try_get("family_id").map_err(error::other)?,
                subject_kind: SubjectKind::parse(&kind).ok_or_else(|| StoreError::Other(kind.clone()))?,
                subject_id: row.try_get("subject_id").map_err(error::other)?,
            });
        }
        let row =
            sqlx::query("SELECT family_id, rotated_at, subject_kind, subject_id FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(self.writer())
                .await
                .map_err(error::other)?;
        let Some(row) = row else { return Ok(RefreshOutcome::Invalid) };
        let rotated: Option<DateTime<Utc>> = row.try_get("rotated_at").map_err(error::other)?;
        if rotated.is_some() {
            let family: Uuid = row.try_get("family_id").map_err(error::other)?;
            self.revoke_family(family, now).await?;
            let kind: String = row.try_get("subject_kind").map_err(error::other)?;
            return Ok(RefreshOutcome::Reused {
                subject_kind: SubjectKind::parse(&kind).ok_or_else(|| StoreError::Other(kind.clone()))?,
                subject_id: row.try_get("subject_id").map_err(error::other)?,
            });
        }
        Ok(RefreshOutcome::Invalid)
    }

    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
            .bind(family_id)
            .bind(now)
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn revoke_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<bool> {
        let family: Option<Uuid> = sqlx::query_scalar("SELECT family_id FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?;
        match family {
            Some(f) => self.revoke_family(f, now).await.map(|()| true),
            None => Ok(false),
        }
    }

    async fn revoke_all_sessions(&self, subject_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE subject_id = $1 AND revoked_at IS NULL")
            .bind(subject_id)
            .bind(now)
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn insert_one_time_token(&self, t: NewOneTimeToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, purpose, subject_id, payload, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.token_hash)
        .bind(t.purpose.as_str())
        .bind(t.subject_id)
        .bind(sqlx::types::Json(&t.payload))
        .bind(Utc::now())
        .bind(t.expires_at)
        .execute(self.writer())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn consume_one_time_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeToken>> {
        let row = sqlx::query(
            "UPDATE one_time_tokens SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING subject_id, payload",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(self.writer())
        .await
        .map_err(error::other)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(OneTimeToken {
            subject_id: row.try_get("subject_id").map_err(error::other)?,
            payload: row.try_get::<sqlx::types::Json<serde_json::Value>, _>("payload").map_err(error::other)?.0,
        }))
    }
}
