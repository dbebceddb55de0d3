//! Staff invitations. Accepting one is a single transaction: the invitation
//! is marked used only if it is still pending, and the role is given (to the
//! existing account, or to the account created with it) in the same commit,
//! with the audit event staged beside them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use stampede_domain::identity::AuditEvent;
use stampede_domain::ids::{BrandId, BusinessId, StaffId, StoreId};
use stampede_domain::ports::{InvitationRepo, StoreError, StoreResult};
use stampede_domain::staff::{Acceptance, Invitation, NewInvitation, Role, Scope, Staff};
use uuid::Uuid;

use super::PgStore;
use super::audit::stage;
use super::staff::{insert, insert_memberships, load_by_id, scope_columns};
use crate::error;

macro_rules! columns {
    () => {
        "id, business_id, email, role, brand_id, store_id, invited_by, created_at, expires_at,
         accepted_at, accepted_by, revoked_at, revoked_by"
    };
}

fn from_row(row: &PgRow) -> Result<Invitation, StoreError> {
    let get = |e: sqlx::Error| error::other(e);
    let role: String = row.try_get("role").map_err(get)?;
    let role = Role::parse(&role).ok_or_else(|| StoreError::Other(format!("unknown role {role:?}")))?;
    let scope = match (row.try_get::<Option<Uuid>, _>("brand_id").map_err(get)?, row.try_get("store_id").map_err(get)?)
    {
        (Some(b), _) => Scope::Brand { brand_id: BrandId(b) },
        (None, Some(s)) => Scope::Store { store_id: StoreId(s) },
        (None, None) => Scope::Business,
    };
    Ok(Invitation {
        id: row.try_get("id").map_err(get)?,
        business_id: BusinessId(row.try_get("business_id").map_err(get)?),
        email: row.try_get("email").map_err(get)?,
        role,
        scope,
        invited_by: StaffId(row.try_get("invited_by").map_err(get)?),
        created_at: row.try_get("created_at").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
        accepted_at: row.try_get("accepted_at").map_err(get)?,
        accepted_by: row.try_get::<Option<Uuid>, _>("accepted_by").map_err(get)?.map(StaffId),
        revoked_at: row.try_get("revoked_at").map_err(get)?,
        revoked_by: row.try_get::<Option<Uuid>, _>("revoked_by").map_err(get)?.map(StaffId),
    })
}

/// Mark the pending invitation with this token used by `who`; `None` if it
/// was not pending.
async fn take(
    tx: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
    who: StaffId,
) -> StoreResult<Option<Invitation>> {
    let sql = concat!(
        "UPDATE business.staff_invitations SET accepted_at = $2, accepted_by = $3
         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         RETURNING ",
        columns!()
    );
    let row =
        sqlx::query(sql).bind(token_hash).bind(now).bind(who.0).fetch_optional(&mut *tx).await.map_err(error::other)?;
    row.as_ref().map(from_row).transpose()
}

#[async_trait]
impl InvitationRepo for PgStore {
    async fn create_invitation(&self, new: &NewInvitation, audit: &AuditEvent) -> StoreResult<Invitation> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let m = new.membership;
        let (brand, store) = scope_columns(m.scope);
        let sql = concat!(
            "INSERT INTO business.staff_invitations
                 (id, business_id, email, role, brand_id, store_id, invited_by, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING ",
            columns!()
        );
        let row = sqlx::query(sql)
            .bind(new.id)
            .bind(m.business_id.0)
            .bind(new.email.as_str())
            .bind(m.role.as_str())
            .bind(brand)
            .bind(store)
            .bind(new.invited_by.0)
            .bind(&new.token_hash)
            .bind(new.created_at)
            .bind(new.expires_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(error::other)?;
        let invitation = from_row(&row)?;
        stage(&mut tx, audit).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(invitation)
    }

    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<Invitation>> {
        let sql = concat!("SELECT ", columns!(), " FROM business.staff_invitations WHERE id = $1");
        let row = sqlx::query(sql).bind(id).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn find_invitation_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<Invitation>> {
        let sql = concat!("SELECT ", columns!(), " FROM business.staff_invitations WHERE token_hash = $1");
        let row = sqlx::query(sql).bind(token_hash).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn list_invitations(&self, business_id: BusinessId) -> StoreResult<Vec<Invitation>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM business.staff_invitations WHERE business_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200"
        );
        let rows = sqlx::query(sql).bind(business_id.0).fetch_all(self.pool()).await.map_err(error::other)?;
        rows.iter().map(from_row).collect()
    }

    async fn revoke_invitation(
        &self,
        id: Uuid,
        by: StaffId,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Invitation>> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let sql = concat!(
            "UPDATE business.staff_invitations SET revoked_at = $2, revoked_by = $3
             WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING ",
            columns!()
        );
        let row = sqlx::query(sql).bind(id).bind(at).bind(by.0).fetch_optional(&mut *tx).await.map_err(error::other)?;
        let Some(row) = row else { return Ok(None) };
        let invitation = from_row(&row)?;
        stage(&mut tx, audit).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(Some(invitation))
    }

    async fn accept_invitation(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        who: Acceptance,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Staff>> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let staff = match who {
            Acceptance::Existing(id) => {
                let Some(invitation) = take(&mut tx, token_hash, now, id).await? else { return Ok(None) };
                let membership = invitation.membership().map_err(|e| StoreError::Other(e.to_string()))?;
                let current =
                    load_by_id(&mut tx, id).await?.ok_or_else(|| StoreError::Other("no such staff".into()))?;
                if !current.memberships.contains(&membership) {
                    insert_memberships(&mut tx, id, &[membership]).await?;
                }
                load_by_id(&mut tx, id).await?.ok_or_else(|| StoreError::Other("staff vanished".into()))?
            }
            Acceptance::New(mut new) => {
                let id = *new.id.get_or_insert_with(StaffId::default);
                let Some(invitation) = take(&mut tx, token_hash, now, id).await? else { return Ok(None) };
                let membership = invitation.membership().map_err(|e| StoreError::Other(e.to_string()))?;
                insert(&mut tx, new, &[membership]).await?
            }
        };
        stage(&mut tx, audit).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(Some(staff))
    }
}
