//! `stampede-bench`: the load harness.
//!
//! - [`seed`]: the fast seeding path (straight into the server's database);
//! - [`load`]: open-loop load with latency from the scheduled send time;
//! - [`app`]: the customer app's sessions (signed in through the API, kept fresh);
//! - [`check`]: the correctness check after every run;
//! - [`server`]: starting a server process and reading its CPU, memory, metrics;
//! - [`disk`]: the database's disk, probed before and after a run, watched per step;
//! - [`flush`]: the writes seeding left pending, finished before the steps;
//! - [`netdelay`]: a proxy that puts the database a network hop away (`--db-delay-us`);
//! - [`report`]: JSON, Markdown and an SVG chart under `bench/results/`;
//! - [`run`]: the scenarios (`sweep`, `hot-card`, `burst`, `soak`, `smoke`).

pub mod app;
pub mod check;
pub mod disk;
pub mod flush;
pub mod load;
pub mod netdelay;
pub mod report;
pub mod run;
pub mod seed;
pub mod server;
pub mod zipf;
