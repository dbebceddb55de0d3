use actix_web::{HttpRequest, HttpResponse, web};
use stampede_actors::EntryMeta;
use stampede_domain::card::Command;
use stampede_domain::input::pos::RedeemRequest;
use uuid::Uuid;

use super::{Committed, idempotency, run, target};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

/// Redeem a reward for stamps or points. Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/pos/stores/{store_id}/redemptions", tag = "pos", request_body = RedeemRequest,
    params(("store_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per operation", pattern = "^[!-~]{1,255}$")), security(("bearer" = [])), responses(
    (status = 201, body = Committed),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json", description = "Refused: insufficient_balance, reward_unavailable, out_of_stock"),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn redeem(
    req: HttpRequest,
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<RedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.check()?;
    let key = idempotency(&req, &auth, &state, &body)?;
    let t = target(&state, &auth, path.into_inner(), &body.card).await?;
    let reward = t
        .bundle
        .rewards
        .iter()
        .find(|r| r.id == body.reward_id)
        .cloned()
        .ok_or_else(|| ApiError::refused("reward_unavailable", "no such reward in this card's program"))?;
    // A stocked reward's unit is taken in the same database transaction as the
    // redemption (the stock is shared by every card); out of stock refuses it.
    let at = stampede_domain::ledger::now();
    run(&state, &req, &auth, t, move |_| Command::Redeem { reward, at }, EntryMeta::default(), Some(key)).await
}
