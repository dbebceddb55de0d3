//! `/v1/auth/mfa/…`: second factors (TOTP, RFC 6238) with recovery codes,
//! for customers (optional) and staff (required of owners and admins by a
//! business that says so).
//!
//! Sign-in with a second factor is two steps: the password (or a social
//! sign-in) answers a challenge instead of tokens, and
//! `POST /v1/auth/mfa/verify` exchanges the challenge and a code (or a
//! recovery code) for them. A code counts once; tries are limited per
//! account like sign-ins. In the Cognito shape the pools hold the factors,
//! and these routes answer 404.

pub mod confirm;
pub mod disable;
pub mod enroll;
pub mod recovery_codes;
pub mod status;
pub mod verify;

use actix_web::HttpResponse;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use stampede_domain::identity::SubjectKind;
use stampede_domain::ports::StoreError;
use stampede_domain::staff::{Role, Staff};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::problem::{ApiError, Code};
use crate::audit::{self, Actor};
use crate::auth::principal::Account;
use crate::auth::tokens::Pending;
use crate::auth::totp;
use crate::auth::verify::PrincipalKind;
use crate::state::AppState;

/// How long a challenge stays good after the password.
const CHALLENGE_TTL_SECS: i64 = 300;

/// The answer to a right password when the account has a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true: no tokens yet.
    pub mfa_required: bool,
    /// Send it back with a code to `/v1/auth/mfa/verify`, within `expires_in`.
    pub mfa_token: String,
    /// Seconds the challenge stays good.
    pub expires_in: i64,
    /// `totp` (a code from the authenticator app) and, while any is left,
    /// `recovery_code`.
    pub methods: Vec<&'static str>,
}

/// A code from the authenticator app, or one of the recovery codes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[schema(pattern = r"^ *([0-9] *){6}$", max_length = 8)]
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

impl CodeRequest {
    /// The shape of what was sent, before anything is looked up: a code is
    /// six digits (spaces aside), a recovery code at most 64 characters.
    pub fn check_shape(&self) -> Result<(), ApiError> {
        let mut f = crate::api::input::Fields::default();
        if let Some(code) = &self.code {
            let digits = code.chars().filter(|c| *c != ' ');
            if !(6..=8).contains(&code.len())
                || !code.chars().all(|c| c.is_ascii_digit() || c == ' ')
                || digits.count() != 6
            {
                f.push("code", "must be the six digits the app shows");
            }
        }
        if self.recovery_code.as_ref().is_some_and(|r| r.trim().is_empty() || r.chars().count() > 64) {
            f.push("recovery_code", "must be one of the recovery codes");
        }
        f.finish()
    }
}

pub fn local_only(state: &AppState) -> Result<(), ApiError> {
    match state.cognito {
        Some(_) => Err(ApiError::new(Code::NotFound).detail("second factors live in the Cognito user pools here")),
        None => Ok(()),
    }
}

/// Who a signed-in account is, for the security log.
fn actor(account: &Account) -> (Actor, Vec<stampede_domain::ids::BusinessId>) {
    match account {
        Account::Customer(c) => (Actor::Customer(*c), Vec::new()),
        Account::Staff(s) => (Actor::Staff(s.id), audit::businesses_of(s)),
    }
}

pub async fn log(state: &AppState, account: &Account, what: &str, detail: serde_json::Value) {
    let (by, businesses) = actor(account);
    let action = format!("{}.{what}", account.kind().as_str());
    audit::security(state, by, account.id(), &businesses, &action, detail).await;
}

fn wrong_code() -> ApiError {
    ApiError { machine: Some("mfa_code_invalid".to_owned()), ..ApiError::new(Code::Unauthorized) }
        .detail("the code is wrong, expired or already used")
}

/// Check a code of `subject`'s confirmed factor (and use it), or a recovery
/// code. Tries are limited per account. `Ok(true)`: a recovery code was used.
pub async fn check_code(state: &AppState, subject: Uuid, body: &CodeRequest) -> Result<bool, ApiError> {
    body.check_shape()?;
    crate::api::input::limit(state, &state.limits.login_per_account, &format!("mfa:{}", subject.simple())).await?;
    let factor = state.store.get_mfa(subject).await?.filter(|f| f.is_on()).ok_or_else(wrong_code)?;
    match (&body.code, &body.recovery_code) {
        (Some(code), None) => {
            let secret = state
                .mfa
                .open(subject, &factor.sealed_secret)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a second factor's secret does not open")))?;
            let now = totp::step_at(Utc::now().timestamp());
            let step = totp::matching_step(&secret, code, now, factor.last_step).ok_or_else(wrong_code)?;
            if !state.store.use_mfa_step(subject, step).await? {
                return Err(wrong_code());
            }
            Ok(false)
        }
        (None, Some(recovery)) => {
            let hash = state.mfa.recovery_hash(subject, recovery);
            if !state.store.use_recovery_code(subject, &hash).await? {
                return Err(wrong_code());
            }
            Ok(true)
        }
        _ => Err(ApiError::new(Code::ValidationFailed).detail("send either `code` or `recovery_code`")),
    }
}

/// Whether a staff member owns or administers a business that requires a
/// second factor.
pub async fn required_of(state: &AppState, staff: &Staff) -> Result<bool, StoreError> {
    let mut checked = Vec::new();
    for m in staff.memberships.iter().filter(|m| matches!(m.role, Role::Owner | Role::Admin)) {
        if checked.contains(&m.business_id) {
            continue;
        }
        checked.push(m.business_id);
        if state.store.get_business(m.business_id).await?.is_some_and(|b| b.is_active && b.require_mfa) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What a staff token must be limited to: the password change after a
/// one-time password, the set-up of a second factor a business requires.
pub async fn staff_pending(state: &AppState, staff: &Staff) -> Result<Pending, StoreError> {
    let has_factor = state.store.get_mfa(staff.id.0).await?.is_some_and(|f| f.is_on());
    Ok(Pending {
        password_change: staff.must_change_password,
        mfa_setup: !has_factor && required_of(state, staff).await?,
    })
}

/// After the password (or a social sign-in): tokens, or a challenge when the
/// account has a second factor.
pub async fn sign_in(
    state: &AppState,
    kind: PrincipalKind,
    subject: Uuid,
    pending: Pending,
) -> Result<HttpResponse, ApiError> {
    if let Some(factor) = state.store.get_mfa(subject).await?.filter(|f| f.is_on()) {
        let sk = match kind {
            PrincipalKind::Customer => SubjectKind::Customer,
            PrincipalKind::Staff => SubjectKind::Staff,
        };
        let expires = Utc::now() + chrono::Duration::seconds(CHALLENGE_TTL_SECS);
        let mut methods = vec!["totp"];
        if factor.recovery_codes_left > 0 {
            methods.push("recovery_code");
        }
        return Ok(HttpResponse::Ok().json(MfaChallenge {
            mfa_required: true,
            mfa_token: state.link_key.mfa_challenge(sk, subject, expires),
            expires_in: CHALLENGE_TTL_SECS,
            methods,
        }));
    }
    let pair = state.issuer.start_session(state.sessions.as_ref(), kind, subject, pending).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// New recovery codes: shown once, kept as keyed hashes.
pub fn recovery_codes(state: &AppState, subject: Uuid) -> (Vec<String>, Vec<Vec<u8>>) {
    let codes = totp::new_recovery_codes();
    let hashes = codes.iter().map(|c| state.mfa.recovery_hash(subject, c)).collect();
    (codes, hashes)
}

/// The recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each works once, instead of a code, should the authenticator be lost.
    pub recovery_codes: Vec<String>,
}
