use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::Account;
use crate::auth::totp;
use crate::state::AppState;

/// A new secret for the authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The secret, base32: what an app takes when typed in.
    pub secret: String,
    /// `otpauth://totp/…`: what an app takes from a QR code.
    pub otpauth_uri: String,
}

/// Start setting up an authenticator app: a new secret, pending until its
/// first code is sent to `/v1/auth/mfa/totp/confirm` (starting again
/// replaces a pending secret). 409 while a confirmed one is on.
#[utoipa::path(post, path = "/v1/auth/mfa/totp", tag = "auth", security(("bearer" = [])), responses(
    (status = 201, body = TotpEnrolment),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
))]
pub async fn enroll(account: Account, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    super::local_only(&state)?;
    let label = match &account {
        Account::Staff(s) => s.email.clone(),
        Account::Customer(c) => {
            state.store.get_customer(*c).await?.map(|c| c.email.as_str().to_owned()).unwrap_or_default()
        }
    };
    let secret = totp::new_secret();
    let sealed = state.mfa.seal(account.id(), &secret);
    if !state.store.begin_mfa(account.id(), account.kind(), &sealed, Utc::now()).await? {
        return Err(ApiError::new(Code::Conflict)
            .detail("two-step sign-in is on already: turn it off first to use another authenticator"));
    }
    Ok(HttpResponse::Created().json(TotpEnrolment {
        secret: totp::base32(&secret),
        otpauth_uri: totp::otpauth_uri("Stampede", &label, &secret),
    }))
}
