use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use stampede_aws::cognito::CognitoError;
use stampede_domain::email::Email;
use utoipa::ToSchema;

use super::{Pool, refusal};
use crate::api::auth::Accepted;
use crate::api::input::{ClientIp, Fields, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

pub const RESET_SENT: Accepted =
    Accepted { status: "accepted", message: "If the address has an account, we have sent a code to it." };

/// Ask the pool to mail a reset code. Always 202.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/password-reset", tag = "auth", request_body = ResetRequest,
    responses(
    (status = 202, body = Accepted),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    request_reset_in(Pool::Customers, &req, &state, &ip, &body).await
}

/// Rate limits, then ask the pool for a code; refusals are not told apart.
pub async fn request_reset_in(
    which: Pool,
    req: &HttpRequest,
    state: &AppState,
    ip: &ClientIp,
    body: &ResetRequest,
) -> Result<HttpResponse, ApiError> {
    let pool = which.of(state)?;
    limit(state, &state.limits.reset_per_ip, &ip.of(req)).await?;
    if let Ok(email) = Email::parse(&body.email) {
        limit(state, &state.limits.reset_per_account, &which.account_key(email.as_str())).await?;
        match pool.forgot_password(email.as_str()).await {
            Ok(()) | Err(CognitoError::Refused(_)) => {}
            Err(CognitoError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(HttpResponse::Accepted().json(RESET_SENT))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CognitoConfirmResetRequest)]
pub struct ConfirmResetRequest {
    pub email: String,
    /// The code the pool mailed.
    pub code: String,
    /// At least 10 characters.
    #[schema(min_length = 10)]
    pub password: String,
}

/// Set a new password with the mailed code.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/password-reset/confirm", tag = "auth",
    request_body = ConfirmResetRequest, responses(
    (status = 204, description = "Password changed"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    body: Json<ConfirmResetRequest>,
) -> Result<HttpResponse, ApiError> {
    confirm_reset_in(Pool::Customers, &state, &body).await
}

/// Check the new password against the local policy, then let the pool check the code.
pub async fn confirm_reset_in(
    which: Pool,
    state: &AppState,
    body: &ConfirmResetRequest,
) -> Result<HttpResponse, ApiError> {
    let pool = which.of(state)?;
    let mut f = Fields::default();
    f.password("password", &body.password, state.policy.min_password_length);
    f.finish()?;
    pool.confirm_forgot_password(body.email.trim(), body.code.trim(), &body.password).await.map_err(refusal)?;
    Ok(HttpResponse::NoContent().finish())
}
