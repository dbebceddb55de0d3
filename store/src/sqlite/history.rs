use async_trait::async_trait;
use stampede_domain::ids::{CardId, CustomerId};
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{HistoryStore, LedgerRepo, StoreResult};

use super::SqliteStore;
use super::ledger::{ENTRY, entry_from_row};
use crate::error;
use crate::ledger_common::history_message as message;

/// The transaction history of the SQL backend is the ledger itself: every
/// committed transaction is a ledger row, written in the commit that
/// acknowledged it, so there is nothing to copy (DynamoDB's history is the
/// copy the relay fills). Reads page the ledger, newest first.
#[async_trait]
impl HistoryStore for SqliteStore {
    async fn put_transactions(&self, _items: &[TransactionMessage]) -> StoreResult<()> {
        // The ledger rows are there since their commit: a second copy would
        // only cost the writer (on SQLite, the one writer) index pages.
        Ok(())
    }

    async fn card_history(&self, card: CardId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        let entries = self.card_entries(card, page).await?;
        Ok(Page { items: entries.items.iter().map(message).collect(), next_cursor: entries.next_cursor })
    }

    async fn customer_history(&self, customer: CustomerId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        let sql = format!("{ENTRY} WHERE customer_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(customer.0)
            .bind(page.after)
            .bind(page.fetch_limit())
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        let items = rows.iter().map(entry_from_row).collect::<Result<Vec<_>, _>>().map_err(error::other)?;
        let page = Page::from_rows(items, page, |e| e.id);
        Ok(Page { items: page.items.iter().map(message).collect(), next_cursor: page.next_cursor })
    }

    async fn count_history(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM transactions").fetch_one(self.pool()).await.map_err(error::other)
    }
}
