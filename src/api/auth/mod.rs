//! `/v1/auth/…`: sign-up, sign-in, sessions, password reset, social sign-in,
//! staff invitations, second factors; and the JWKS.
//!
//! Answers never reveal whether an email has an account: registration and reset
//! requests always answer 202 with the same body, and a failed sign-in verifies
//! against a dummy hash so it takes as long as a real one.

pub mod accept_invitation;
pub mod cognito;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod mail;
pub mod mfa;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod social;
pub mod staff_password;
pub mod staff_reset;
pub mod verify_email;

use serde::Serialize;
use utoipa::ToSchema;

/// The one answer of requests that must not reveal whether an account exists.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub status: &'static str,
    pub message: &'static str,
}
