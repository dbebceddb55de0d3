use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use std::collections::HashSet;

use sqlx::{Postgres, QueryBuilder, Row};
use stampede_domain::analytics::{
    AnalyticsQuery, DailyAggregate, TransactionEvent, UsageCount, UsageDelta, UsageTally,
};
use stampede_domain::ids::{BusinessId, StoreId};
use stampede_domain::ports::{AnalyticsRepo, StoreResult};
use uuid::Uuid;

use super::PgStore;
use crate::error;
use crate::tally::{ADD_TO_ROW, Tally};

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

/// Events per multi-row statement (9 columns × 500 stays far below either
/// database's limit on bound parameters).
const CHUNK: usize = 500;

/// Apply a chunk of events in the caller's transaction with one multi-row
/// statement per step (the in-process worker's single SQLite writer pays a
/// round trip per statement, so per-event statements bounded it): record the
/// event ids, keeping those seen for the first time; count each customer active
/// once per day and new once per business; add the sums to each day's row.
async fn apply_chunk(tx: &mut sqlx::PgConnection, events: &[TransactionEvent]) -> StoreResult<usize> {
    // (1) Which events are new (a repeat within the chunk counts once).
    let mut ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut q = QueryBuilder::<Postgres>::new("INSERT INTO analytics.processed_events (event_id, processed_at) ");
    let now = Utc::now();
    q.push_values(&ids, |mut b, id| {
        b.push_bind(*id).push_bind(now);
    });
    q.push(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
    let mut fresh: HashSet<Uuid> = HashSet::new();
    for row in q.build().fetch_all(&mut *tx).await.map_err(error::other)? {
        fresh.insert(row.try_get(0).map_err(error::other)?);
    }
    let new_events: Vec<&TransactionEvent> = events.iter().filter(|e| fresh.remove(&e.event_id)).collect();
    if new_events.is_empty() {
        return Ok(0);
    }
    // (2) Visits: active once per day and row, new once per business (on the
    // row of the customer's first visit in the chunk).
    let mut tally = Tally::of(new_events.iter().map(|e| (&e.delta, e.visit)));
    if !tally.active.is_empty() {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO analytics.daily_customers (business_id, store_id, program_id, day, customer_id) ",
        );
        q.push_values(&tally.active, |mut b, ((business, store, program, day), customer)| {
            b.push_bind(*business).push_bind(*store).push_bind(*program).push_bind(*day).push_bind(*customer);
        });
        q.push(" ON CONFLICT DO NOTHING RETURNING business_id, store_id, program_id, day");
        let rows = q.build().fetch_all(&mut *tx).await.map_err(error::other)?;
        for row in rows {
            let key = (
                row.try_get(0).map_err(error::other)?,
                row.try_get(1).map_err(error::other)?,
                row.try_get(2).map_err(error::other)?,
                row.try_get(3).map_err(error::other)?,
            );
            tally.counted_active(key);
        }
        let mut q = QueryBuilder::<Postgres>::new("INSERT INTO analytics.first_seen (business_id, customer_id, day) ");
        q.push_values(&tally.firsts, |mut b, ((business, customer), key)| {
            b.push_bind(*business).push_bind(*customer).push_bind(key.3);
        });
        q.push(" ON CONFLICT DO NOTHING RETURNING business_id, customer_id");
        let rows = q.build().fetch_all(&mut *tx).await.map_err(error::other)?;
        for row in rows {
            tally.counted_new(row.try_get(0).map_err(error::other)?, row.try_get(1).map_err(error::other)?);
        }
    }

    // (3) One upsert per row touched.
    let mut q = QueryBuilder::<Postgres>::new(
        "INSERT INTO analytics.daily_aggregates AS a
             (business_id, store_id, program_id, day, stamps_issued, points_earned, rewards_redeemed,
              active_customers, new_customers) ",
    );
    q.push_values(&tally.sums, |mut b, ((business, store, program, day), s)| {
        b.push_bind(*business)
            .push_bind(*store)
            .push_bind(*program)
            .push_bind(*day)
            .push_bind(s.stamps)
            .push_bind(s.points)
            .push_bind(s.redeemed)
            .push_bind(s.active)
            .push_bind(s.new);
    });
    q.push(ADD_TO_ROW);
    q.build().execute(&mut *tx).await.map_err(error::other)?;
    Ok(new_events.len())
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
        for chunk in events.chunks(CHUNK) {
            applied += apply_chunk(&mut tx, chunk).await?;
        }
        tx.commit().await.map_err(error::other)?;
        Ok(applied)
    }

    async fn apply_usages(&self, events: &[UsageTally]) -> StoreResult<usize> {
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        let mut applied = 0;
        for e in events {
            if !first_time(&mut tx, e.event_id).await? {
                continue;
            }
            sqlx::query(
                "INSERT INTO analytics.usage_daily AS u (day, event, business_id, count) VALUES ($1, $2, $3, 1)
                 ON CONFLICT (day, event, business_id) DO UPDATE SET count = u.count + 1",
            )
            .bind(e.day)
            .bind(&e.event)
            .bind(e.business_id.map_or(Uuid::nil(), |b| b.0))
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
            applied += 1;
        }
        tx.commit().await.map_err(error::other)?;
        Ok(applied)
    }

    async fn add_usage(&self, counts: &[UsageDelta]) -> StoreResult<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        for c in counts {
            sqlx::query(
                "INSERT INTO analytics.usage_daily AS u (day, event, business_id, count) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (day, event, business_id) DO UPDATE SET count = u.count + excluded.count",
            )
            .bind(c.day)
            .bind(&c.event)
            .bind(c.business_id.map_or(Uuid::nil(), |b| b.0))
            .bind(c.count)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        }
        tx.commit().await.map_err(error::other)
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
