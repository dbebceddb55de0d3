use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::{CardRef, target};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

/// The cashier screen: a card by its counter code, with its balance and what it
/// can redeem now. Shows nothing about the customer.
#[utoipa::path(get, path = "/v1/pos/stores/{store_id}/cards/{code}", tag = "pos",
    params(("store_id" = Uuid, Path), ("code" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "The card, its balance and redeemable rewards"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn lookup(
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (store_id, code) = path.into_inner();
    if !super::plausible_code(&code) {
        return Err(ApiError::not_found());
    }
    let t = target(&state, &auth, store_id, &CardRef::by_code(code)).await?;
    let now = Utc::now();
    let balance = match state.engine.cached_state(t.card.id).await {
        Some(s) => s.balance_at(now),
        None => match t.fresh {
            Some(card) => card.state().balance_at(now),
            None => state.directory.read(t.card.id).await?.ok_or_else(ApiError::not_found)?.state().balance_at(now),
        },
    };
    let rewards: Vec<_> = t.bundle.rewards.iter().filter(|r| r.available_at(now)).collect();
    let redeemable: Vec<_> = rewards.iter().filter(|r| r.cost <= balance).collect();
    Ok(HttpResponse::Ok().json(json!({
        "card_id": t.card.id,
        "program": { "id": t.bundle.program.id, "name": t.bundle.program.name, "kind": t.bundle.program.rules.kind() },
        "balance": balance,
        "rewards": rewards,
        "redeemable": redeemable,
    })))
}
