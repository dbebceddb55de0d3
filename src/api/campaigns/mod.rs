//! A program's campaigns: create, list, change (owner, admin).

pub mod create;
pub mod list;
pub mod update;

use stampede_domain::ids::BusinessId;
use stampede_domain::program::{Availability, Campaign};

use super::input::Fields;
use super::problem::ApiError;
use crate::state::AppState;

pub async fn check(state: &AppState, f: &mut Fields, business: BusinessId, c: &Campaign) -> Result<(), ApiError> {
    if c.name.trim().is_empty() || c.name.chars().count() > 200 {
        f.push("name", "must be 1 to 200 characters");
    }
    for (field, message) in c.validate() {
        f.push(&field, message);
    }
    let targets = Availability { brand_ids: c.brand_ids.clone(), store_ids: c.store_ids.clone() };
    crate::api::programs::check_availability(state, f, business, &targets).await
}
