//! `/v1/pos/…`: what terminals and cashiers call at the counter.

pub mod session;

use stampede_domain::access::{Permission, staff_may};
use stampede_domain::business::Store;
use stampede_domain::ids::StoreId;
use uuid::Uuid;

use crate::api::problem::ApiError;
use crate::auth::principal::{PosActor, PosAuth};
use crate::state::AppState;

/// The store, if the POS actor may operate there: a terminal only at its own
/// store, staff with a cashier-or-higher role covering it. Else not found.
pub async fn operated_store(state: &AppState, auth: &PosAuth, store_id: Uuid) -> Result<Store, ApiError> {
    let store = state.store.get_store(StoreId(store_id)).await?.ok_or_else(ApiError::not_found)?;
    let allowed = match &auth.actor {
        PosActor::Terminal(t) => t.store_id == store.id,
        PosActor::Staff(s) => staff_may(&s.memberships, Permission::OperatePos, &store.place()),
    };
    if !allowed || !store.is_active {
        return Err(ApiError::not_found());
    }
    Ok(store)
}
