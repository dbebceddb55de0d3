//! Second factors. Enrolment, confirmation and every use are single
//! conditional statements, so two requests racing with one code (or one
//! recovery code) cannot both pass.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use stampede_domain::identity::{MfaFactor, SubjectKind};
use stampede_domain::ports::{MfaRepo, StoreError, StoreResult};
use uuid::Uuid;

use super::SqliteStore;
use crate::error;

#[async_trait]
impl MfaRepo for SqliteStore {
    async fn get_mfa(&self, subject_id: Uuid) -> StoreResult<Option<MfaFactor>> {
        let row = sqlx::query(
            "SELECT f.subject_id, f.subject_kind, f.secret, f.created_at, f.confirmed_at, f.last_step,
                 (SELECT count(*) FROM mfa_recovery_codes r WHERE r.subject_id = f.subject_id) AS codes
             FROM mfa_factors f WHERE f.subject_id = $1",
        )
        .bind(subject_id)
        .fetch_optional(self.pool())
        .await
        .map_err(error::other)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("subject_kind").map_err(error::other)?;
        Ok(Some(MfaFactor {
            subject_id: row.try_get("subject_id").map_err(error::other)?,
            subject_kind: SubjectKind::parse(&kind).ok_or_else(|| StoreError::Other(kind.clone()))?,
            sealed_secret: row.try_get("secret").map_err(error::other)?,
            created_at: row.try_get("created_at").map_err(error::other)?,
            confirmed_at: row.try_get("confirmed_at").map_err(error::other)?,
            last_step: row.try_get("last_step").map_err(error::other)?,
            recovery_codes_left: row.try_get("codes").map_err(error::other)?,
        }))
    }

    async fn begin_mfa(
        &self,
        subject_id: Uuid,
        kind: SubjectKind,
        sealed_secret: &[u8],
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO mfa_factors (subject_id, subject_kind, secret, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (subject_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
                 last_step = 0
             WHERE mfa_factors.confirmed_at IS NULL",
        )
        .bind(subject_id)
        .bind(kind.as_str())
        .bind(sealed_secret)
        .bind(at)
        .execute(self.writer())
        .await
        .map_err(error::other)?
        .rows_affected()
            == 1;
        Ok(done)
    }

    async fn confirm_mfa(
        &self,
        subject_id: Uuid,
        step: i64,
        recovery: &[Vec<u8>],
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let confirmed = sqlx::query(
            "UPDATE mfa_factors SET confirmed_at = $2, last_step = $3
             WHERE subject_id = $1 AND confirmed_at IS NULL AND last_step < $3",
        )
        .bind(subject_id)
        .bind(at)
        .bind(step)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?
        .rows_affected()
            == 1;
        if !confirmed {
            return Ok(false);
        }
        insert_codes(&mut tx, subject_id, recovery).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(true)
    }

    async fn use_mfa_step(&self, subject_id: Uuid, step: i64) -> StoreResult<bool> {
        let used = sqlx::query(
            "UPDATE mfa_factors SET last_step = $2
             WHERE subject_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2",
        )
        .bind(subject_id)
        .bind(step)
        .execute(self.writer())
        .await
        .map_err(error::other)?
        .rows_affected()
            == 1;
        Ok(used)
    }

    async fn use_recovery_code(&self, subject_id: Uuid, code_hash: &[u8]) -> StoreResult<bool> {
        let used = sqlx::query("DELETE FROM mfa_recovery_codes WHERE subject_id = $1 AND code_hash = $2")
            .bind(subject_id)
            .bind(code_hash)
            .execute(self.writer())
            .await
            .map_err(error::other)?
            .rows_affected()
            == 1;
        Ok(used)
    }

    async fn replace_recovery_codes(&self, subject_id: Uuid, recovery: &[Vec<u8>]) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE subject_id = $1")
            .bind(subject_id)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        insert_codes(&mut tx, subject_id, recovery).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(())
    }

    async fn remove_mfa(&self, subject_id: Uuid) -> StoreResult<bool> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE subject_id = $1")
            .bind(subject_id)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        let removed = sqlx::query("DELETE FROM mfa_factors WHERE subject_id = $1")
            .bind(subject_id)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?
            .rows_affected()
            == 1;
        tx.commit().await.map_err(error::other)?;
        Ok(removed)
    }
}

/// Store recovery codes' hashes (in the caller's transaction).
async fn insert_codes(conn: &mut sqlx::SqliteConnection, subject_id: Uuid, recovery: &[Vec<u8>]) -> StoreResult<()> {
    for hash in recovery {
        sqlx::query("INSERT INTO mfa_recovery_codes (subject_id, code_hash) VALUES ($1, $2)")
            .bind(subject_id)
            .bind(hash)
            .execute(&mut *conn)
            .await
            .map_err(error::other)?;
    }
    Ok(())
}
