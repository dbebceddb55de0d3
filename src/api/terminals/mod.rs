//! POS terminals of a store: create (the key is shown once), list, revoke.
//! Managers of the store (store manager and up, within their scope) only; for
//! anyone else the store does not exist.

pub mod create;
pub mod list;
pub mod rename;
pub mod revoke;

use serde::Serialize;
use stampede_domain::access::{Permission, staff_may};
use stampede_domain::business::Store;
use stampede_domain::identity::Terminal;
use stampede_domain::ids::StoreId;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::problem::ApiError;
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// The store, if `auth` may manage it; else not found.
pub async fn managed_store(state: &AppState, auth: &StaffAuth, store_id: Uuid) -> Result<Store, ApiError> {
    let store = state.store.get_store(StoreId(store_id)).await?.ok_or_else(ApiError::not_found)?;
    if !staff_may(&auth.staff.memberships, Permission::ManageStore, &store.place()) {
        return Err(ApiError::not_found());
    }
    Ok(store)
}

#[derive(Serialize, ToSchema)]
pub struct TerminalView {
    pub id: Uuid,
    pub store_id: Uuid,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub key_prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&Terminal> for TerminalView {
    fn from(t: &Terminal) -> Self {
        Self {
            id: t.id,
            store_id: t.store_id.0,
            name: t.name.clone(),
            key_prefix: t.key_prefix.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}
