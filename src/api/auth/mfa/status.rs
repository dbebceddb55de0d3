use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::Account;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatus {
    /// A confirmed second factor signs this account in.
    pub enabled: bool,
    /// Enrolment started and waits for its first code.
    pub pending: bool,
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: i64,
    /// A business this staff member owns or administers requires one.
    pub required: bool,
}

/// The signed-in account's second factor.
#[utoipa::path(get, path = "/v1/auth/mfa", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MfaStatus),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn status(account: Account, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    super::local_only(&state)?;
    let factor = state.store.get_mfa(account.id()).await?;
    let required = match &account {
        Account::Staff(s) => super::required_of(&state, s).await?,
        Account::Customer(_) => false,
    };
    Ok(HttpResponse::Ok().json(MfaStatus {
        enabled: factor.as_ref().is_some_and(|f| f.is_on()),
        pending: factor.as_ref().is_some_and(|f| !f.is_on()),
        enabled_at: factor.as_ref().and_then(|f| f.confirmed_at),
        recovery_codes_left: factor.as_ref().filter(|f| f.is_on()).map_or(0, |f| f.recovery_codes_left),
        required,
    }))
}
