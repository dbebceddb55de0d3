//! The card directory: a card's unchanging facts (program, business, customer)
//! by id and by counter code, cached in process. Cards are never re-assigned, so
//! the cache needs no invalidation; it keeps the POS path off the database until
//! the commit. A card it has not seen is read through the card runtime's
//! batched reads ([`CardReads`]): in a burst of cold cards, many to a query.

use std::sync::Arc;

use moka::future::Cache;
use stampede_actors::CardReads;
use stampede_domain::card::Card;
use stampede_domain::ids::{BusinessId, CardId, CustomerId};
use stampede_domain::ports::StoreResult;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardFacts {
    pub id: CardId,
    pub program_id: Uuid,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
}

/// A card found in the directory.
pub struct Resolved {
    pub facts: CardFacts,
    /// The whole card, when the lookup had to read it from the store: its
    /// state as of now, which the card runtime can start from instead of
    /// reading it again (a copy gone stale is caught by the commit's version
    /// check).
    pub fresh: Option<Box<Card>>,
}

pub struct Directory {
    by_id: Cache<CardId, CardFacts>,
    by_code: Cache<String, CardId>,
    reads: Arc<CardReads>,
}

impl Directory {
    pub fn new(reads: Arc<CardReads>, capacity: u64) -> Self {
        Self { by_id: Cache::new(capacity), by_code: Cache::new(capacity), reads }
    }

    /// The card as stored now (read with other cold cards).
    pub async fn read(&self, id: CardId) -> StoreResult<Option<Card>> {
        self.reads.by_id(id).await
    }

    pub async fn by_id(&self, id: CardId) -> StoreResult<Option<CardFacts>> {
        Ok(self.resolve_id(id).await?.map(|r| r.facts))
    }

    pub async fn by_code(&self, code: &str) -> StoreResult<Option<CardFacts>> {
        Ok(self.resolve_code(code).await?.map(|r| r.facts))
    }

    /// The card's facts and, when they were not cached, the card as read just
    /// now (so the caller need not read it again).
    pub async fn resolve_id(&self, id: CardId) -> StoreResult<Option<Resolved>> {
        if let Some(facts) = self.by_id.get(&id).await {
            return Ok(Some(Resolved { facts, fresh: None }));
        }
        let Some(card) = self.reads.by_id(id).await? else { return Ok(None) };
        Ok(Some(self.remember(card).await))
    }

    /// As [`Directory::resolve_id`], by the code scanned at the counter.
    pub async fn resolve_code(&self, code: &str) -> StoreResult<Option<Resolved>> {
        let code = code.trim().to_ascii_uppercase();
        if let Some(id) = self.by_code.get(&code).await {
            return self.resolve_id(id).await;
        }
        let Some(card) = self.reads.by_code(&code).await? else { return Ok(None) };
        self.by_code.insert(code, card.id).await;
        Ok(Some(self.remember(card).await))
    }

    async fn remember(&self, card: Card) -> Resolved {
        let facts = CardFacts {
            id: card.id,
            program_id: card.program_id,
            business_id: card.business_id,
            customer_id: card.customer_id,
        };
        self.by_id.insert(card.id, facts).await;
        Resolved { facts, fresh: Some(Box::new(card)) }
    }
}
