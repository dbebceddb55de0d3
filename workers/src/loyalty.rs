//! The loyalty processor (`transaction` queue, and a schedule):
//!
//! - when a transaction lifts a card over a reward's cost, it queues the
//!   "reward earned" email;
//! - on its schedule, it queues "points expiring soon" notices for points that
//!   expire within the notice window.
//!
//! Email event ids are derived from what caused them (the transaction; the
//! card and the expiry time), so a redelivery or a second scheduled run
//! queues the same events and the email worker sends each once. It never
//! changes a card itself: the expiry sweep goes through the card runtime's
//! commands and versioned commit (`stampede::sweeps`), as POS traffic does.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::messages::{EmailMessage, derived_id};
use stampede_domain::ports::{Queue, QueueMessage, Store};
use stampede_domain::program::Reward;

use crate::failure::Failure;

/// Rewards by program, as read during one batch.
type Rewards = HashMap<uuid::Uuid, Vec<Reward>>;

pub struct LoyaltyProcessor {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    /// Base of links in emails (`server.public_url`).
    pub public_url: String,
}

impl LoyaltyProcessor {
    /// Queue "points expiring soon" notices for points cards with points
    /// expiring in `(now, now + window]`; at most `limit` cards per run.
    /// Returns the emails queued.
    pub async fn expiring_soon(
        &self,
        now: chrono::DateTime<Utc>,
        window: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<EmailMessage>, Failure> {
        let horizon = now + window;
        let mut emails = Vec::new();
        for card_id in self.store.cards_due_for_expiry(horizon, limit).await? {
            let Some(card) = self.store.get_card(card_id).await? else { continue };
            let soon: Vec<_> = card
                .book
                .lots
                .iter()
                .filter(|l| l.remaining > 0 && l.expires_at.is_some_and(|e| e > now && e <= horizon))
                .collect();
            let Some(first) = soon.iter().filter_map(|l| l.expires_at).min() else { continue };
            let amount: i64 = soon.iter().map(|l| l.remaining).sum();
            let Some(program) = self.store.get_program(card.program_id).await? else { continue };
            if !matches!(program.rules, stampede_domain::program::ProgramRules::Points(_)) {
                continue;
            }
            let Some(business) = self.store.get_business(card.business_id).await? else { continue };
            let values = BTreeMap::from([
                ("business".to_owned(), business.name.clone()),
                ("program".to_owned(), program.name.clone()),
                ("amount".to_owned(), amount.to_string()),
                ("date".to_owned(), first.format("%Y-%m-%d").to_string()),
                ("balance".to_owned(), card.state().balance_at(now).to_string()),
                ("link".to_owned(), format!("{}/me/cards/{}", self.public_url.trim_end_matches('/'), card.id.0)),
            ]);
            emails.push(EmailMessage {
                schema_version: EmailMessage::SCHEMA_VERSION,
                event_id: derived_id(&["points_expiring", &card.id.0.to_string(), &first.timestamp().to_string()]),
                template: crate::email::Template::PointsExpiring.name().into(),
                customer_id: Some(card.customer_id),
                to: None,
                business_id: None,
                values,
                request_id: None,
                mailing_id: None,
            });
        }
        self.publish(&emails).await?;
        Ok(emails)
    }

    async fn publish(&self, emails: &[EmailMessage]) -> Result<(), Failure> {
        if emails.is_empty() {
            return Ok(());
        }
        let messages = emails
            .iter()
            .map(|m| {
                Ok(QueueMessage {
                    id: m.event_id,
                    message_type: EmailMessage::MESSAGE_TYPE.into(),
                    schema_version: EmailMessage::SCHEMA_VERSION,
                    request_id: m.request_id.clone(),
                    body: serde_json::to_string(m).map_err(|e| Failure::Permanent(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        self.queue.publish("email", &messages).await.map_err(|e| Failure::Retryable(e.to_string()))
    }

    /// Handle one transaction message; returns the emails it queued.
    pub async fn handle(&self, body: &str) -> Result<Vec<EmailMessage>, Failure> {
        self.handle_with(body, &mut HashMap::new()).await
    }

    /// Handle a batch of transaction messages, one outcome each, reading each
    /// program's rewards once per batch rather than once per message (under
    /// load a batch is a few hundred transactions of a handful of programs).
    pub async fn handle_batch(&self, bodies: &[&str]) -> Vec<Result<Vec<EmailMessage>, Failure>> {
        let mut rewards = HashMap::new();
        let mut out = Vec::with_capacity(bodies.len());
        for body in bodies {
            out.push(self.handle_with(body, &mut rewards).await);
        }
        out
    }

    async fn handle_with(&self, body: &str, rewards: &mut Rewards) -> Result<Vec<EmailMessage>, Failure> {
        let tx: TransactionMessage =
            serde_json::from_str(body).map_err(|e| Failure::Permanent(format!("not a transaction message: {e}")))?;
        if tx.schema_version != TransactionMessage::SCHEMA_VERSION {
            return Err(Failure::Permanent(format!("unknown schema version {}", tx.schema_version)));
        }
        let mut queued = Vec::new();
        if let Some(email) = self.reward_earned(&tx, rewards).await? {
            queued.push(email);
        }
        self.publish(&queued).await?;
        Ok(queued)
    }

    /// The "reward earned" email, if this transaction crossed a reward's cost.
    async fn reward_earned(
        &self,
        tx: &TransactionMessage,
        known: &mut Rewards,
    ) -> Result<Option<EmailMessage>, Failure> {
        if !Reward::may_be_earned(tx.transaction_type, tx.amount) {
            return Ok(None);
        }
        let now = Utc::now();
        let rewards = match known.entry(tx.program_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(self.store.list_rewards(tx.program_id).await?),
        };
        // The most valuable reward the card newly covers.
        let Some(reward) = rewards
            .iter()
            .filter(|r| {
                r.available_at(now) && Reward::newly_covered(r.cost, tx.transaction_type, tx.amount, tx.balance_after)
            })
            .max_by_key(|r| r.cost)
        else {
            return Ok(None);
        };
        let program = self.store.get_program(tx.program_id).await?;
        let business = self.store.get_business(tx.business_id).await?;
        let (Some(program), Some(business)) = (program, business) else { return Ok(None) };
        let values = BTreeMap::from([
            ("business".to_owned(), business.name.clone()),
            ("program".to_owned(), program.name.clone()),
            ("reward".to_owned(), reward.name.clone()),
            ("link".to_owned(), format!("{}/me/cards/{}", self.public_url.trim_end_matches('/'), tx.card_id.0)),
        ]);
        Ok(Some(EmailMessage {
            schema_version: EmailMessage::SCHEMA_VERSION,
            event_id: derived_id(&["reward_earned", &tx.transaction_id.to_string()]),
            template: crate::email::Template::RewardEarned.name().into(),
            customer_id: Some(tx.customer_id),
            to: None,
            business_id: None,
            values,
            request_id: tx.request_id.clone(),
            mailing_id: None,
        }))
    }
}
