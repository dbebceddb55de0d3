use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::super::{bearer, refusal};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::Account;
use crate::state::AppState;

/// Turn the authenticator app off (a pool whose MFA is required refuses).
#[utoipa::path(delete, path = "/v1/auth/cognito/mfa/totp", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "Off"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn disable(req: HttpRequest, account: Account, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = super::pool_of(&account).of(&state)?;
    pool.set_totp(&bearer(&req), false).await.map_err(refusal)?;
    crate::api::auth::mfa::log(&state, &account, "mfa_disabled", json!({ "in": "cognito" })).await;
    Ok(HttpResponse::NoContent().finish())
}
