//! Businesses: the merchants that own brands, stores and programs.

use chrono::{DateTime, Utc};
use serde::Serialize;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Business {
    pub id: BusinessId,
    pub name: String,
    pub description: Option<String>,
    pub tax_id: Option<String>,
    pub logo_url: Option<String>,
    pub website: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; the admin API's `ETag`.
    pub version: i64,
}
