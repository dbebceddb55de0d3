use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};
use stampede_domain::ids::{CardId, CustomerId};
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{HistoryStore, StoreResult};

use super::PgStore;
use crate::error;

/// The transaction history store in SQL (the embedded default's stand-in for
/// DynamoDB): one row per transaction id, written idempotently.
#[async_trait]
impl HistoryStore for PgStore {
    async fn put_transactions(&self, items: &[TransactionMessage]) -> StoreResult<()> {
        // One multi-row statement per 500 items (a statement per item held
        // SQLite's one writer connection for a round trip each); an id twice
        // in one call is written once.
        let mut seen = HashSet::new();
        let unique: Vec<&TransactionMessage> = items.iter().filter(|m| seen.insert(m.transaction_id)).collect();
        let mut tx = self.pool().begin().await.map_err(error::other)?;
        for chunk in unique.chunks(500) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO loyalty.transaction_history (transaction_id, card_id, customer_id, at, item) ",
            );
            q.push_values(chunk, |mut b, m| {
                b.push_bind(m.transaction_id)
                    .push_bind(m.card_id.0)
                    .push_bind(m.customer_id.0)
                    .push_bind(m.timestamp)
                    .push_bind(Json(*m));
            });
            q.push(" ON CONFLICT (transaction_id) DO NOTHING");
            q.build().execute(&mut *tx).await.map_err(error::other)?;
        }
        tx.commit().await.map_err(error::other)
    }

    async fn card_history(&self, card: CardId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        let rows: Vec<Json<TransactionMessage>> = sqlx::query_scalar(
            "SELECT item FROM loyalty.transaction_history
             WHERE card_id = $1 AND ($2 IS NULL OR transaction_id < $2)
             ORDER BY transaction_id DESC LIMIT $3",
        )
        .bind(card.0)
        .bind(page.after)
        .bind(page.fetch_limit())
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        Ok(Page::from_rows(rows.into_iter().map(|j| j.0).collect(), page, |m| m.transaction_id))
    }

    async fn customer_history(&self, customer: CustomerId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        let rows: Vec<Json<TransactionMessage>> = sqlx::query_scalar(
            "SELECT item FROM loyalty.transaction_history
             WHERE customer_id = $1 AND ($2 IS NULL OR transaction_id < $2)
             ORDER BY transaction_id DESC LIMIT $3",
        )
        .bind(customer.0)
        .bind(page.after)
        .bind(page.fetch_limit())
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        Ok(Page::from_rows(rows.into_iter().map(|j| j.0).collect(), page, |m| m.transaction_id))
    }

    async fn count_history(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM loyalty.transaction_history")
            .fetch_one(self.pool())
            .await
            .map_err(error::other)
    }
}
