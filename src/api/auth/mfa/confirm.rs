use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::RecoveryCodes;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::Account;
use crate::auth::totp;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    /// The code the app shows now.
    #[schema(pattern = r"^ *([0-9] *){6}$", max_length = 8)]
    pub code: String,
}

/// Turn two-step sign-in on with the first code of the pending secret.
/// Answers the recovery codes, shown this once. Staff whose business
/// requires it refresh the session afterwards to lift the restriction.
#[utoipa::path(post, path = "/v1/auth/mfa/totp/confirm", tag = "auth", request_body = ConfirmTotpRequest,
    security(("bearer" = [])), responses(
    (status = 200, body = RecoveryCodes),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm(
    account: Account,
    state: web::Data<AppState>,
    body: Json<ConfirmTotpRequest>,
) -> Result<HttpResponse, ApiError> {
    super::local_only(&state)?;
    let subject = account.id();
    crate::api::input::limit(&state, &state.limits.login_per_account, &format!("mfa:{}", subject.simple())).await?;
    let factor = state.store.get_mfa(subject).await?;
    let Some(factor) = factor.filter(|f| !f.is_on()) else {
        return Err(ApiError::new(Code::Conflict).detail("nothing to confirm: start at POST /v1/auth/mfa/totp"));
    };
    let secret = state
        .mfa
        .open(subject, &factor.sealed_secret)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a pending second factor's secret does not open")))?;
    let now = totp::step_at(Utc::now().timestamp());
    let step = totp::matching_step(&secret, &body.code, now, factor.last_step).ok_or_else(super::wrong_code)?;
    let (codes, hashes) = super::recovery_codes(&state, subject);
    if !state.store.confirm_mfa(subject, step, &hashes, Utc::now()).await? {
        return Err(ApiError::new(Code::Conflict).detail("the set-up was confirmed or restarted meanwhile"));
    }
    super::log(&state, &account, "mfa_enabled", json!({ "method": "totp" })).await;
    Ok(HttpResponse::Ok().json(RecoveryCodes { recovery_codes: codes }))
}
