//! `/v1/config`: what the apps need to know before anyone signs in.

pub mod get;
