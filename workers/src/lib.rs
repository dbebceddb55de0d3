//! Stampede's workers: plain async handlers over the domain's message
//! contracts, run in process by `stampede serve` (the embedded default) and, in
//! the AWS shape, by `stampede worker` or Lambda functions (to come).
//!
//! - [`email`]: the email templates (in `templates/email/`) and the one renderer
//!   that serves every mail backend, text and HTML parts.
//! - [`email_worker`]: the `email` queue: render and send once per event id.
//! - [`loyalty`]: the `transaction` queue: notices rewards earned.
//! - [`analytics`]: the `analytics` queue: daily aggregates, usage, reports.
//! - [`export`]: the `export` queue: CSV and JSON exports into object storage.
//! - [`failure`]: retryable or permanent, which decides a message's fate.

pub mod analytics;
pub mod email;
pub mod email_worker;
pub mod export;
pub mod failure;
pub mod loyalty;
