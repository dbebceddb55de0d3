//! Adapters behind the domain's ports.
//!
//! - [`postgres`]: the system of record on PostgreSQL (schemas `customer`,
//!   `business`, `loyalty`, `analytics`);
//! - [`sqlite`]: the same on a SQLite file, the embedded default;
//! - [`open`]: picks one from [`DatabaseOptions`], applies migrations if asked and
//!   hands back an `Arc<dyn Store>`;
//! - [`migrations`]: the SQL files of `migrations/`, embedded in the binary;
//! - [`testing`]: a fresh database per test, for every crate's tests;
//! - [`cache`], [`ratelimit`]: the cache and rate-limit ports, in process and on Redis;
//! - [`mailbox`]: the mail port writing one `.eml` file per message;
//! - [`objects`]: the object port on a folder.
//!
//! Both adapters pass the same contract tests (`tests/contract.rs`).

pub mod cache;
pub mod contracts;
mod error;
mod ledger_common;
pub mod mailbox;
pub mod migrations;
pub mod objects;
mod open;
pub mod postgres;
pub mod private;
pub mod queue;
pub mod ratelimit;
pub mod sqlite;
mod tally;
pub mod testing;
pub mod writes;

pub use open::{DatabaseBackend, DatabaseOptions, OpenError, SqliteSync, open};
