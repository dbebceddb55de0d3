//! Loyalty programs: create and change (owner, admin; every change of the
//! rules is a new version, and transactions record the version they ran under),
//! list and read (members); for customers, a business's active programs and
//! joining one.

pub mod active;
pub mod create;
pub mod get;
pub mod join;
pub mod list;
pub mod rules_doc;
pub mod update;
pub mod versions;

use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::ids::{BusinessId, StoreId};
use stampede_domain::program::{Availability, ProgramRules};
use uuid::Uuid;

use super::admin::member_of;
use super::input::Fields;
use super::problem::ApiError;
use crate::auth::principal::StaffAuth;
use crate::cached::ProgramBundle;
use crate::state::AppState;

/// The program (with rewards and campaigns) if the caller is a member of its
/// business (`manage`: owner or admin); else not found.
pub async fn visible(state: &AppState, auth: &StaffAuth, id: Uuid, manage: bool) -> Result<ProgramBundle, ApiError> {
    let bundle = state.records.view().await.program(id).await?.ok_or_else(ApiError::not_found)?;
    let business = bundle.program.business_id;
    let allowed = if manage {
        staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(business))
    } else {
        member_of(&auth.staff, business)
    };
    if !allowed {
        return Err(ApiError::not_found());
    }
    Ok(ProgramBundle::clone(&bundle))
}

pub fn check_rules(f: &mut Fields, rules: &ProgramRules) {
    for (field, message) in rules.validate() {
        f.push(&field, message);
    }
}

/// Every brand and store named must belong to the business.
pub async fn check_availability(
    state: &AppState,
    f: &mut Fields,
    business_id: BusinessId,
    a: &Availability,
) -> Result<(), ApiError> {
    for b in &a.brand_ids {
        if state.store.get_brand(*b).await?.is_none_or(|x| x.business_id != business_id) {
            f.push("availability.brand_ids", format!("no brand {b} in this business"));
        }
    }
    for s in &a.store_ids {
        if state.store.get_store(*s).await?.is_none_or(|x| x.business_id != business_id) {
            f.push("availability.store_ids", format!("no store {s} in this business"));
        }
    }
    Ok(())
}

/// Per-store overrides must name stores of the business.
pub async fn check_overrides(
    state: &AppState,
    f: &mut Fields,
    business_id: BusinessId,
    rules: &ProgramRules,
) -> Result<(), ApiError> {
    if let ProgramRules::Points(p) = rules {
        for s in p.store_overrides.keys() {
            let store: StoreId = *s;
            if state.store.get_store(store).await?.is_none_or(|x| x.business_id != business_id) {
                f.push("rules.store_overrides", format!("no store {store} in this business"));
            }
        }
    }
    Ok(())
}
