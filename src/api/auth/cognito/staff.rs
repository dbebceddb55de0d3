//! Staff in the staff pool: sign-in, refresh, sign-out and password reset.
//! (Accounts are made when an invitation is accepted.)

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use stampede_aws::cognito::CognitoError;
use stampede_domain::email::Email;

use super::password_reset::{ConfirmResetRequest, RESET_SENT, ResetRequest};
use super::{CognitoTokenPair, bearer, refusal, staff_pool};
use crate::api::auth::Accepted;
use crate::api::auth::login::LoginRequest;
use crate::api::auth::refresh::RefreshRequest;
use crate::api::input::{ClientIp, Fields, limit};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::StaffAuthAnyState;
use crate::state::AppState;

/// Staff sign-in with email and password against the staff pool.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = CognitoTokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let pool = staff_pool(&state)?;
    limit(&state, &state.limits.login_per_ip, &ip.of(&req)).await?;
    let email =
        Email::parse(&body.email).map_err(|_| ApiError::new(Code::Unauthorized).detail("invalid email or password"))?;
    limit(&state, &state.limits.login_per_account, &format!("cognito-staff:{}", email.as_str())).await?;
    let tokens = pool.login(email.as_str(), &body.password).await.map_err(refusal)?;
    Ok(HttpResponse::Ok().json(CognitoTokenPair::from(tokens)))
}

/// New access and ID tokens for a staff pool refresh token.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
    (status = 200, body = CognitoTokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let pool = staff_pool(&state)?;
    let tokens = pool.refresh(&body.refresh_token).await.map_err(|e| match refusal(e) {
        e if e.status_code().as_u16() == 401 => {
            ApiError::new(Code::Unauthorized).detail("the refresh token is invalid, expired or revoked")
        }
        e => e,
    })?;
    Ok(HttpResponse::Ok().json(CognitoTokenPair::from(tokens)))
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
    staff_pool(&state)?.sign_out(&bearer(&req)).await.map_err(refusal)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask the staff pool to mail a reset code. Always 202.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/password-reset", tag = "auth", request_body = ResetRequest,
    responses((status = 202, body = Accepted)))]
pub async fn request_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: web::Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let pool = staff_pool(&state)?;
    limit(&state, &state.limits.reset_per_ip, &ip.of(&req)).await?;
    if let Ok(email) = Email::parse(&body.email) {
        limit(&state, &state.limits.reset_per_account, &format!("cognito-staff:{}", email.as_str())).await?;
        match pool.forgot_password(email.as_str()).await {
            Ok(()) | Err(CognitoError::Refused(_)) => {}
            Err(CognitoError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(HttpResponse::Accepted().json(RESET_SENT))
}

/// Set a new staff password with the mailed code.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/password-reset/confirm", tag = "auth",
    request_body = ConfirmResetRequest, responses(
    (status = 204, description = "Password changed"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    body: web::Json<ConfirmResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let pool = staff_pool(&state)?;
    let mut f = Fields::default();
    f.password("password", &body.password, state.policy.min_password_length);
    f.finish()?;
    pool.confirm_forgot_password(body.email.trim(), body.code.trim(), &body.password).await.map_err(refusal)?;
    Ok(HttpResponse::NoContent().finish())
}
