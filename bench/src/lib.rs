//! `stampede-bench`: the load harness.
//!
//! - [`seed`]: the fast seeding path (straight into the server's database);
//! - [`plan`]: a step's requests, built before it starts;
//! - [`lanes`]: the fleet's lanes sending them, over [`wire`]'s keep-alive
//!   HTTP/1.1 connections;
//! - [`load`]: open-loop steps with latency from the scheduled send time;
//! - [`ceiling`]: the HTTP and database ceilings, measured in the same run;
//! - [`app`]: the customer app's sessions (signed in through the API, kept fresh);
//! - [`check`]: the correctness check after every run;
//! - [`server`]: starting a server process and reading its CPU, memory, metrics;
//! - [`disk`]: the database's disk, probed before and after a run, watched per step;
//! - [`flush`]: the writes seeding left pending, finished before the steps;
//! - [`netdelay`]: a proxy that puts the database a network hop away (`--db-delay-us`);
//! - [`report`]: JSON, Markdown and an SVG chart under `bench/results/`;
//! - [`run`]: the scenarios (`sweep`, `hot-card`, `burst`, `soak`, `smoke`)
//!   and the search for peak and max sustainable rates.

pub mod app;
pub mod ceiling;
pub mod check;
pub mod disk;
pub mod flush;
pub mod lanes;
pub mod load;
pub mod netdelay;
pub mod plan;
pub mod report;
pub mod run;
pub mod seed;
pub mod server;
pub mod wire;
pub mod zipf;
