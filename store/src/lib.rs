//! Adapters behind the domain's ports.
//!
//! - [`postgres`]: the system of record on PostgreSQL (schemas `customer`,
//!   `business`, `loyalty`, `analytics`);
//! - [`sqlite`]: the same on a SQLite file, the embedded default;
//! - [`open`]: picks one from [`DatabaseOptions`], applies migrations if asked and
//!   hands back an `Arc<dyn Store>`;
//! - [`migrations`]: the SQL files of `migrations/`, embedded in the binary;
//! - [`testing`]: a fresh database per test, for every crate's tests.
//!
//! Both adapters pass the same contract tests (`tests/contract.rs`).

mod error;
pub mod migrations;
mod open;
pub mod postgres;
pub mod sqlite;
pub mod testing;

pub use open::{DatabaseBackend, DatabaseOptions, OpenError, SqliteSync, open};
