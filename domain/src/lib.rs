//! Stampede's domain: the loyalty logic with no I/O.
//!
//! This crate knows nothing of HTTP, SQL, queues or AWS; CI checks that with
//! `cargo tree`. It holds:
//!
//! - [`ids`]: typed ids (UUIDs, v7 so they sort by creation time);
//! - [`email`], [`text`]: validated newtypes built with `parse`;
//! - [`export`]: business and customer data exports;
//! - [`business`], [`customer`], [`staff`]: the records of the system of record;
//! - [`access`]: who may do what where (roles, scopes, places);
//! - [`analytics`]: the daily aggregates the analytics worker keeps;
//! - [`input`]: what arrives from outside (codes, keys, POS bodies, token claims), checked;
//! - [`identity`]: terminals, sessions and one-time tokens (hashes only);
//! - [`ledger`]: what the transaction path writes, and the transaction message contract;
//! - [`marketing`]: mailings a business sends to the members who consent, and their audience;
//! - [`messages`]: the other queues' message contracts (email, ...);
//! - [`page`]: cursor pagination shared by every listing;
//! - [`card`]: the card state machine (command → new state and effect, or refusal);
//! - [`program`]: the rules of earning and rewarding, and their arithmetic;
//! - [`ports`]: the traits the adapters in `stampede-store` implement.

pub mod access;
pub mod analytics;
pub mod business;
pub mod card;
pub mod customer;
pub mod email;
pub mod export;
pub mod identity;
pub mod ids;
pub mod input;
pub mod ledger;
pub mod marketing;
pub mod messages;
pub mod page;
pub mod ports;
pub mod program;
pub mod staff;
pub mod text;
