//! The card runtime: the heart of Stampede's transaction path.
//!
//! - [`engine`]: the [`engine::CardEngine`] the POS endpoints call, and the
//!   [`engine::ActorEngine`]: one actix actor per active card ([`actor`],
//!   hosted as [`host`] says: on the arbiter of the thread that woke it,
//!   parked as plain state when idle), kept in a [`registry`] that activates
//!   cards on demand, and group-commit [`writer`]s that make many cards'
//!   operations durable in one database transaction, isolating one the
//!   database refuses;
//! - [`naive`]: the obvious one-transaction-per-request engine, with the same
//!   guarantees, to measure against;
//! - [`reads`]: cold cards read many to a query, for the POS path and the
//!   actors;
//! - [`prepare`]: what both write for an effect (ledger row, card update,
//!   idempotency record, outbox event);
//! - [`request`]: requests and replies; [`metrics`]: what the runtime exports;
//!   [`memory`]: returning passivated actors' memory to the system.
//!
//! The guarantees: an answer is sent only after its effect is committed; one
//! idempotency key applies at most once (the database constraint is the
//! authority, actors keep recent keys as a fast path); a card's version is
//! checked on every write, so a write based on a stale state never lands.

pub mod actor;
pub mod engine;
mod gather;
pub mod host;
pub mod memory;
pub mod metrics;
pub mod naive;
pub mod prepare;
pub mod reads;
pub mod registry;
pub mod request;
mod seen;
pub mod writer;

pub use engine::{ActorEngine, CardEngine, RuntimeConfig};
pub use metrics::RuntimeMetrics;
pub use naive::NaiveEngine;
pub use reads::CardReads;
pub use request::{CardReply, CardRequest, EntryMeta, IdempotencyInput, ProgramContext, RuntimeError};
