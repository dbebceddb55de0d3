use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use stampede_domain::ids::CardId;
use stampede_domain::program::{Program, ProgramRules, Reward};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CardRef, target};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

/// A card as the counter sees it.
#[derive(Serialize, ToSchema)]
pub struct CardAtCounter {
    pub card_id: Uuid,
    pub program: ProgramAtCounter,
    /// Stamps or points, as the program counts.
    pub balance: i64,
    /// The program's rewards on offer now.
    pub rewards: Vec<Reward>,
    /// Those the balance pays for.
    pub redeemable: Vec<Reward>,
}

#[derive(Serialize, ToSchema)]
pub struct ProgramAtCounter {
    pub id: Uuid,
    pub name: String,
    /// `stamps` or `points`.
    pub kind: String,
    /// A points program's currency (ISO 4217), which a purchase must be in.
    pub currency: Option<String>,
}

impl ProgramAtCounter {
    pub fn of(p: &Program) -> Self {
        let currency = match &p.rules {
            ProgramRules::Points(r) => Some(r.currency.as_str().to_owned()),
            ProgramRules::Stamps(_) => None,
        };
        Self { id: p.id, name: p.name.clone(), kind: p.rules.kind().to_string(), currency }
    }
}

/// The cashier screen: a card by its counter code (or its id, as a search by
/// email or phone gives it), with its balance and what it can redeem now.
/// Shows nothing about the customer.
#[utoipa::path(get, path = "/v1/pos/stores/{store_id}/cards/{code}", tag = "pos",
    params(("store_id" = Uuid, Path), ("code" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "The card, its balance and redeemable rewards", body = CardAtCounter),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn lookup(
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (store_id, code) = path.into_inner();
    // A card found by the customer's email or phone is named by its id.
    let card = match Uuid::parse_str(&code) {
        Ok(id) => CardRef::by_id(CardId(id)),
        Err(_) if super::plausible_code(&code) => CardRef::by_code(code),
        Err(_) => return Err(ApiError::not_found()),
    };
    Ok(HttpResponse::Ok().json(at_counter(&state, &auth, store_id, &card).await?))
}

/// The card as the counter at `store_id` sees it.
pub async fn at_counter(
    state: &AppState,
    auth: &PosAuth,
    store_id: Uuid,
    card: &CardRef,
) -> Result<CardAtCounter, ApiError> {
    let t = target(state, auth, store_id, card).await?;
    let now = Utc::now();
    let balance = match state.engine.cached_state(t.card.id).await {
        Some(s) => s.balance_at(now),
        None => match t.fresh {
            Some(card) => card.state().balance_at(now),
            None => state.directory.read(t.card.id).await?.ok_or_else(ApiError::not_found)?.state().balance_at(now),
        },
    };
    let rewards: Vec<Reward> = t.bundle.rewards.iter().filter(|r| r.available_at(now)).cloned().collect();
    let redeemable = rewards.iter().filter(|r| r.cost <= balance).cloned().collect();
    let program = ProgramAtCounter::of(&t.bundle.program);
    Ok(CardAtCounter { card_id: t.card.id.0, program, balance, rewards, redeemable })
}
