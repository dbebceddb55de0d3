use actix_web::{HttpResponse, web};
use stampede_domain::ids::CardId;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The card's counter code, to show as a QR code at the till.
/// What the customer shows at the counter (as a QR code or the characters).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CardCode {
    pub card_id: Uuid,
    pub code: String,
}

#[utoipa::path(get, path = "/v1/me/cards/{card_id}/code", tag = "me", params(("card_id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, description = "The card's counter code", body = CardCode),
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
    Ok(HttpResponse::Ok().json(CardCode { card_id: card.id.0, code: card.code }))
}
