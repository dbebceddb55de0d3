use actix_web::{HttpRequest, HttpResponse, web};
use stampede_actors::EntryMeta;
use stampede_domain::card::Command;
use stampede_domain::input::pos::PointsRequest;
use stampede_domain::program::ProgramRules;
use uuid::Uuid;

use super::{Committed, idempotency, run, target};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

/// Earn points for a purchase. Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/pos/stores/{store_id}/points", tag = "pos", request_body = PointsRequest,
    params(("store_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per operation", pattern = "^[!-~]{1,255}$")), security(("bearer" = [])), responses(
    (status = 201, body = Committed),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json", description = "Refused: daily_cap_reached, invalid_amount, wrong_currency, …"),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn earn_points(
    req: HttpRequest,
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<PointsRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.check()?;
    let key = idempotency(&req, &auth, &state, &body)?;
    let t = target(&state, &auth, path.into_inner(), &body.card).await?;
    if let ProgramRules::Points(r) = &t.bundle.program.rules
        && r.currency.as_str() != body.currency
    {
        return Err(ApiError::refused("wrong_currency", &format!("this program counts {}", r.currency.as_str())));
    }
    let meta = EntryMeta {
        amount_minor: Some(body.amount_minor),
        currency: Some(body.currency.clone()),
        ..Default::default()
    };
    let amount_minor = body.amount_minor;
    run(&state, &req, &auth, t, |store| Command::EarnPoints { store, amount_minor }, meta, Some(key)).await
}
