use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{CodeRequest, RecoveryCodes};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::Account;
use crate::state::AppState;

/// New recovery codes, proven with a code (or a recovery code): the old
/// ones stop working. Shown this once.
#[utoipa::path(post, path = "/v1/auth/mfa/recovery-codes", tag = "auth", request_body = CodeRequest,
    security(("bearer" = [])), responses(
    (status = 200, body = RecoveryCodes),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn replace(
    account: Account,
    state: web::Data<AppState>,
    body: Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    super::local_only(&state)?;
    body.check_shape()?;
    let subject = account.id();
    if !state.store.get_mfa(subject).await?.is_some_and(|f| f.is_on()) {
        return Err(ApiError::new(Code::Conflict).detail("two-step sign-in is not on"));
    }
    super::check_code(&state, subject, &body).await?;
    let (codes, hashes) = super::recovery_codes(&state, subject);
    state.store.replace_recovery_codes(subject, &hashes).await?;
    super::log(&state, &account, "mfa_recovery_codes_replaced", json!({})).await;
    Ok(HttpResponse::Ok().json(RecoveryCodes { recovery_codes: codes }))
}
