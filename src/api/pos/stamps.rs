use actix_web::{HttpRequest, HttpResponse, web};
use stampede_actors::EntryMeta;
use stampede_domain::card::Command;
use stampede_domain::input::pos::StampRequest;
use uuid::Uuid;

use super::{Committed, idempotency, run, target};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

/// Issue stamps for a visit. Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/pos/stores/{store_id}/stamps", tag = "pos", request_body = StampRequest,
    params(("store_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per operation", pattern = "^[!-~]{1,255}$")), security(("bearer" = [])), responses(
    (status = 201, body = Committed),
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
    body.check()?;
    let key = idempotency(&req, &auth, &state, &body)?;
    let t = target(&state, &auth, path.into_inner(), &body.card).await?;
    let meta = EntryMeta { amount_minor: body.purchase_minor, ..Default::default() };
    let (count, purchase_minor) = (body.count, body.purchase_minor);
    run(&state, &req, &auth, t, |store| Command::IssueStamps { store, count, purchase_minor }, meta, Some(key)).await
}
