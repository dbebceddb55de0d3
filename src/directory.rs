//! The card directory: a card's unchanging facts (program, business, customer)
//! by id and by counter code, cached in process. Cards are never re-assigned, so
//! the cache needs no invalidation; it keeps the POS path off the database until
//! the commit.

use std::sync::Arc;

use moka::future::Cache;
use stampede_domain::ids::{BusinessId, CardId, CustomerId};
use stampede_domain::ports::{Store, StoreResult};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardFacts {
    pub id: CardId,
    pub program_id: Uuid,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
}

pub struct Directory {
    by_id: Cache<CardId, CardFacts>,
    by_code: Cache<String, CardId>,
    store: Arc<dyn Store>,
}

impl Directory {
    pub fn new(store: Arc<dyn Store>, capacity: u64) -> Self {
        Self { by_id: Cache::new(capacity), by_code: Cache::new(capacity), store }
    }

    pub async fn by_id(&self, id: CardId) -> StoreResult<Option<CardFacts>> {
        if let Some(f) = self.by_id.get(&id).await {
            return Ok(Some(f));
        }
        let Some(card) = self.store.get_card(id).await? else { return Ok(None) };
        let facts =
            CardFacts { id, program_id: card.program_id, business_id: card.business_id, customer_id: card.customer_id };
        self.by_id.insert(id, facts).await;
        Ok(Some(facts))
    }

    pub async fn by_code(&self, code: &str) -> StoreResult<Option<CardFacts>> {
        let code = code.trim().to_ascii_uppercase();
        if let Some(id) = self.by_code.get(&code).await {
            return self.by_id(id).await;
        }
        let Some(card) = self.store.find_card_by_code(&code).await? else { return Ok(None) };
        self.by_code.insert(code, card.id).await;
        self.by_id(card.id).await
    }
}
