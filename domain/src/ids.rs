//! Typed ids. Each is a UUID; new ids are v7 (time-ordered), so a listing ordered by
//! id is ordered by creation and cursor pagination by id is stable.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = uuid::Uuid))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A business: the merchant that owns brands, stores and programs.
    BusinessId
);
id_type!(
    /// A brand of a business.
    BrandId
);
id_type!(
    /// A physical or online store.
    StoreId
);
id_type!(
    /// A staff account (owner, admin, manager, cashier).
    StaffId
);
id_type!(
    /// A customer account.
    CustomerId
);
id_type!(
    /// A loyalty program.
    ProgramId
);
id_type!(
    /// A customer's card in one program.
    CardId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_sort_by_creation() {
        let a = CardId::new();
        let b = CardId::new();
        assert!(a < b, "v7 ids must increase: {a} then {b}");
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }
}
