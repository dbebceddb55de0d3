//! Marketing mailings. Creating one fixes its audience in the same
//! statement's transaction (one `INSERT … SELECT`), with the audit event
//! staged beside it; the relay and the email worker move each recipient on
//! with conditional updates, so repeating either changes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use stampede_domain::identity::AuditEvent;
use stampede_domain::ids::{BusinessId, CustomerId, StaffId};
use stampede_domain::marketing::{Audience, Mailing, NewMailing, QueuedRecipient};
use stampede_domain::ports::{MailingRepo, StoreError, StoreResult};
use uuid::Uuid;

use super::SqliteStore;
use super::audit::stage;
use crate::error;

/// The audience's members, as `customer_id`: $1 business, $2 program, $3 used
/// since, $4 unused since.
macro_rules! audience {
    () => {
        "SELECT c.customer_id FROM cards c
     JOIN consents k ON k.customer_id = c.customer_id AND k.business_id = c.business_id AND k.marketing
     JOIN customers u ON u.id = c.customer_id AND u.deleted_at IS NULL AND u.email_verified_at IS NOT NULL
     WHERE c.business_id = $1 AND c.program_id = $2
       AND ($3 IS NULL OR c.updated_at >= $3)
       AND ($4 IS NULL OR c.updated_at < $4)"
    };
}

macro_rules! with_progress {
    () => {
        "SELECT m.id, m.business_id, m.program_id, m.active_within_days, m.inactive_for_days,
            m.subject, m.body, m.created_by, m.created_at, m.recipients,
            count(*) FILTER (WHERE r.status IN ('queued', 'published')) AS pending,
            count(*) FILTER (WHERE r.status = 'sent') AS sent,
            count(*) FILTER (WHERE r.status = 'skipped') AS skipped
     FROM mailings m LEFT JOIN mailing_recipients r ON r.mailing_id = m.id"
    };
}

fn days(v: Option<i32>) -> Option<u32> {
    v.and_then(|d| u32::try_from(d).ok())
}

fn from_row(row: &SqliteRow) -> Result<Mailing, StoreError> {
    let get = |e: sqlx::Error| error::other(e);
    Ok(Mailing {
        id: row.try_get("id").map_err(get)?,
        business_id: BusinessId(row.try_get("business_id").map_err(get)?),
        audience: Audience {
            program_id: row.try_get("program_id").map_err(get)?,
            active_within_days: days(row.try_get("active_within_days").map_err(get)?),
            inactive_for_days: days(row.try_get("inactive_for_days").map_err(get)?),
        },
        subject: row.try_get("subject").map_err(get)?,
        body: row.try_get("body").map_err(get)?,
        created_by: StaffId(row.try_get("created_by").map_err(get)?),
        created_at: row.try_get("created_at").map_err(get)?,
        recipients: row.try_get("recipients").map_err(get)?,
        pending: row.try_get("pending").map_err(get)?,
        sent: row.try_get("sent").map_err(get)?,
        skipped: row.try_get("skipped").map_err(get)?,
    })
}

fn int(d: Option<u32>) -> Option<i32> {
    d.and_then(|d| i32::try_from(d).ok())
}

#[async_trait]
impl MailingRepo for SqliteStore {
    async fn audience_size(&self, business: BusinessId, audience: &Audience, now: DateTime<Utc>) -> StoreResult<i64> {
        let (since, unused) = audience.window(now);
        sqlx::query_scalar(concat!("SELECT count(*) FROM (", audience!(), ") a"))
            .bind(business.0)
            .bind(audience.program_id)
            .bind(since)
            .bind(unused)
            .fetch_one(self.pool())
            .await
            .map_err(error::other)
    }

    async fn create_mailing(&self, new: &NewMailing, audit: &AuditEvent) -> StoreResult<Mailing> {
        let a = new.audience;
        let (since, unused) = a.window(new.created_at);
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query(
            "INSERT INTO mailings (id, business_id, program_id, active_within_days, inactive_for_days,
                 subject, body, created_by, created_at, recipients)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
        )
        .bind(new.id)
        .bind(new.business_id.0)
        .bind(a.program_id)
        .bind(int(a.active_within_days))
        .bind(int(a.inactive_for_days))
        .bind(new.subject.as_str())
        .bind(new.body.as_str())
        .bind(new.created_by.0)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        let sql = concat!(
            "INSERT INTO mailing_recipients (mailing_id, customer_id, status)
             SELECT $5, a.customer_id, 'queued' FROM (",
            audience!(),
            ") a"
        );
        let recipients = sqlx::query(sql)
            .bind(new.business_id.0)
            .bind(a.program_id)
            .bind(since)
            .bind(unused)
            .bind(new.id)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?
            .rows_affected();
        let recipients = i64::try_from(recipients).unwrap_or(i64::MAX);
        sqlx::query("UPDATE mailings SET recipients = $2 WHERE id = $1")
            .bind(new.id)
            .bind(recipients)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        stage(&mut tx, audit).await?;
        tx.commit().await.map_err(error::other)?;
        Ok(Mailing {
            id: new.id,
            business_id: new.business_id,
            audience: a,
            subject: new.subject.as_str().to_owned(),
            body: new.body.as_str().to_owned(),
            created_by: new.created_by,
            created_at: new.created_at,
            recipients,
            pending: recipients,
            sent: 0,
            skipped: 0,
        })
    }

    async fn list_mailings(&self, business: BusinessId) -> StoreResult<Vec<Mailing>> {
        let sql =
            concat!(with_progress!(), " WHERE m.business_id = $1 GROUP BY m.id ORDER BY m.created_at DESC LIMIT 100");
        let rows = sqlx::query(sql).bind(business.0).fetch_all(self.pool()).await.map_err(error::other)?;
        rows.iter().map(from_row).collect()
    }

    async fn queued_recipients(&self, limit: i64) -> StoreResult<Vec<QueuedRecipient>> {
        let rows = sqlx::query(
            "SELECT r.mailing_id, m.business_id, r.customer_id, m.subject, m.body
             FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id
             WHERE r.status = 'queued' ORDER BY m.created_at, r.customer_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter()
            .map(|row| {
                Ok(QueuedRecipient {
                    mailing_id: row.try_get("mailing_id").map_err(error::other)?,
                    business_id: BusinessId(row.try_get("business_id").map_err(error::other)?),
                    customer_id: CustomerId(row.try_get("customer_id").map_err(error::other)?),
                    subject: row.try_get("subject").map_err(error::other)?,
                    body: row.try_get("body").map_err(error::other)?,
                })
            })
            .collect()
    }

    async fn recipients_published(&self, mailing_id: Uuid, customers: &[CustomerId]) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        for c in customers {
            sqlx::query(
                "UPDATE mailing_recipients SET status = 'published'
                 WHERE mailing_id = $1 AND customer_id = $2 AND status = 'queued'",
            )
            .bind(mailing_id)
            .bind(c.0)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        }
        tx.commit().await.map_err(error::other)
    }

    async fn recipient_handled(&self, mailing_id: Uuid, customer: CustomerId, sent: bool) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mailing_recipients SET status = $3
             WHERE mailing_id = $1 AND customer_id = $2 AND status IN ('queued', 'published')",
        )
        .bind(mailing_id)
        .bind(customer.0)
        .bind(if sent { "sent" } else { "skipped" })
        .execute(self.writer())
        .await
        .map_err(error::other)?;
        Ok(())
    }
}
