//! Shared request-input helpers: field validation that collects every problem
//! of a body into one 422, the client address for rate limits, rate-limit checks.

use actix_web::HttpRequest;
use serde::{Deserialize, Deserializer};
use stampede_domain::email::Email;
use stampede_domain::ports::{Decision, Limit};
use stampede_domain::text::Name;

use super::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Collects field errors; `finish` turns them into one 422.
#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.to_owned(), message: message.into() });
    }

    pub fn email(&mut self, field: &str, raw: &str) -> Option<Email> {
        Email::parse(raw).map_err(|e| self.push(field, e.to_string())).ok()
    }

    pub fn name(&mut self, field: &str, raw: &str) -> Option<Name> {
        Name::parse(raw).map_err(|e| self.push(field, e.to_string())).ok()
    }

    /// NIST SP 800-63B: a minimum length, a generous maximum, nothing else.
    pub fn password(&mut self, field: &str, raw: &str, min: usize) -> bool {
        let n = raw.chars().count();
        if n < min {
            self.push(field, format!("must be at least {min} characters"));
            false
        } else if n > 256 {
            self.push(field, "must be at most 256 characters");
            false
        } else {
            true
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::validation(self.errors)) }
    }
}

/// Whether to trust `X-Forwarded-For` for the client address.
pub struct ClientIp {
    pub trust_forwarded_for: bool,
}

impl ClientIp {
    pub fn of(&self, req: &HttpRequest) -> String {
        let info = req.connection_info();
        let addr = if self.trust_forwarded_for { info.realip_remote_addr() } else { info.peer_addr() };
        addr.map(|a| a.rsplit_once(':').map(|(host, _)| host).unwrap_or(a).to_owned()).unwrap_or_default()
    }
}

/// Count one request against a limit; 429 with `Retry-After` when over it.
pub async fn limit(state: &AppState, limit: &Limit, key: &str) -> Result<(), ApiError> {
    match state.limiter.check(limit, key).await {
        Decision::Allow => Ok(()),
        Decision::Deny { retry_after } => Err(ApiError::rate_limited(retry_after)),
    }
}

/// For PATCH bodies: tell "absent" (`None`) from "null" (`Some(None)`).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
