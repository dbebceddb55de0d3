use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::json;

use super::CodeRequest;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::Account;
use crate::state::AppState;

/// Turn two-step sign-in off (or drop a pending set-up), proven with a code
/// or a recovery code. Refused with 409 to staff whose business requires
/// it. Signs out every session of the account.
#[utoipa::path(delete, path = "/v1/auth/mfa/totp", tag = "auth", request_body = CodeRequest,
    security(("bearer" = [])), responses(
    (status = 204, description = "Off"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn disable(
    account: Account,
    state: web::Data<AppState>,
    body: Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    super::local_only(&state)?;
    body.check_shape()?;
    let subject = account.id();
    let Some(factor) = state.store.get_mfa(subject).await? else {
        return Err(ApiError::new(Code::NotFound).detail("two-step sign-in is not set up"));
    };
    if factor.is_on() {
        if let Account::Staff(s) = &account
            && super::required_of(&state, s).await?
        {
            return Err(ApiError::new(Code::Conflict)
                .detail("a business you own or administer requires two-step sign-in: it stays on"));
        }
        super::check_code(&state, subject, &body).await?;
    }
    // Sessions first: with the session store down nothing changes.
    state.sessions.revoke_all_sessions(subject, Utc::now()).await?;
    state.store.remove_mfa(subject).await?;
    if factor.is_on() {
        super::log(&state, &account, "mfa_disabled", json!({})).await;
    }
    Ok(HttpResponse::NoContent().finish())
}
