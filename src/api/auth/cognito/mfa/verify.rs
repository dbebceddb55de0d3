use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::email::Email;
use utoipa::ToSchema;

use super::super::{CognitoTokenPair, Pool, refusal};
use crate::api::input::limit;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CognitoMfaRequest {
    pub email: String,
    /// From the sign-in's answer (the pool's session).
    pub mfa_token: String,
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
}

/// Finish a customer sign-in that answered `mfa_required`.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/mfa/verify", tag = "auth", request_body = CognitoMfaRequest,
    responses(
    (status = 200, body = CognitoTokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn customers(state: web::Data<AppState>, body: Json<CognitoMfaRequest>) -> Result<HttpResponse, ApiError> {
    answer(Pool::Customers, &state, &body).await
}

/// Finish a staff sign-in that answered `mfa_required`.
#[utoipa::path(post, path = "/v1/auth/cognito/staff/mfa/verify", tag = "auth", request_body = CognitoMfaRequest,
    responses(
    (status = 200, body = CognitoTokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn staff(state: web::Data<AppState>, body: Json<CognitoMfaRequest>) -> Result<HttpResponse, ApiError> {
    answer(Pool::Staff, &state, &body).await
}

async fn answer(which: Pool, state: &AppState, body: &CognitoMfaRequest) -> Result<HttpResponse, ApiError> {
    let pool = which.of(state)?;
    let refused = || ApiError::new(Code::Unauthorized).detail("the code is wrong, or the sign-in expired");
    let email = Email::parse(&body.email).map_err(|_| refused())?;
    limit(state, &state.limits.login_per_account, &format!("mfa:{}", which.account_key(email.as_str()))).await?;
    let tokens = pool.answer_mfa(email.as_str(), &body.mfa_token, &body.code).await.map_err(|e| match e {
        stampede_aws::cognito::CognitoError::Refused(_) => refused(),
        other => refusal(other),
    })?;
    Ok(HttpResponse::Ok().json(CognitoTokenPair::from(tokens)))
}
