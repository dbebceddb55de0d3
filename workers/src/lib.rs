//! Stampede's workers: queue handlers and their Lambda entry points (issue 8), and
//! what they share with the API today:
//!
//! - [`email`]: the email templates (in `templates/email/`) and the one renderer
//!   that serves every mail backend, text and HTML parts.

pub mod email;
