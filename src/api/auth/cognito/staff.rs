//! Staff in the staff pool: sign-in, refresh, sign-out and password reset.
//! (Accounts are made when an invitation is accepted.)

use actix_web::{HttpRequest, HttpResponse, web};

use super::password_reset::{ConfirmResetRequest, ResetRequest};
use super::{CognitoTokenPair, Pool, bearer, refusal};
use crate::api::auth::Accepted;
use crate::api::auth::login::LoginRequest;
use crate::api::auth::refresh::RefreshRequest;
use crate::api::input::ClientIp;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuthAnyState;
use crate::state::AppState;

/// Staff sign-in with email and password against the staff pool.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = super::CognitoSignInAnswer),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    super::login::sign_in(Pool::Staff, &req, &state, &ip, &body).await
}

/// New access and ID tokens for a staff pool refresh token.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
    (status = 200, body = CognitoTokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    super::refresh::refresh_in(Pool::Staff, &state, &body).await
}

/// Sign out everywhere from the staff pool.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "Signed out"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn logout(
    req: HttpRequest,
    _auth: StaffAuthAnyState,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Pool::Staff.of(&state)?.sign_out(&bearer(&req)).await.map_err(refusal)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask the staff pool to mail a reset code. Always 202.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/password-reset", tag = "auth", request_body = ResetRequest,
    responses((status = 202, body = Accepted)))]
pub async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    super::password_reset::request_reset_in(Pool::Staff, &req, &state, &ip, &body).await
}

/// Set a new staff password with the mailed code.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/password-reset/confirm", tag = "auth",
    request_body = ConfirmResetRequest, responses(
    (status = 204, description = "Password changed"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    body: Json<ConfirmResetRequest>,
) -> Result<HttpResponse, ApiError> {
    super::password_reset::confirm_reset_in(Pool::Staff, &state, &body).await
}
