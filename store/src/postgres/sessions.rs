use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use stampede_domain::identity::{
    NewOneTimeToken, NewRefreshToken, OneTimeToken, RefreshOutcome, SubjectKind, TokenPurpose,
};
use stampede_domain::ports::{SessionRepo, StoreError, StoreResult};
use uuid::Uuid;

use super::PgStore;
use crate::error;

#[async_trait]
impl SessionRepo for PgStore {
    async fn insert_refresh_token(&self, t: NewRefreshToken) -> StoreResult<()> {
        // A family is dead once any of its tokens was revoked: no new token
        // joins it. The family's advisory lock (also taken by `revoke_family`)
        // orders this insert and a concurrent revocation, which otherwise
        // would not see each other's uncommitted rows.
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        lock_family(&mut tx, t.family_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO identity.sessions (token_hash, family_id, subject_kind, subject_id, created_at, expires_at)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE NOT EXISTS (SELECT 1 FROM identity.sessions WHERE family_id = $2 AND revoked_at IS NOT NULL)",
        )
        .bind(&t.token_hash)
        .bind(t.family_id)
        .bind(t.subject_kind.as_str())
        .bind(t.subject_id)
        .bind(Utc::now())
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        tx.commit().await.map_err(error::other)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict("refresh token family revoked"));
        }
        Ok(())
    }

    async fn rotate_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<RefreshOutcome> {
        // The conditional update is the arbiter: of two concurrent uses of one
        // token, one rotates it and the other finds it rotated (a replay).
        let row = sqlx::query(
            "UPDATE identity.sessions SET rotated_at = $2
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING family_id, subject_kind, subject_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
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
        let row = sqlx::query(
            "SELECT family_id, rotated_at, subject_kind, subject_id FROM identity.sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
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
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        lock_family(&mut tx, family_id).await?;
        sqlx::query("UPDATE identity.sessions SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
            .bind(family_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        tx.commit().await.map_err(error::other)
    }

    async fn revoke_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<bool> {
        let family: Option<Uuid> = sqlx::query_scalar("SELECT family_id FROM identity.sessions WHERE token_hash = $1")
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
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        // Every family's lock, in one order (each other holder takes only one,
        // so no two transactions wait on each other in a cycle).
        let families: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT family_id FROM identity.sessions WHERE subject_id = $1 ORDER BY family_id",
        )
        .bind(subject_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(error::other)?;
        for family in families {
            lock_family(&mut tx, family).await?;
        }
        sqlx::query("UPDATE identity.sessions SET revoked_at = $2 WHERE subject_id = $1 AND revoked_at IS NULL")
            .bind(subject_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        tx.commit().await.map_err(error::other)
    }

    async fn insert_one_time_token(&self, t: NewOneTimeToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO identity.one_time_tokens (token_hash, purpose, subject_id, payload, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.token_hash)
        .bind(t.purpose.as_str())
        .bind(t.subject_id)
        .bind(sqlx::types::Json(&t.payload))
        .bind(Utc::now())
        .bind(t.expires_at)
        .execute(self.pool())
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
            "UPDATE identity.one_time_tokens SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING subject_id, payload",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(error::other)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(OneTimeToken {
            subject_id: row.try_get("subject_id").map_err(error::other)?,
            payload: row.try_get::<sqlx::types::Json<serde_json::Value>, _>("payload").map_err(error::other)?.0,
        }))
    }
}

/// The family's transaction-scoped advisory lock: see `insert_refresh_token`.
async fn lock_family(tx: &mut sqlx::PgConnection, family_id: Uuid) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(family_id)
        .execute(tx)
        .await
        .map_err(error::other)?;
    Ok(())
}
