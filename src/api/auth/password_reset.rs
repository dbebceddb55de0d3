use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use stampede_domain::email::Email;
use stampede_domain::identity::TokenPurpose;
use stampede_domain::ids::CustomerId;
use stampede_workers::email::Template;
use utoipa::ToSchema;

use super::Accepted;
use super::mail::{one_time_token, send};
use super::register::CHECK_EMAIL;
use crate::api::input::{ClientIp, Fields, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::audit::{self, Actor};
use crate::auth::secret::sha256;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

/// Ask for a password-reset link. Always 202 with the same body.
#[utoipa::path(post, path = "/v1/auth/customers/password-reset", tag = "auth", request_body = ResetRequest, responses(
    (status = 202, body = Accepted),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn request_reset(
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
    if let Some(customer) = state.store.find_customer_by_email(&email).await? {
        let token = one_time_token(
            &state,
            TokenPurpose::ResetPassword,
            Some(customer.id.0),
            json!({}),
            state.policy.email_token_ttl,
        )
        .await?;
        let link = state.links.to("/reset-password", &token);
        send(&state, email.as_str(), Template::PasswordReset, &[("name", &customer.name), ("link", &link)]).await;
    }
    Ok(HttpResponse::Accepted().json(CHECK_EMAIL))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmResetRequest {
    pub token: String,
    #[schema(min_length = 10)]
    pub password: String,
}

/// A reset's new password, checked, and the account its emailed token names
/// (the token used up): `(account id, password hash)`. Refused, the token stays.
pub async fn new_password(
    state: &AppState,
    purpose: TokenPurpose,
    body: ConfirmResetRequest,
) -> Result<(uuid::Uuid, String), ApiError> {
    let mut f = Fields::default();
    f.password("password", &body.password, state.policy.min_password_length);
    f.finish()?;
    let used = state.sessions.consume_one_time_token(purpose, &sha256(body.token.as_bytes()), Utc::now()).await?;
    let subject = used.and_then(|t| t.subject_id).ok_or_else(|| ApiError::field("token", "is invalid or expired"))?;
    let hash = state.passwords.hash(body.password).await.map_err(ApiError::internal)?;
    Ok((subject, hash))
}

/// Set a new password with the emailed token. Signs out every session.
#[utoipa::path(post, path = "/v1/auth/customers/password-reset/confirm", tag = "auth", request_body = ConfirmResetRequest, responses(
    (status = 204, description = "Password changed; all sessions signed out"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    body: Json<ConfirmResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let (subject, hash) = new_password(&state, TokenPurpose::ResetPassword, body.into_inner()).await?;
    state.store.set_customer_password(CustomerId(subject), &hash).await?;
    // The link proved control of the inbox.
    state.store.mark_email_verified(CustomerId(subject), Utc::now()).await?;
    state.sessions.revoke_all_sessions(subject, Utc::now()).await?;
    let me = Actor::Customer(CustomerId(subject));
    audit::security(&state, me, subject, &[], "customer.password_reset", serde_json::json!({})).await;
    Ok(HttpResponse::NoContent().finish())
}
