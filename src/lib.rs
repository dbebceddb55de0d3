//! The `stampede` binary's library: configuration, wiring and the HTTP API.
//!
//! - [`configuration`]: typed settings from defaults, `stampede.toml` and env;
//! - [`startup`]: `Application::build`, which binds the listener (port 0 in tests);
//! - [`api`]: the route table, one folder per resource, problem+json errors;
//! - [`audit`]: the security and admin log, staged and relayed;
//! - [`auth`]: keys, tokens, the verification path, principals;
//! - [`cli`]: the subcommands (`serve`, `migrate`, `check-config`);
//! - [`bootstrap`]: the first owner on first start;
//! - [`metrics`], [`telemetry`]: Prometheus metrics and JSON logs;
//! - [`password`]: argon2id on the blocking pool, bounded.

pub mod api;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cached;
pub mod cli;
pub mod configuration;
pub mod directory;
pub mod mailings;
pub mod metrics;
pub mod password;
pub mod relay;
pub mod schedule;
pub mod startup;
pub mod state;
pub mod sweeps;
pub mod telemetry;
pub mod usage;
pub mod workers;
