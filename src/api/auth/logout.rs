use actix_web::{HttpResponse, web};
use chrono::Utc;

use super::refresh::RefreshRequest;
use crate::api::json::Json;
use crate::api::problem::ApiError;
use crate::auth::secret::sha256;
use crate::state::AppState;

/// Sign out: revokes the refresh token's whole family. Answers 204 whether or
/// not the token was known. Access tokens already issued expire on their own.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest, responses(
    (status = 204, description = "Signed out")
))]
pub async fn logout(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    state.sessions.revoke_by_token(&sha256(body.refresh_token.as_bytes()), Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
