//! A staff account's forgotten password: a one-time link by mail, then a new
//! password. The same answer whether or not the address has an account;
//! accounts kept in Cognito reset there (`/v1/auth/cognito/staff/password-reset`).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::json;
use stampede_domain::email::Email;
use stampede_domain::identity::TokenPurpose;
use stampede_domain::ids::StaffId;
use stampede_workers::email::Template;

use super::Accepted;
use super::mail::{one_time_token, send};
use super::password_reset::{ConfirmResetRequest, ResetRequest, new_password};
use super::register::CHECK_EMAIL;
use crate::api::input::{ClientIp, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::audit::{self, Actor};
use crate::state::AppState;

/// Ask for a staff password-reset link. Always 202 with the same body.
#[utoipa::path(post, path = "/v1/auth/staff/password-reset", tag = "auth", request_body = ResetRequest, responses(
    (status = 202, body = Accepted),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn request_staff_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    limit(&state, &state.limits.reset_per_ip, &ip.of(&req)).await?;
    let Ok(email) = Email::parse(&body.email) else {
        return Ok(HttpResponse::Accepted().json(CHECK_EMAIL));
    };
    limit(&state, &state.limits.reset_per_account, email.as_str()).await?;
    // Only an active account with a password kept here: a Cognito account
    // resets with its pool, a deactivated one not at all.
    let staff = state.store.find_staff_by_email(&email).await?.filter(|s| s.is_active && s.password_hash.is_some());
    if let Some(staff) = staff {
        let token = one_time_token(
            &state,
            TokenPurpose::StaffResetPassword,
            Some(staff.id.0),
            json!({}),
            state.policy.email_token_ttl,
        )
        .await?;
        let link = state.links.to("/staff/reset-password", &token);
        send(&state, email.as_str(), Template::PasswordReset, &[("name", &staff.name), ("link", &link)]).await;
    }
    Ok(HttpResponse::Accepted().json(CHECK_EMAIL))
}

/// Set a new staff password with the emailed token. Signs out every session;
/// a second factor, if the account has one, is still asked at sign-in.
#[utoipa::path(post, path = "/v1/auth/staff/password-reset/confirm", tag = "auth", request_body = ConfirmResetRequest, responses(
    (status = 204, description = "Password changed; all sessions signed out"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm_staff_reset(
    state: web::Data<AppState>,
    body: Json<ConfirmResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, hash) = new_password(&state, TokenPurpose::StaffResetPassword, body.into_inner()).await?;
    let staff =
        state.store.get_staff(StaffId(id)).await?.ok_or_else(|| ApiError::field("token", "is invalid or expired"))?;
    state.sessions.revoke_all_sessions(id, Utc::now()).await?;
    state.store.set_staff_password(staff.id, &hash).await?;
    let businesses = audit::businesses_of(&staff);
    audit::security(&state, Actor::Staff(staff.id), id, &businesses, "staff.password_reset", json!({})).await;
    Ok(HttpResponse::NoContent().finish())
}
