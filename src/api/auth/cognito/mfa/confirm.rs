use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::super::{bearer, refusal};
use crate::api::auth::mfa::confirm::ConfirmTotpRequest;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::Account;
use crate::state::AppState;

/// Turn the authenticator app on as the account's second factor with its
/// first code. (The pool has no recovery codes: a lost app is reset by an
/// administrator in the pool.)
#[utoipa::path(post, path = "/v1/auth/cognito/mfa/totp/confirm", tag = "auth", request_body = ConfirmTotpRequest,
    security(("bearer" = [])), responses(
    (status = 204, description = "On"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm(
    req: HttpRequest,
    account: Account,
    state: web::Data<AppState>,
    body: Json<ConfirmTotpRequest>,
) -> Result<HttpResponse, ApiError> {
    let pool = super::pool_of(&account).of(&state)?;
    pool.confirm_totp(&bearer(&req), body.code.trim()).await.map_err(refusal)?;
    crate::api::auth::mfa::log(&state, &account, "mfa_enabled", json!({ "method": "totp", "in": "cognito" })).await;
    Ok(HttpResponse::NoContent().finish())
}
