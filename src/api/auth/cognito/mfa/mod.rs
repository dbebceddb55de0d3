//! `/v1/auth/cognito/…/mfa/…`: authenticator apps as the pools' second
//! factor. The pools keep the secret and check the codes; sign-in answers
//! a challenge (the pool's session) that `…/mfa/verify` exchanges with a
//! code for the pool's tokens. Whether staff must use one is the staff
//! pool's `MfaConfiguration` (the template's `StaffMfa` parameter).

pub mod confirm;
pub mod disable;
pub mod enroll;
pub mod verify;

use super::Pool;
use crate::auth::principal::Account;

/// Cognito keeps a sign-in's challenge session for three minutes.
pub const SESSION_SECS: i64 = 180;

/// The pool an account lives in.
pub fn pool_of(account: &Account) -> Pool {
    match account {
        Account::Customer(_) => Pool::Customers,
        Account::Staff(_) => Pool::Staff,
    }
}
