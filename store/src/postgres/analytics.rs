use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use sqlx::Row;
use stampede_domain::analytics::{AnalyticsQuery, DailyAggregate, TransactionEvent, UsageCount};
use stampede_domain::ids::{BusinessId, StoreId};
use stampede_domain::ports::{AnalyticsRepo, StoreResult};
use uuid::Uuid;

use super::PgStore;
use crate::error;

/// "No store" is kept as the nil uuid so it can be part of a primary key.
fn store_key(store: Option<StoreId>) -> Uuid {
    store.map_or(Uuid::nil(), |s| s.0)
}

/// Record that the event was applied; false if it had been before.
async fn first_time(tx: &mut sqlx::PgConnection, event_id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO analytics.processed_events (event_id, processed_at) VALUES ($1, $2)
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(Utc::now())
    .execute(tx)
    .await
    .map_err(error::other)?;
    Ok(done.rows_affected() == 1)
}

async fn apply_one(tx: &mut sqlx::PgConnection, e: &TransactionEvent) -> StoreResult<bool> {
    let (event_id, d, visit) = (e.event_id, &e.delta, e.visit);
    if !first_time(&mut *tx, event_id).await? {
        return Ok(false);
    }
    let store = store_key(d.store_id);
    let (mut active, mut new) = (0i64, 0i64);
    if visit {
        active = sqlx::query(
            "INSERT INTO analytics.daily_customers (business_id, store_id, program_id, day, customer_id)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(d.business_id.0)
        .bind(store)
        .bind(d.program_id)
        .bind(d.day)
        .bind(d.customer_id.0)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?
        .rows_affected() as i64;
        new = sqlx::query(
            "INSERT INTO analytics.first_seen (business_id, customer_id, day) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(d.business_id.0)
        .bind(d.customer_id.0)
        .bind(d.day)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?
        .rows_affected() as i64;
    }
    sqlx::query(
        "INSERT INTO analytics.daily_aggregates AS a
             (business_id, store_id, program_id, day, stamps_issued, points_earned, rewards_redeemed,
              active_customers, new_customers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (business_id, store_id, program_id, day) DO UPDATE SET
             stamps_issued = a.stamps_issued + excluded.stamps_issued,
             points_earned = a.points_earned + excluded.points_earned,
             rewards_redeemed = a.rewards_redeemed + excluded.rewards_redeemed,
             active_customers = a.active_customers + excluded.active_customers,
             new_customers = a.new_customers + excluded.new_customers",
    )
    .bind(d.business_id.0)
    .bind(store)
    .bind(d.program_id)
    .bind(d.day)
    .bind(d.stamps_issued)
    .bind(d.points_earned)
    .bind(d.rewards_redeemed)
    .bind(active)
    .bind(new)
    .execute(&mut *tx)
    .await
    .map_err(error::other)?;
    Ok(true)
}

/// The analytics worker's aggregates: per event, one transaction that records
/// the event id first (a repeat changes nothing), then adds to the day's row and
/// counts the customer as active (once per day) and new (once per business).
#[async_trait]
impl AnalyticsRepo for PgStore {
    async fn apply_transactions(&self, events: &[TransactionEvent]) -> StoreResult<usize> {
        // One transaction for the batch: the in-process worker hands over what
        // it took at once, so SQLite sees one writer lock, not one per event.
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let mut applied = 0;
        for e in events {
            if apply_one(&mut tx, e).await? {
                applied += 1;
            }
        }
        tx.commit().await.map_err(error::other)?;
        Ok(applied)
    }

    async fn apply_usage(
        &self,
        event_id: Uuid,
        day: NaiveDate,
        event: &str,
        business_id: Option<BusinessId>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        if !first_time(&mut tx, event_id).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO analytics.usage_daily AS u (day, event, business_id, count) VALUES ($1, $2, $3, 1)
             ON CONFLICT (day, event, business_id) DO UPDATE SET count = u.count + 1",
        )
        .bind(day)
        .bind(event)
        .bind(business_id.map_or(Uuid::nil(), |b| b.0))
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        tx.commit().await.map_err(error::other)?;
        Ok(true)
    }

    async fn daily_aggregates(&self, q: &AnalyticsQuery) -> StoreResult<Vec<DailyAggregate>> {
        let rows = sqlx::query(
            "SELECT day, store_id, program_id, stamps_issued, points_earned, rewards_redeemed,
                    active_customers, new_customers
             FROM analytics.daily_aggregates
             WHERE business_id = $1 AND day >= $2 AND day <= $3
               AND ($4 IS NULL OR store_id = $4) AND ($5 IS NULL OR program_id = $5)
             ORDER BY day, store_id, program_id",
        )
        .bind(q.business_id.0)
        .bind(q.from)
        .bind(q.to)
        .bind(q.store_id.map(|s| s.0))
        .bind(q.program_id)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter()
            .map(|r| {
                let store: Uuid = r.try_get("store_id")?;
                Ok(DailyAggregate {
                    day: r.try_get("day")?,
                    store_id: (!store.is_nil()).then_some(StoreId(store)),
                    program_id: r.try_get("program_id")?,
                    stamps_issued: r.try_get("stamps_issued")?,
                    points_earned: r.try_get("points_earned")?,
                    rewards_redeemed: r.try_get("rewards_redeemed")?,
                    active_customers: r.try_get("active_customers")?,
                    new_customers: r.try_get("new_customers")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(error::other)
    }

    async fn usage_counts(
        &self,
        business_id: Option<BusinessId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<UsageCount>> {
        let rows = sqlx::query(
            "SELECT day, event, count FROM analytics.usage_daily
             WHERE business_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, event",
        )
        .bind(business_id.map_or(Uuid::nil(), |b| b.0))
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter()
            .map(|r| Ok(UsageCount { day: r.try_get("day")?, event: r.try_get("event")?, count: r.try_get("count")? }))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(error::other)
    }
}
