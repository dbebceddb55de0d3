//! Customers: the people who hold cards.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::email::Email;
use crate::ids::CustomerId;
use crate::text::Name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    /// Given by an external identity provider (a Cognito pool's `sub`), so the
    /// provider's tokens name this customer; `None` makes a new id.
    pub id: Option<CustomerId>,
    pub email: Email,
    pub name: Name,
    pub phone: Option<String>,
    /// An argon2id PHC string; `None` for accounts that only sign in socially.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub joined_at: DateTime<Utc>,
    pub google_id: Option<String>,
    pub apple_id: Option<String>,
    pub preferences: serde_json::Value,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// What a customer agreed to with one business. Consent is given to a
/// business, never to the platform: joining another business's program
/// shares nothing with it until the customer says so there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Consent {
    pub business_id: crate::ids::BusinessId,
    /// The business may send marketing mail, and list the customer's email,
    /// name and phone in its customer export.
    pub marketing: bool,
    pub updated_at: DateTime<Utc>,
}
