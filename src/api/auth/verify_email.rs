use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_domain::identity::TokenPurpose;
use stampede_domain::ids::CustomerId;
use utoipa::ToSchema;

use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::secret::sha256;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token from the emailed link.
    pub token: String,
}

/// Confirm a customer's email address with the token from the emailed link.
#[utoipa::path(post, path = "/v1/auth/customers/verify-email", tag = "auth", request_body = TokenRequest, responses(
    (status = 204, description = "Verified"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn verify_email(state: web::Data<AppState>, body: Json<TokenRequest>) -> Result<HttpResponse, ApiError> {
    let used = state
        .sessions
        .consume_one_time_token(TokenPurpose::VerifyEmail, &sha256(body.token.as_bytes()), Utc::now())
        .await?;
    let subject = used.and_then(|t| t.subject_id).ok_or_else(|| ApiError::field("token", "is invalid or expired"))?;
    state.store.mark_email_verified(CustomerId(subject), Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
