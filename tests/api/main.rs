//! Black-box API tests: one binary, each test spawns the app on port 0 against a
//! fresh database (SQLite file or PostgreSQL database).

mod customers;
mod helpers;
mod ops;
mod process;
