//! Brands of a business: create and change (owner, admin), list (members).

pub mod create;
pub mod list;
pub mod update;
