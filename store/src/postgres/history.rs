use async_trait::async_trait;
use stampede_domain::ids::{CardId, CustomerId};
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::page::{Page, PageRequest};
use stampede_domain::ports::{HistoryStore, LedgerRepo, StoreResult};

use super::PgStore;
use super::ledger::Owner;
use crate::error;
use crate::ledger_common::history_message as message;

/// The transaction history of the SQL backend is the ledger itself: every
/// committed transaction is a ledger row, written in the commit that
/// acknowledged it, so there is nothing to copy (DynamoDB's history is the
/// copy the relay fills). Reads page the ledger, newest first.
#[async_trait]
impl HistoryStore for PgStore {
    async fn put_transactions(&self, _items: &[TransactionMessage]) -> StoreResult<()> {
        // The ledger rows are there since their commit: a second copy would
        // only cost the writer (on SQLite, the one writer) index pages.
        Ok(())
    }

    async fn card_history(&self, card: CardId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        Ok(self.card_entries(card, page).await?.map(|e| message(&e)))
    }

    async fn customer_history(&self, customer: CustomerId, page: PageRequest) -> StoreResult<Page<TransactionMessage>> {
        Ok(self.entries_page(Owner::Customer, customer.0, page).await?.map(|e| message(&e)))
    }

    async fn count_history(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM loyalty.transactions")
            .fetch_one(self.pool())
            .await
            .map_err(error::other)
    }
}
