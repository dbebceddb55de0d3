//! `/v1/auth/cognito/{customers,staff}/…`: accounts in the Cognito user pools
//! (`identity.backend = "cognito"`). Cognito keeps the password, mails the
//! confirmation and reset codes, and issues the tokens; Stampede keeps the
//! customer profile or staff account under the pool's `sub`, so the pool's
//! access tokens name the account directly. Customers sign up themselves;
//! staff join by invitation (`/v1/auth/staff/invitations/accept` creates their
//! pool account). Without Cognito configured these answer 404.
//!
//! As with the local issuer, sign-up and reset requests answer 202 whether or
//! not the address has an account.

pub mod confirm;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod password_reset;
pub mod profile;
pub mod refresh;
pub mod register;
pub mod staff;

use serde::Serialize;
use stampede_aws::cognito::{CognitoError, CognitoPool, CognitoRefusal, CognitoTokens};
use utoipa::ToSchema;

use crate::api::problem::{ApiError, Code};
use crate::state::AppState;

/// Which pool a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    Customers,
    Staff,
}

impl Pool {
    /// The pool, or 404 when Cognito is not the identity backend.
    pub fn of(self, state: &AppState) -> Result<&CognitoPool, ApiError> {
        let pools = state.cognito.as_ref().ok_or_else(not_configured)?;
        Ok(match self {
            Pool::Customers => &pools.customers,
            Pool::Staff => &pools.staff,
        })
    }

    /// The rate-limit key of an account in this pool.
    pub fn account_key(self, email: &str) -> String {
        match self {
            Pool::Customers => format!("cognito:{email}"),
            Pool::Staff => format!("cognito-staff:{email}"),
        }
    }
}

/// The customer pool, or 404 when Cognito is not the identity backend.
pub fn pool(state: &AppState) -> Result<&CognitoPool, ApiError> {
    Pool::Customers.of(state)
}

fn not_configured() -> ApiError {
    ApiError::new(Code::NotFound).detail("Cognito is not the identity backend of this deployment")
}

/// The Bearer token of a request (already verified by the extractor).
pub fn bearer(req: &actix_web::HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim().to_owned()))
        .unwrap_or_default()
}

/// Refusals become the answers a client can act on; outages 503; the rest 500.
pub fn refusal(err: CognitoError) -> ApiError {
    match err {
        CognitoError::Refused(CognitoRefusal::BadCredentials) => {
            ApiError::new(Code::Unauthorized).detail("invalid email or password")
        }
        CognitoError::Refused(CognitoRefusal::NotConfirmed) => {
            ApiError::new(Code::Forbidden).detail("confirm your email address first")
        }
        CognitoError::Refused(CognitoRefusal::WeakPassword) => {
            ApiError::field("password", "does not meet the password policy")
        }
        CognitoError::Refused(CognitoRefusal::BadCode) => ApiError::field("code", "is wrong or expired"),
        // Sign-up hides this (202); elsewhere it cannot happen.
        CognitoError::Refused(CognitoRefusal::UsernameExists) => ApiError::new(Code::Conflict),
        CognitoError::Store(e) => e.into(),
    }
}

/// Tokens issued by the pool.
#[derive(Serialize, ToSchema)]
pub struct CognitoTokenPair {
    pub access_token: String,
    pub id_token: Option<String>,
    /// Absent after a refresh: the refresh token stays valid.
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    pub expires_in: i32,
}

impl From<CognitoTokens> for CognitoTokenPair {
    fn from(t: CognitoTokens) -> Self {
        Self {
            access_token: t.access_token,
            id_token: t.id_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

/// What a right password answers: the pool's tokens, or a second-factor challenge.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum CognitoSignInAnswer {
    Tokens(CognitoTokenPair),
    Challenge(crate::api::auth::mfa::MfaChallenge),
}
