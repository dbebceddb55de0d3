//! Identity and access.
//!
//! - [`keys`]: the local issuer's ES256 keys, rotation, the JWKS;
//! - [`tokens`]: minting access tokens and rotating refresh-token sessions;
//! - [`verify`]: the one verification path for every issuer's tokens;
//! - [`principal`]: extractors turning credentials into a customer, staff member
//!   or POS terminal;
//! - [`terminal_key`]: POS API keys; [`secret`]: random tokens and hashes;
//! - [`links`]: the signed links in emails (unsubscribe, export downloads) and
//!   second-factor challenges;
//! - [`totp`]: second factors' codes, sealed secrets and recovery codes.
//!
//! Authorization of objects (which store, which business) is the domain's
//! `access` module, applied by each handler to what it touches.

pub mod keys;
pub mod links;
pub mod principal;
pub mod secret;
pub mod terminal_key;
pub mod tokens;
pub mod totp;
pub mod verify;
