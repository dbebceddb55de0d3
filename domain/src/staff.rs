//! Staff accounts and their roles. A membership gives one account one role in one
//! business, optionally narrowed to a brand or a store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::email::Email;
use crate::ids::{BrandId, BusinessId, StaffId, StoreId};
use crate::text::Name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    BrandManager,
    StoreManager,
    Cashier,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::BrandManager => "brand_manager",
            Role::StoreManager => "store_manager",
            Role::Cashier => "cashier",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "brand_manager" => Role::BrandManager,
            "store_manager" => Role::StoreManager,
            "cashier" => Role::Cashier,
            _ => return None,
        })
    }
}

/// Where a membership applies. The role decides which scope is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    Business,
    Brand { brand_id: BrandId },
    Store { store_id: StoreId },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role {role} requires a {expected} scope")]
pub struct ScopeMismatch {
    pub role: &'static str,
    pub expected: &'static str,
}

/// A role in a business, with the scope the role requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    pub business_id: BusinessId,
    pub role: Role,
    pub scope: Scope,
}

impl Membership {
    /// Owners and admins act on the whole business, brand managers on a brand,
    /// store managers and cashiers on a store.
    pub fn new(business_id: BusinessId, role: Role, scope: Scope) -> Result<Self, ScopeMismatch> {
        let expected = match role {
            Role::Owner | Role::Admin => "business",
            Role::BrandManager => "brand",
            Role::StoreManager | Role::Cashier => "store",
        };
        let actual = match scope {
            Scope::Business => "business",
            Scope::Brand { .. } => "brand",
            Scope::Store { .. } => "store",
        };
        if expected != actual {
            return Err(ScopeMismatch { role: role.as_str(), expected });
        }
        Ok(Self { business_id, role, scope })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Given by an external identity provider (the staff pool's `sub`), so the
    /// provider's tokens name this account; `None` makes a new id.
    pub id: Option<StaffId>,
    pub email: Email,
    pub name: Name,
    pub password_hash: Option<String>,
    /// Set for one-time passwords: the first login must choose a new one.
    pub must_change_password: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Staff {
    pub id: StaffId,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub memberships: Vec<Membership>,
}

impl Staff {
    /// An active account with a role somewhere: one removed from every
    /// business has nothing to do here and cannot sign in (an invitation
    /// that gives it a role again lets it back).
    pub fn may_sign_in(&self) -> bool {
        self.is_active && !self.memberships.is_empty()
    }
}

/// An invitation to a role in a business. Kept as a record (not only as a
/// token) so it can be listed and revoked, and accepted in the same
/// transaction that gives the role; only the token's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub id: Uuid,
    pub business_id: BusinessId,
    pub email: String,
    pub role: Role,
    pub scope: Scope,
    pub invited_by: StaffId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<StaffId>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<StaffId>,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }
}

impl Invitation {
    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        if self.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if self.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if self.expires_at <= now {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }

    /// The membership accepting it gives.
    pub fn membership(&self) -> Result<Membership, ScopeMismatch> {
        Membership::new(self.business_id, self.role, self.scope)
    }
}

/// An invitation to store; `token_hash` is the SHA-256 of the emailed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    pub id: Uuid,
    pub membership: Membership,
    pub email: Email,
    pub invited_by: StaffId,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl NewInvitation {
    /// The invitation as it is stored: pending.
    pub fn pending(&self) -> Invitation {
        Invitation {
            id: self.id,
            business_id: self.membership.business_id,
            email: self.email.as_str().to_owned(),
            role: self.membership.role,
            scope: self.membership.scope,
            invited_by: self.invited_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
            revoked_by: None,
        }
    }
}

/// Who accepts an invitation: an account that exists (found by the
/// invitation's address) or a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    Existing(StaffId),
    New(NewStaff),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips() {
        for r in [Role::Owner, Role::Admin, Role::BrandManager, Role::StoreManager, Role::Cashier] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn scope_must_match_role() {
        let b = BusinessId::new();
        assert!(Membership::new(b, Role::Owner, Scope::Business).is_ok());
        assert!(Membership::new(b, Role::Cashier, Scope::Business).is_err());
        let store = Scope::Store { store_id: StoreId::new() };
        assert!(Membership::new(b, Role::Cashier, store).is_ok());
        assert!(Membership::new(b, Role::Admin, store).is_err());
        let brand = Scope::Brand { brand_id: BrandId::new() };
        assert!(Membership::new(b, Role::BrandManager, brand).is_ok());
        assert!(Membership::new(b, Role::StoreManager, brand).is_err());
    }
}
