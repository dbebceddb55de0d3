//! The loyalty processor (`transaction` queue): reacts to committed
//! transactions. Today: when a transaction lifts a card over a reward's cost,
//! it queues the "reward earned" email. The email's event id is derived from
//! the transaction id, so a redelivered transaction queues the same event and
//! the email worker sends it once.
//!
//! It never changes a card itself; what would (campaign follow-ups, the expiry
//! sweep) goes through the card runtime's commands, as the API does.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use stampede_domain::card::TxKind;
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::messages::{EmailMessage, derived_id};
use stampede_domain::ports::{Queue, QueueMessage, Store};

use crate::failure::Failure;

pub struct LoyaltyProcessor {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    /// Base of links in emails (`server.public_url`).
    pub public_url: String,
}

impl LoyaltyProcessor {
    /// Handle one transaction message; returns the emails it queued.
    pub async fn handle(&self, body: &str) -> Result<Vec<EmailMessage>, Failure> {
        let tx: TransactionMessage =
            serde_json::from_str(body).map_err(|e| Failure::Permanent(format!("not a transaction message: {e}")))?;
        if tx.schema_version != TransactionMessage::SCHEMA_VERSION {
            return Err(Failure::Permanent(format!("unknown schema version {}", tx.schema_version)));
        }
        let mut queued = Vec::new();
        if let Some(email) = self.reward_earned(&tx).await? {
            queued.push(email);
        }
        if !queued.is_empty() {
            let messages = queued
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
            self.queue.publish("email", &messages).await.map_err(|e| Failure::Retryable(e.to_string()))?;
        }
        Ok(queued)
    }

    /// The "reward earned" email, if this transaction crossed a reward's cost.
    async fn reward_earned(&self, tx: &TransactionMessage) -> Result<Option<EmailMessage>, Failure> {
        let earning =
            matches!(tx.transaction_type, TxKind::StampIssuance | TxKind::PointsAddition | TxKind::Adjustment);
        if !earning || tx.amount <= 0 {
            return Ok(None);
        }
        let before = tx.balance_after - tx.amount;
        let now = Utc::now();
        let rewards = self.store.list_rewards(tx.program_id).await?;
        // The most valuable reward the card newly covers.
        let Some(reward) = rewards
            .iter()
            .filter(|r| r.available_at(now) && before < r.cost && r.cost <= tx.balance_after)
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
            template: "reward_earned".into(),
            customer_id: Some(tx.customer_id),
            to: None,
            values,
            request_id: tx.request_id.clone(),
        }))
    }
}
