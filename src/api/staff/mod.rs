//! Staff: who am I, and invitations.

pub mod invite;
pub mod me;
