use actix_web::{HttpResponse, ResponseError, web};

use super::{CognitoTokenPair, Pool, refusal};
use crate::api::auth::refresh::RefreshRequest;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::state::AppState;

/// New access and ID tokens for a pool refresh token.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
    (status = 200, body = CognitoTokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    refresh_in(Pool::Customers, &state, &body).await
}

/// Exchange a pool refresh token; any refusal is "sign in again".
pub async fn refresh_in(which: Pool, state: &AppState, body: &RefreshRequest) -> Result<HttpResponse, ApiError> {
    let pool = which.of(state)?;
    let again = || ApiError::new(Code::Unauthorized).detail("the refresh token is invalid, expired or revoked");
    if body.refresh_token.is_empty() || body.refresh_token.len() > 8192 {
        return Err(again());
    }
    let tokens = pool.refresh(&body.refresh_token).await.map_err(|e| match refusal(e) {
        e if e.status_code().as_u16() == 401 => again(),
        e => e,
    })?;
    Ok(HttpResponse::Ok().json(CognitoTokenPair::from(tokens)))
}
