//! `/v1/businesses`: create (the creator becomes its owner), list mine, read,
//! update (owner and admin, with `If-Match`), logo upload, audit log.

pub mod analytics;
pub mod audit_log;
pub mod create;
pub mod get;
pub mod list;
pub mod logo;
pub mod report_doc;
pub mod update;

use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::business::Business;
use stampede_domain::ids::BusinessId;
use uuid::Uuid;

use super::admin::member_of;
use super::problem::ApiError;
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// The business if the caller is a member (`manage`: an owner or admin); else
/// not found.
pub async fn visible(state: &AppState, auth: &StaffAuth, id: Uuid, manage: bool) -> Result<Business, ApiError> {
    let id = BusinessId(id);
    let allowed = if manage {
        staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(id))
    } else {
        member_of(&auth.staff, id)
    };
    if !allowed {
        return Err(ApiError::not_found());
    }
    let business = state.records.view().await.business(id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Business::clone(&business))
}

/// Optional text: trimmed, empty means none, bounded.
pub fn optional_text(f: &mut super::input::Fields, field: &str, value: Option<String>, max: usize) -> Option<String> {
    // Bounded as sent: the limit the API document states.
    if value.as_ref().is_some_and(|s| s.chars().count() > max) {
        f.push(field, format!("must be at most {max} characters"));
        return None;
    }
    let v = value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())?;
    if v.chars().count() > max {
        f.push(field, format!("must be at most {max} characters"));
        return None;
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        f.push(field, "must not contain control characters");
        return None;
    }
    Some(v)
}

pub fn website(f: &mut super::input::Fields, value: Option<String>) -> Option<String> {
    let v = optional_text(f, "website", value, 300)?;
    if !(v.starts_with("https://") || v.starts_with("http://")) || v.contains(char::is_whitespace) {
        f.push("website", "must be an http(s) URL");
        return None;
    }
    Some(v)
}
