//! A customer's cards: list with balances and progress, and the counter code.

pub mod adjust;
pub mod code;
pub mod history;
pub mod mine;
pub mod transactions;

use chrono::Utc;
use serde::Serialize;
use stampede_domain::card::Card;
use stampede_domain::program::{ProgramRules, Reward};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::cached::ProgramBundle;

#[derive(Serialize, ToSchema)]
pub struct CardView {
    pub id: Uuid,
    pub program_id: Uuid,
    pub program_name: String,
    /// `stamps` or `points`.
    pub kind: &'static str,
    /// What counts now (expired stamps or points excluded).
    pub balance: i64,
    /// For stamp cards: stamps still needed for a full card.
    pub stamps_to_next_reward: Option<i64>,
    /// Rewards the balance covers right now.
    #[schema(value_type = Vec<Object>)]
    pub redeemable: Vec<Reward>,
    pub joined_at: chrono::DateTime<Utc>,
}

impl CardView {
    pub fn new(card: &Card, bundle: &ProgramBundle) -> Self {
        let now = Utc::now();
        let balance = card.state().balance_at(now);
        let stamps_to_next_reward = match &bundle.program.rules {
            ProgramRules::Stamps(r) => {
                let per = i64::from(r.stamps_per_reward.max(1));
                Some(per - balance % per)
            }
            ProgramRules::Points(_) => None,
        };
        Self {
            id: card.id.0,
            program_id: card.program_id,
            program_name: bundle.program.name.clone(),
            kind: bundle.program.rules.kind(),
            balance,
            stamps_to_next_reward,
            redeemable: bundle.rewards.iter().filter(|r| r.available_at(now) && r.cost <= balance).cloned().collect(),
            joined_at: card.created_at,
        }
    }
}
