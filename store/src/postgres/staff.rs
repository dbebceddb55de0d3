use async_trait::async_trait;
use chrono::Utc;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use stampede_domain::business::{Business, NewBusiness};
use stampede_domain::email::Email;
use stampede_domain::ids::{BrandId, BusinessId, StaffId, StoreId};
use stampede_domain::ports::{Audit, StaffRepo, StoreError, StoreResult};
use stampede_domain::staff::{Membership, NewStaff, Role, Scope, Staff};
use uuid::Uuid;

use super::PgStore;
use super::audit::commit_with;
use crate::error;

const SELECT: &str =
    "SELECT id, email, name, password_hash, must_change_password, is_active, created_at FROM business.staff";

fn membership_from_row(row: &PgRow) -> Result<Membership, StoreError> {
    let role: String = row.try_get("role").map_err(error::other)?;
    let role = Role::parse(&role).ok_or_else(|| StoreError::Other(format!("unknown role {role:?}")))?;
    let brand: Option<Uuid> = row.try_get("brand_id").map_err(error::other)?;
    let store: Option<Uuid> = row.try_get("store_id").map_err(error::other)?;
    let scope = match (brand, store) {
        (Some(b), _) => Scope::Brand { brand_id: BrandId(b) },
        (None, Some(s)) => Scope::Store { store_id: StoreId(s) },
        (None, None) => Scope::Business,
    };
    let business_id = BusinessId(row.try_get("business_id").map_err(error::other)?);
    Membership::new(business_id, role, scope).map_err(|e| StoreError::Other(e.to_string()))
}

async fn load(conn: &mut PgConnection, row: Option<PgRow>) -> StoreResult<Option<Staff>> {
    let Some(row) = row else { return Ok(None) };
    let id: Uuid = row.try_get("id").map_err(error::other)?;
    let memberships = sqlx::query(
        "SELECT business_id, role, brand_id, store_id FROM business.staff_memberships
         WHERE staff_id = $1 ORDER BY created_at, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(error::other)?
    .iter()
    .map(membership_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Staff {
        id: StaffId(id),
        email: row.try_get("email").map_err(error::other)?,
        name: row.try_get("name").map_err(error::other)?,
        password_hash: row.try_get("password_hash").map_err(error::other)?,
        must_change_password: row.try_get("must_change_password").map_err(error::other)?,
        is_active: row.try_get("is_active").map_err(error::other)?,
        created_at: row.try_get("created_at").map_err(error::other)?,
        memberships,
    }))
}

/// The account with this id, on `conn` (inside the caller's transaction).
pub(super) async fn load_by_id(conn: &mut PgConnection, id: StaffId) -> StoreResult<Option<Staff>> {
    let sql = format!("{SELECT} WHERE id = $1");
    let row =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(&mut *conn).await.map_err(error::other)?;
    load(conn, row).await
}

pub(super) fn scope_columns(scope: Scope) -> (Option<Uuid>, Option<Uuid>) {
    match scope {
        Scope::Business => (None, None),
        Scope::Brand { brand_id } => (Some(brand_id.0), None),
        Scope::Store { store_id } => (None, Some(store_id.0)),
    }
}

/// Insert an account and its memberships; the caller owns the transaction.
pub(super) async fn insert(tx: &mut PgConnection, new: NewStaff, memberships: &[Membership]) -> StoreResult<Staff> {
    let now = Utc::now();
    let id = new.id.unwrap_or_default();
    sqlx::query(
        "INSERT INTO business.staff (id, email, name, password_hash, must_change_password, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id.0)
    .bind(new.email.as_str())
    .bind(new.name.as_str())
    .bind(&new.password_hash)
    .bind(new.must_change_password)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, "email"))?;
    insert_memberships(tx, id, memberships).await?;
    let sql = format!("{SELECT} WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(&mut *tx).await.map_err(error::other)?;
    load(tx, row).await?.ok_or_else(|| StoreError::Other("staff vanished".into()))
}

#[async_trait]
impl StaffRepo for PgStore {
    async fn count_staff(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM business.staff").fetch_one(self.pool()).await.map_err(error::other)
    }

    async fn create_staff(&self, new: NewStaff, memberships: &[Membership]) -> StoreResult<Staff> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let staff = insert(&mut tx, new, memberships).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(staff)
    }

    async fn create_first_owner(
        &self,
        business: NewBusiness,
        owner: NewStaff,
    ) -> StoreResult<Option<(Business, Staff)>> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        // Two processes starting at once must not both create an owner.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('stampede.first_owner'))")
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM business.staff")
            .fetch_one(&mut *tx)
            .await
            .map_err(error::other)?;
        if existing > 0 {
            return Ok(None);
        }
        let business = super::businesses::insert(&mut tx, business).await?;
        let membership =
            Membership::new(business.id, Role::Owner, Scope::Business).map_err(|e| StoreError::Other(e.to_string()))?;
        let staff = insert(&mut tx, owner, &[membership]).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(Some((business, staff)))
    }

    async fn get_staff(&self, id: StaffId) -> StoreResult<Option<Staff>> {
        let mut conn = self.pool().acquire().await.map_err(error::other)?;
        let sql = format!("{SELECT} WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(&mut *conn).await.map_err(error::other)?;
        load(&mut conn, row).await
    }

    async fn find_staff_by_email(&self, email: &Email) -> StoreResult<Option<Staff>> {
        let mut conn = self.pool().acquire().await.map_err(error::other)?;
        let sql = format!("{SELECT} WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(error::other)?;
        load(&mut conn, row).await
    }

    async fn set_staff_password(&self, id: StaffId, password_hash: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE business.staff SET password_hash = $2, must_change_password = false, updated_at = $3 WHERE id = $1",
        )
        .bind(id.0)
        .bind(password_hash)
        .bind(Utc::now())
        .execute(self.pool())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn list_staff(&self, business_id: BusinessId) -> StoreResult<Vec<Staff>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT staff_id FROM business.staff_memberships WHERE business_id = $1 ORDER BY staff_id",
        )
        .bind(business_id.0)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.get_staff(StaffId(id)).await? {
                all.push(s);
            }
        }
        Ok(all)
    }

    async fn set_business_memberships(
        &self,
        id: StaffId,
        business_id: BusinessId,
        memberships: &[Membership],
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        // One change to a business's team at a time: the owner count read
        // below is then the one this commit leaves.
        sqlx::query("SELECT 1 FROM business.businesses WHERE id = $1 FOR UPDATE")
            .bind(business_id.0)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        sqlx::query("DELETE FROM business.staff_memberships WHERE staff_id = $1 AND business_id = $2")
            .bind(id.0)
            .bind(business_id.0)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        insert_memberships(&mut tx, id, memberships).await?;
        let owners: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM business.staff_memberships WHERE business_id = $1 AND role = 'owner'",
        )
        .bind(business_id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(error::other)?;
        if owners == 0 {
            return Ok(false); // dropping `tx` rolls back
        }
        commit_with(tx, audit.cloned()).await?;
        Ok(true)
    }

    async fn add_memberships(&self, id: StaffId, memberships: &[Membership]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        insert_memberships(&mut tx, id, memberships).await?;
        tx.commit().await.map_err(error::other)
    }
}

pub(super) async fn insert_memberships(
    tx: &mut PgConnection,
    id: StaffId,
    memberships: &[Membership],
) -> StoreResult<()> {
    let now = Utc::now();
    for m in memberships {
        let (brand, store) = scope_columns(m.scope);
        sqlx::query(
            "INSERT INTO business.staff_memberships (id, staff_id, business_id, role, brand_id, store_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(id.0)
        .bind(m.business_id.0)
        .bind(m.role.as_str())
        .bind(brand)
        .bind(store)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
    }
    Ok(())
}
