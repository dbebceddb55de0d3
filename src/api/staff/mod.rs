//! Staff: who am I, invitations (send, list, revoke), and a business's team (list, change a role,
//! remove). Nobody can give a role they may not assign, nor change or remove
//! someone whose role they may not assign; a business always keeps an owner.

pub mod invite;
pub mod list;
pub mod list_invitations;
pub mod me;
pub mod remove;
pub mod revoke_invitation;
pub mod role;

use stampede_domain::access::{Place, may_assign};
use stampede_domain::ids::BusinessId;
use stampede_domain::staff::{Membership, Scope, Staff};

use super::problem::{ApiError, Code};
use crate::state::AppState;

pub fn place_of(m: &Membership) -> Place {
    match m.scope {
        Scope::Business => Place::business(m.business_id),
        Scope::Brand { brand_id } => Place::brand(m.business_id, brand_id),
        // The store's brand does not matter for assigning: only covering scopes do.
        Scope::Store { store_id } => Place::store(m.business_id, None, store_id),
    }
}

/// Whether `me` may give the membership `m`.
pub async fn may_give(state: &AppState, me: &Staff, m: &Membership) -> Result<bool, ApiError> {
    let mut place = place_of(m);
    if let Scope::Store { store_id } = m.scope {
        // A brand manager covers stores of their brand: resolve the brand.
        place = state.store.get_store(store_id).await?.map(|s| s.place()).unwrap_or(place);
    }
    Ok(may_assign(&me.memberships, m.business_id, m.role, &place))
}

/// Whether `me` may change all of `target`'s memberships in the business.
pub async fn may_manage(state: &AppState, me: &Staff, target: &Staff, business: BusinessId) -> Result<bool, ApiError> {
    for m in target.memberships.iter().filter(|m| m.business_id == business) {
        if !may_give(state, me, m).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A business keeps at least one owner: the store refuses the change that
/// would leave none (see `set_business_memberships`).
pub fn last_owner() -> ApiError {
    ApiError::new(Code::Conflict).detail("a business needs at least one owner")
}
