use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use stampede_actors::EntryMeta;
use stampede_domain::card::{Command, MAX_AMOUNT_MINOR};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CardRef, TransactionView, idempotency, run, target};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StampRequest {
    #[serde(flatten)]
    pub card: CardRef,
    /// Stamps for this visit (at most the program's max per visit).
    #[serde(default = "one")]
    pub count: u32,
    /// The purchase, in minor units, where the program has a minimum (0 to 10^12).
    pub purchase_minor: Option<i64>,
}

fn one() -> u32 {
    1
}

/// Issue stamps for a visit. Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/pos/stores/{store_id}/stamps", tag = "pos", request_body = StampRequest,
    params(("store_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per operation", pattern = "^[!-~]{1,255}$")), security(("bearer" = [])), responses(
    (status = 201, body = TransactionView),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json", description = "Refused: too_many_stamps, too_soon, daily_cap_reached, below_minimum_purchase, …"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn issue_stamps(
    req: HttpRequest,
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<StampRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.purchase_minor.is_some_and(|p| !(0..=MAX_AMOUNT_MINOR).contains(&p)) {
        return Err(ApiError::field("purchase_minor", format!("must be between 0 and {MAX_AMOUNT_MINOR}")));
    }
    let key = idempotency(&req, &auth, &state, &body)?;
    let t = target(&state, &auth, path.into_inner(), &body.card).await?;
    let meta = EntryMeta { amount_minor: body.purchase_minor, ..Default::default() };
    let (count, purchase_minor) = (body.count, body.purchase_minor);
    run(&state, &req, &auth, t, |store| Command::IssueStamps { store, count, purchase_minor }, meta, Some(key)).await
}
