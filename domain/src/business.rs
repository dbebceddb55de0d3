//! Businesses: the merchants that own brands, stores and programs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::BusinessId;
use crate::text::Name;

/// What is needed to create a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBusiness {
    pub name: Name,
    pub description: Option<String>,
    pub tax_id: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Business {
    pub id: BusinessId,
    pub name: String,
    pub description: Option<String>,
    pub tax_id: Option<String>,
    pub logo_url: Option<String>,
    pub website: Option<String>,
    pub is_active: bool,
    /// Owners and admins must sign in with a second factor.
    #[serde(default)]
    pub require_mfa: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; the admin API's `ETag`.
    pub version: i64,
}

/// A brand of a business (a chain, a concept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Brand {
    pub id: crate::ids::BrandId,
    pub business_id: BusinessId,
    pub name: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStore {
    pub business_id: BusinessId,
    pub brand_id: Option<crate::ids::BrandId>,
    pub name: Name,
    /// An IANA time zone name such as `Europe/Berlin`.
    pub timezone: String,
    pub address: serde_json::Value,
}

/// A store: where POS terminals stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Store {
    pub id: crate::ids::StoreId,
    pub business_id: BusinessId,
    pub brand_id: Option<crate::ids::BrandId>,
    pub name: String,
    pub timezone: String,
    /// Free-form postal address (street, city, postcode, country).
    pub address: serde_json::Value,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

impl Store {
    pub fn place(&self) -> crate::access::Place {
        crate::access::Place::store(self.business_id, self.brand_id, self.id)
    }

    /// The store's time zone; a stored name that no longer parses counts as UTC.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Tz::UTC)
    }
}
