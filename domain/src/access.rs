//! Who may do what, where. Pure rules; the API applies them to every object an
//! endpoint touches.
//!
//! A [`Place`] is where an object lives: a business, optionally one of its brands,
//! optionally one of its stores. A staff membership *covers* a place when the place
//! lies inside the membership's scope. A [`Permission`] needs a minimum role at the
//! place; roles rank owner > admin > brand manager > store manager > cashier.

use serde::Serialize;

use crate::ids::{BrandId, BusinessId, StoreId};
use crate::staff::{Membership, Role, Scope};

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Place {
    pub business_id: BusinessId,
    pub brand_id: Option<BrandId>,
    pub store_id: Option<StoreId>,
}

impl Place {
    pub fn business(business_id: BusinessId) -> Self {
        Self { business_id, brand_id: None, store_id: None }
    }

    pub fn brand(business_id: BusinessId, brand_id: BrandId) -> Self {
        Self { business_id, brand_id: Some(brand_id), store_id: None }
    }

    pub fn store(business_id: BusinessId, brand_id: Option<BrandId>, store_id: StoreId) -> Self {
        Self { business_id, brand_id, store_id: Some(store_id) }
    }
}

impl Role {
    /// Higher outranks lower.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 5,
            Role::Admin => 4,
            Role::BrandManager => 3,
            Role::StoreManager => 2,
            Role::Cashier => 1,
        }
    }
}

impl Membership {
    /// Whether `place` lies inside this membership's scope.
    pub fn covers(&self, place: &Place) -> bool {
        if self.business_id != place.business_id {
            return false;
        }
        match self.scope {
            Scope::Business => true,
            Scope::Brand { brand_id } => place.brand_id == Some(brand_id),
            Scope::Store { store_id } => place.store_id == Some(store_id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the place's data (stores, programs, cards seen at the counter).
    View,
    /// Run POS operations at the place.
    OperatePos,
    /// Create and revoke POS terminal keys; manage the store.
    ManageStore,
    /// Manage a brand and its stores.
    ManageBrand,
    /// Manage the business itself: programs, brands, settings.
    ManageBusiness,
    /// Give (invite, change to, remove) this role at the place.
    AssignRole(Role),
}

impl Permission {
    fn minimum(self) -> Role {
        match self {
            Permission::View | Permission::OperatePos => Role::Cashier,
            Permission::ManageStore => Role::StoreManager,
            Permission::ManageBrand => Role::BrandManager,
            Permission::ManageBusiness => Role::Admin,
            // Owners may make owners; everyone else only roles strictly below theirs,
            // except that admins may make admins.
            Permission::AssignRole(Role::Owner) => Role::Owner,
            Permission::AssignRole(Role::Admin) => Role::Admin,
            Permission::AssignRole(Role::BrandManager) => Role::Admin,
            Permission::AssignRole(Role::StoreManager) => Role::BrandManager,
            Permission::AssignRole(Role::Cashier) => Role::StoreManager,
        }
    }
}

/// Whether any of `memberships` grants `permission` at `place`.
pub fn staff_may(memberships: &[Membership], permission: Permission, place: &Place) -> bool {
    let needed = permission.minimum().rank();
    memberships.iter().any(|m| m.covers(place) && m.role.rank() >= needed)
}

/// Whether a membership with `role` and `scope` in `business` is one `memberships`
/// may hand out: the grantor needs the right to assign the role at the place the
/// scope names.
pub fn may_assign(memberships: &[Membership], business_id: BusinessId, role: Role, place: &Place) -> bool {
    place.business_id == business_id && staff_may(memberships, Permission::AssignRole(role), place)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(business: BusinessId, role: Role, scope: Scope) -> Membership {
        Membership::new(business, role, scope).expect("valid membership")
    }

    #[test]
    fn scopes_cover_what_they_contain() {
        let b = BusinessId::new();
        let brand = BrandId::new();
        let store = StoreId::new();
        let other_store = StoreId::new();
        let store_place = Place::store(b, Some(brand), store);
        assert!(m(b, Role::Admin, Scope::Business).covers(&store_place));
        assert!(m(b, Role::BrandManager, Scope::Brand { brand_id: brand }).covers(&store_place));
        assert!(!m(b, Role::BrandManager, Scope::Brand { brand_id: BrandId::new() }).covers(&store_place));
        assert!(m(b, Role::Cashier, Scope::Store { store_id: store }).covers(&store_place));
        assert!(!m(b, Role::Cashier, Scope::Store { store_id: other_store }).covers(&store_place));
        // Nothing crosses businesses.
        assert!(!m(BusinessId::new(), Role::Owner, Scope::Business).covers(&store_place));
        // A store scope does not cover the business or brand itself.
        assert!(!m(b, Role::StoreManager, Scope::Store { store_id: store }).covers(&Place::business(b)));
    }

    #[test]
    fn roles_need_rank() {
        let b = BusinessId::new();
        let store = StoreId::new();
        let place = Place::store(b, None, store);
        let cashier = [m(b, Role::Cashier, Scope::Store { store_id: store })];
        assert!(staff_may(&cashier, Permission::OperatePos, &place));
        assert!(!staff_may(&cashier, Permission::ManageStore, &place));
        let manager = [m(b, Role::StoreManager, Scope::Store { store_id: store })];
        assert!(staff_may(&manager, Permission::ManageStore, &place));
        assert!(may_assign(&manager, b, Role::Cashier, &place));
        assert!(!may_assign(&manager, b, Role::StoreManager, &place));
        let admin = [m(b, Role::Admin, Scope::Business)];
        assert!(may_assign(&admin, b, Role::Admin, &Place::business(b)));
        assert!(!may_assign(&admin, b, Role::Owner, &Place::business(b)));
        let owner = [m(b, Role::Owner, Scope::Business)];
        assert!(may_assign(&owner, b, Role::Owner, &Place::business(b)));
        assert!(!may_assign(&owner, BusinessId::new(), Role::Cashier, &Place::business(b)));
    }
}
