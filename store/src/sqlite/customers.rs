use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use stampede_domain::customer::{Consent, Customer, NewCustomer};
use stampede_domain::email::Email;
use stampede_domain::ids::{BusinessId, CustomerId};
use stampede_domain::ports::{CustomerRepo, ProfileChanges, SocialProvider, StoreResult};

use super::SqliteStore;
use crate::error;

pub(super) fn from_row(row: &SqliteRow) -> Result<Customer, sqlx::Error> {
    Ok(Customer {
        id: CustomerId(row.try_get("id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        joined_at: row.try_get("joined_at")?,
        google_id: row.try_get("google_id")?,
        apple_id: row.try_get("apple_id")?,
        preferences: row.try_get::<sqlx::types::Json<serde_json::Value>, _>("preferences")?.0,
        password_hash: row.try_get("password_hash")?,
        email_verified_at: row.try_get("email_verified_at")?,
    })
}

const RETURNING: &str = "id, email, name, phone, joined_at, google_id, apple_id,
    preferences, password_hash, email_verified_at";
pub(super) const SELECT: &str = "SELECT id, email, name, phone, joined_at, google_id, apple_id,
    preferences, password_hash, email_verified_at FROM customers";

#[async_trait]
impl CustomerRepo for SqliteStore {
    async fn create_customer(&self, new: NewCustomer) -> StoreResult<Customer> {
        let now = Utc::now();
        let row = sqlx::query(
            "INSERT INTO customers
                 (id, email, name, phone, joined_at, password_hash, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $5)
             RETURNING id, email, name, phone, joined_at, google_id, apple_id,
                       preferences, password_hash, email_verified_at",
        )
        .bind(new.id.unwrap_or_default().0)
        .bind(new.email.as_str())
        .bind(new.name.as_str())
        .bind(&new.phone)
        .bind(now)
        .bind(&new.password_hash)
        .fetch_one(self.writer())
        .await
        .map_err(|e| error::map(e, "email"))?;
        from_row(&row).map_err(error::other)
    }

    async fn get_customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        let sql = format!("{SELECT} WHERE id = $1 AND deleted_at IS NULL");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(from_row).transpose().map_err(error::other)
    }

    async fn find_customer_by_email(&self, email: &Email) -> StoreResult<Option<Customer>> {
        let sql = format!("{SELECT} WHERE email = $1 AND deleted_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?;
        row.as_ref().map(from_row).transpose().map_err(error::other)
    }

    async fn find_customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>> {
        let sql = format!("{SELECT} WHERE phone = $1 AND deleted_at IS NULL ORDER BY id LIMIT 20");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(phone).fetch_all(self.pool()).await.map_err(error::other)?;
        rows.iter().map(from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn find_customer_by_social(&self, provider: SocialProvider, subject: &str) -> StoreResult<Option<Customer>> {
        let column = social_column(provider);
        let sql = format!("{SELECT} WHERE {column} = $1 AND deleted_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(subject)
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?;
        row.as_ref().map(from_row).transpose().map_err(error::other)
    }

    async fn link_social(
        &self,
        id: CustomerId,
        provider: SocialProvider,
        subject: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let column = social_column(provider);
        // The right-hand sides read the row as it was: a password set on an
        // unverified address is dropped, a verified account keeps its own.
        let sql = format!(
            "UPDATE customers SET {column} = $2,
                 password_hash = CASE WHEN email_verified_at IS NULL THEN NULL ELSE password_hash END,
                 email_verified_at = COALESCE(email_verified_at, $3), updated_at = $3
             WHERE id = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .bind(subject)
            .bind(at)
            .execute(self.writer())
            .await
            .map_err(|e| error::map(e, "social identity"))?;
        Ok(())
    }

    async fn update_profile(&self, id: CustomerId, changes: ProfileChanges) -> StoreResult<Option<Customer>> {
        let sql = format!(
            "UPDATE customers SET
                name = COALESCE($2, name),
                phone = CASE WHEN $3 THEN $4 ELSE phone END,
                preferences = COALESCE($5, preferences),
                updated_at = $6
             WHERE id = $1 AND deleted_at IS NULL
             RETURNING {RETURNING}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .bind(changes.name)
            .bind(changes.phone.is_some())
            .bind(changes.phone.flatten())
            .bind(changes.preferences.map(sqlx::types::Json))
            .bind(Utc::now())
            .fetch_optional(self.writer())
            .await
            .map_err(error::other)?;
        row.as_ref().map(from_row).transpose().map_err(error::other)
    }

    async fn set_customer_password(&self, id: CustomerId, password_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE customers SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id.0)
            .bind(password_hash)
            .bind(Utc::now())
            .execute(self.writer())
            .await
            .map_err(error::other)?;
        Ok(())
    }

    async fn mark_email_verified(&self, id: CustomerId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE customers SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
        .execute(self.writer())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn erase_customer(&self, id: CustomerId) -> StoreResult<()> {
        let now = Utc::now();
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query(
            "UPDATE customers SET email = $2, name = '', phone = NULL, google_id = NULL, apple_id = NULL,
                 password_hash = NULL, preferences = '{}', deleted_at = $3, updated_at = $3
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(format!("erased+{}@invalid", id.0.simple()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        sqlx::query("DELETE FROM consents WHERE customer_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        tx.commit().await.map_err(error::other)
    }

    async fn set_marketing_consent(
        &self,
        customer: CustomerId,
        business: BusinessId,
        marketing: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (customer_id, business_id, marketing, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (customer_id, business_id) DO UPDATE SET marketing = $3, updated_at = $4",
        )
        .bind(customer.0)
        .bind(business.0)
        .bind(marketing)
        .bind(at)
        .execute(self.writer())
        .await
        .map_err(error::other)?;
        Ok(())
    }

    async fn consents(&self, customer: CustomerId) -> StoreResult<Vec<Consent>> {
        let rows = sqlx::query(
            "SELECT business_id, marketing, updated_at FROM consents WHERE customer_id = $1 ORDER BY business_id",
        )
        .bind(customer.0)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter()
            .map(|r| {
                Ok(Consent {
                    business_id: BusinessId(r.try_get("business_id")?),
                    marketing: r.try_get("marketing")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(error::other)
    }

    async fn customer_erased(&self, id: CustomerId) -> StoreResult<bool> {
        let erased: Option<bool> = sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM customers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?;
        Ok(erased.unwrap_or(false))
    }
}

fn social_column(provider: SocialProvider) -> &'static str {
    match provider {
        SocialProvider::Google => "google_id",
        SocialProvider::Apple => "apple_id",
    }
}
