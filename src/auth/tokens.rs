//! Minting tokens: the local issuer's access tokens (shaped like Cognito's, so
//! one verification path serves both) and refresh-token sessions with rotation.

use std::sync::Arc;

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;
use stampede_domain::identity::{NewRefreshToken, RefreshOutcome, SubjectKind};
use stampede_domain::ports::{SessionRepo, StoreError};
use utoipa::ToSchema;
use uuid::Uuid;

use super::keys::KeyRing;
use super::secret::{random_token, sha256};
use super::verify::PrincipalKind;

pub const CUSTOMER_CLIENT_ID: &str = "stampede-customer";
pub const STAFF_CLIENT_ID: &str = "stampede-staff";

#[derive(Serialize)]
struct LocalClaims<'a> {
    iss: &'a str,
    sub: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    token_use: &'static str,
    client_id: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    mcp: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    msr: bool,
}

/// What a staff account must do before its token may do anything else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// Replace a one-time password (`/v1/auth/staff/password`).
    pub password_change: bool,
    /// Set up a second factor (`/v1/auth/mfa/totp`): a business it owns or
    /// administers requires one.
    pub mfa_setup: bool,
}

impl Pending {
    pub const NOTHING: Pending = Pending { password_change: false, mfa_setup: false };
}

/// What a successful sign-in or refresh answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// A short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque; exchange it at `/v1/auth/token/refresh`. Rotated on every use.
    pub refresh_token: String,
    /// Staff signed in with a one-time password must set a new one first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_change_required: bool,
    /// Staff whose business requires a second factor must set one up first:
    /// until then only `/v1/auth/mfa/…` accepts the token.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mfa_setup_required: bool,
}

pub struct LocalIssuer {
    pub ring: Arc<KeyRing>,
    pub iss: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_days: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("signing failed: {0}")]
    Sign(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LocalIssuer {
    pub fn access_token(&self, kind: PrincipalKind, subject: Uuid, pending: Pending) -> Result<String, IssueError> {
        let now = Utc::now().timestamp();
        let claims = LocalClaims {
            iss: &self.iss,
            sub: subject.to_string(),
            iat: now,
            nbf: now,
            exp: now + self.access_ttl_secs as i64,
            jti: Uuid::now_v7().to_string(),
            token_use: "access",
            client_id: match kind {
                PrincipalKind::Customer => CUSTOMER_CLIENT_ID,
                PrincipalKind::Staff => STAFF_CLIENT_ID,
            },
            mcp: pending.password_change,
            msr: pending.mfa_setup,
        };
        let key = self.ring.active();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|e| IssueError::Sign(e.to_string()))
    }

    /// A new session: an access token and the first refresh token of a new family.
    pub async fn start_session(
        &self,
        sessions: &dyn SessionRepo,
        kind: PrincipalKind,
        subject: Uuid,
        pending: Pending,
    ) -> Result<TokenPair, IssueError> {
        self.continue_session(sessions, Uuid::now_v7(), kind, subject, pending).await
    }

    async fn continue_session(
        &self,
        sessions: &dyn SessionRepo,
        family_id: Uuid,
        kind: PrincipalKind,
        subject: Uuid,
        pending: Pending,
    ) -> Result<TokenPair, IssueError> {
        let refresh = random_token();
        sessions
            .insert_refresh_token(NewRefreshToken {
                token_hash: sha256(refresh.as_bytes()),
                family_id,
                subject_kind: subject_kind(kind),
                subject_id: subject,
                expires_at: Utc::now() + Duration::days(self.refresh_ttl_days as i64),
            })
            .await?;
        Ok(TokenPair {
            access_token: self.access_token(kind, subject, pending)?,
            token_type: "Bearer",
            expires_in: self.access_ttl_secs,
            refresh_token: refresh,
            password_change_required: pending.password_change,
            mfa_setup_required: pending.mfa_setup,
        })
    }

    /// Exchange a refresh token: rotates it (same family) or, on replay of a
    /// rotated token, revokes the family. Anything but `Issued` means "sign in
    /// again". `pending` is looked up by the caller (`None`: the account may
    /// not sign in any more).
    pub async fn refresh(
        &self,
        sessions: &dyn SessionRepo,
        presented: &str,
        pending: impl AsyncFnOnce(SubjectKind, Uuid) -> Result<Option<Pending>, StoreError>,
    ) -> Result<Refreshed, IssueError> {
        match sessions.rotate_refresh_token(&sha256(presented.as_bytes()), Utc::now()).await? {
            RefreshOutcome::Rotated { family_id, subject_kind: sk, subject_id } => {
                // An account that is gone or disabled gets no new tokens.
                let Some(pending) = pending(sk, subject_id).await? else {
                    sessions.revoke_family(family_id, Utc::now()).await?;
                    return Ok(Refreshed::Refused);
                };
                let kind = match sk {
                    SubjectKind::Customer => PrincipalKind::Customer,
                    SubjectKind::Staff => PrincipalKind::Staff,
                };
                match self.continue_session(sessions, family_id, kind, subject_id, pending).await {
                    // A replay of the same token revoked the family meanwhile:
                    // its successor was refused, and so is this use.
                    Err(IssueError::Store(StoreError::Conflict(_))) => {
                        tracing::warn!("refresh token replayed while it was being rotated: family revoked");
                        Ok(Refreshed::Replayed { subject_kind: sk, subject_id })
                    }
                    other => other.map(Refreshed::Issued),
                }
            }
            RefreshOutcome::Reused { subject_kind, subject_id } => {
                tracing::warn!("refresh token replayed: family revoked");
                Ok(Refreshed::Replayed { subject_kind, subject_id })
            }
            RefreshOutcome::Invalid => Ok(Refreshed::Refused),
        }
    }
}

/// What presenting a refresh token came to.
#[derive(Debug)]
pub enum Refreshed {
    Issued(TokenPair),
    /// Unknown, expired, revoked, or its account may not sign in.
    Refused,
    /// A token used before: a copy is in someone else's hands, and every
    /// session of its family has ended.
    Replayed {
        subject_kind: SubjectKind,
        subject_id: Uuid,
    },
}

pub fn subject_kind(kind: PrincipalKind) -> SubjectKind {
    match kind {
        PrincipalKind::Customer => SubjectKind::Customer,
        PrincipalKind::Staff => SubjectKind::Staff,
    }
}
