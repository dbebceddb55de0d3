use actix_web::{HttpResponse, web};
use chrono::Utc;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Delete the signed-in customer's account: personal data and uploads are
/// erased at once and every session is signed out; cards and transactions
/// stay, pseudonymous (tied to an id that names no one), so the stores' books
/// still add up.
#[utoipa::path(delete, path = "/v1/me", tag = "me", security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_me(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.get_customer(auth.id).await?.ok_or_else(ApiError::not_found)?;
    crate::api::uploads::delete_all(&state, auth.id).await?;
    state.store.erase_customer(auth.id).await?;
    state.records.invalidate(crate::cached::Kind::Customer, auth.id.0).await;
    state.sessions.revoke_all_sessions(auth.id.0, Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
