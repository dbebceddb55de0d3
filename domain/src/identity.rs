//! Records of the identity layer: POS terminals, sessions (refresh-token
//! families) and one-time tokens (email verification, password reset, staff
//! invitations). Secrets are never stored: only their SHA-256.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{BrandId, BusinessId, StoreId};

/// A POS terminal: a named, store-scoped API key.
/// Never sent to clients as is (the API has its own view without the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminal {
    pub id: Uuid,
    pub business_id: BusinessId,
    pub brand_id: Option<BrandId>,
    pub store_id: StoreId,
    pub name: String,
    /// The first characters of the key, to recognise it in a list.
    pub key_prefix: String,
    pub key_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who a session or one-time token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Customer,
    Staff,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Customer => "customer",
            SubjectKind::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(SubjectKind::Customer),
            "staff" => Some(SubjectKind::Staff),
            _ => None,
        }
    }
}

/// A refresh token as stored: its hash, its family, its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    pub token_hash: Vec<u8>,
    pub family_id: Uuid,
    pub subject_kind: SubjectKind,
    pub subject_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and now rotated (marked used): issue a new one in `family_id`.
    Rotated { family_id: Uuid, subject_kind: SubjectKind, subject_id: Uuid },
    /// Already rotated: a replay. The whole family has been revoked (RFC 9700).
    Reused { subject_kind: SubjectKind, subject_id: Uuid },
    /// Unknown, expired or revoked.
    Invalid,
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    /// A staff account's reset: a customer's token never resets a staff
    /// password, whatever ids they share.
    StaffResetPassword,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::StaffResetPassword => "staff_reset_password",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOneTimeToken {
    pub token_hash: Vec<u8>,
    pub purpose: TokenPurpose,
    /// The customer or staff account, when there is one.
    pub subject_id: Option<Uuid>,
    /// Purpose-specific data.
    pub payload: serde_json::Value,
    pub expires_at: DateTime<Utc>,
}

/// A consumed one-time token.
#[derive(Debug, Clone, PartialEq)]
pub struct OneTimeToken {
    pub subject_id: Option<Uuid>,
    pub payload: serde_json::Value,
}

/// An account's second factor: a TOTP secret (sealed: only the servers can
/// open it), pending until a first code confirms it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaFactor {
    pub subject_id: Uuid,
    pub subject_kind: SubjectKind,
    pub sealed_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// `None` while enrolment waits for its first code.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for: no code counts twice.
    pub last_step: i64,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

impl MfaFactor {
    pub fn is_on(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// One admin change: who, what, when, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub business_id: Option<BusinessId>,
    /// `staff`, `customer`, `system`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    /// e.g. `store.update`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
}

impl AuditEvent {
    /// The event with `after` as the record was written: a store that
    /// stages the event with a change fills in what only the write learns
    /// (the new version, the time it was updated).
    pub fn written(&self, record: &impl Serialize) -> Self {
        Self { after: serde_json::to_value(record).ok(), ..self.clone() }
    }

    /// The event of a record the write created, with the ids only the write
    /// knew (a new business is its own `business_id`).
    pub fn created(&self, business_id: BusinessId, resource_id: Uuid, record: &impl Serialize) -> Self {
        Self { business_id: Some(business_id), resource_id: Some(resource_id), ..self.written(record) }
    }
}
