use actix_web::{HttpResponse, web};
use stampede_domain::ids::CardId;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The card's counter code, to show as a QR code at the till.
#[utoipa::path(get, path = "/v1/me/cards/{card_id}/code", tag = "me", params(("card_id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, description = "`{\"code\": \"…\"}`"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn card_code(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let card = state.directory.read(CardId(path.into_inner())).await?.ok_or_else(ApiError::not_found)?;
    if card.customer_id != auth.id {
        return Err(ApiError::not_found());
    }
    state.usage.record("card_view", Some(card.business_id), Some(auth.id));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "card_id": card.id, "code": card.code })))
}
