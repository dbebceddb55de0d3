//! `/v1/me`: a customer's own profile: read, update, delete, export, and
//! the consents given to each business.

pub mod consents;
pub mod delete;
pub mod export;
pub mod get;
pub mod set_consent;
pub mod update;

use serde::Serialize;
use stampede_domain::customer::Customer;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub id: uuid::Uuid,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub phone: Option<String>,
    pub preferences: serde_json::Value,
    pub joined_at: chrono::DateTime<chrono::Utc>,
    /// Which social sign-ins are linked.
    pub linked: Vec<&'static str>,
}

impl From<Customer> for Profile {
    fn from(c: Customer) -> Self {
        let mut linked = Vec::new();
        if c.google_id.is_some() {
            linked.push("google");
        }
        if c.apple_id.is_some() {
            linked.push("apple");
        }
        Self {
            id: c.id.0,
            email: c.email,
            email_verified: c.email_verified_at.is_some(),
            name: c.name,
            phone: c.phone,
            preferences: c.preferences,
            joined_at: c.joined_at,
            linked,
        }
    }
}
