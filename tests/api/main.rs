//! Black-box API tests: one binary, each test spawns the app on port 0 against a
//! fresh database (SQLite file or PostgreSQL database).

mod admin;
mod apps;
mod arbitrary_bodies;
mod aws;
mod bench_smoke;
mod cognito_rules;
mod counter_customers;
mod crash;
mod customers;
mod forgery;
mod helpers;
mod invitations;
mod mailings;
mod matrix;
mod mfa;
mod ops;
mod pos;
mod process;
mod security_log;
mod social;
mod staff;
mod uploads;
mod workers;
