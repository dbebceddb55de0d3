//! Errors as RFC 9457 `application/problem+json`.
//!
//! [`Code`] is the one table from a stable machine code to an HTTP status and a
//! human title. Handlers return [`ApiError`]; extractor rejections (JSON, path,
//! query) and the framework's own errors (unknown route, wrong method) are
//! rendered through the same table, so every 4xx and 5xx looks alike. A 5xx never
//! carries internals: the cause goes to the log, the client gets the title.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Stable machine codes. Never rename one: clients match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    BadRequest,
    InvalidJson,
    InvalidPath,
    InvalidQuery,
    ValidationFailed,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Refused,
    Internal,
    Unavailable,
}

impl Code {
    /// The table: code → (status, title).
    pub const fn describe(self) -> (StatusCode, &'static str) {
        match self {
            Code::BadRequest => (StatusCode::BAD_REQUEST, "The request is malformed"),
            Code::InvalidJson => (StatusCode::BAD_REQUEST, "The request body is not valid JSON for this endpoint"),
            Code::InvalidPath => (StatusCode::BAD_REQUEST, "A path parameter is malformed"),
            Code::InvalidQuery => (StatusCode::BAD_REQUEST, "A query parameter is malformed"),
            Code::ValidationFailed => (StatusCode::UNPROCESSABLE_ENTITY, "Some fields are invalid"),
            Code::Unauthorized => (StatusCode::UNAUTHORIZED, "Authentication is required"),
            Code::Forbidden => (StatusCode::FORBIDDEN, "Not allowed"),
            Code::NotFound => (StatusCode::NOT_FOUND, "Not found"),
            Code::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed on this resource"),
            Code::Conflict => (StatusCode::CONFLICT, "The request conflicts with the current state"),
            Code::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "The resource was changed by someone else"),
            Code::PreconditionRequired => (StatusCode::PRECONDITION_REQUIRED, "This update needs If-Match"),
            Code::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large"),
            Code::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported content type"),
            Code::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            Code::Refused => (StatusCode::UNPROCESSABLE_ENTITY, "The operation was refused"),
            Code::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
            Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "The service is temporarily unavailable"),
        }
    }

    pub fn status(self) -> StatusCode {
        self.describe().0
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::InvalidJson => "invalid_json",
            Code::InvalidPath => "invalid_path",
            Code::InvalidQuery => "invalid_query",
            Code::ValidationFailed => "validation_failed",
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::Conflict => "conflict",
            Code::PreconditionFailed => "precondition_failed",
            Code::PreconditionRequired => "precondition_required",
            Code::PayloadTooLarge => "payload_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::RateLimited => "rate_limited",
            Code::Refused => "refused",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
        }
    }

    /// The code the table gives a bare status (for errors raised by the framework).
    pub fn for_status(status: StatusCode) -> Code {
        match status.as_u16() {
            401 => Code::Unauthorized,
            403 => Code::Forbidden,
            404 => Code::NotFound,
            405 => Code::MethodNotAllowed,
            409 => Code::Conflict,
            412 => Code::PreconditionFailed,
            428 => Code::PreconditionRequired,
            413 => Code::PayloadTooLarge,
            415 => Code::UnsupportedMediaType,
            422 => Code::ValidationFailed,
            429 => Code::RateLimited,
            503 => Code::Unavailable,
            s if s >= 500 => Code::Internal,
            _ => Code::BadRequest,
        }
    }
}

/// One invalid field of a validation failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's JSON path, e.g. `email` or `address.city`.
    pub field: String,
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:stampede:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    /// The stable machine code: the table's, or a refusal's own
    /// (`insufficient_balance`, `daily_cap_reached`, …).
    #[schema(value_type = String)]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(code: Code, detail: Option<String>, errors: Vec<FieldError>) -> Self {
        Self::with_code(code, code.as_str(), detail, errors)
    }

    /// A problem whose machine code is more specific than the table's (refusals).
    pub fn with_code(code: Code, machine: &str, detail: Option<String>, errors: Vec<FieldError>) -> Self {
        let (status, title) = code.describe();
        Self {
            type_uri: format!("urn:stampede:problem:{machine}"),
            title,
            status: status.as_u16(),
            code: machine.to_owned(),
            detail,
            errors,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        res.body(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The error every handler returns.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {detail:?}")]
pub struct ApiError {
    pub code: Code,
    /// Written for the client and always shown, also on a 5xx (e.g. readiness
    /// reasons). Internals never go here: they go to `cause`.
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    /// The internal cause, logged for 5xx, never sent.
    #[source]
    pub cause: Option<anyhow::Error>,
    /// A more specific machine code (a refusal's).
    pub machine: Option<String>,
}

impl ApiError {
    pub fn new(code: Code) -> Self {
        Self { code, detail: None, errors: Vec::new(), retry_after_secs: None, cause: None, machine: None }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self { errors, ..Self::new(Code::ValidationFailed) }
    }

    /// A server-side failure: the cause is logged, the client sees only the title.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self { cause: Some(cause.into()), ..Self::new(Code::Internal) }
    }

    /// A business rule said no (422), with the rule's stable code.
    pub fn refused(code: &str, detail: &str) -> Self {
        Self { machine: Some(code.to_owned()), ..Self::new(Code::Refused).detail(detail) }
    }

    /// 429 with `Retry-After` in whole seconds (at least 1).
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self::new(Code::RateLimited).retry_after(secs.max(1))
    }

    /// A single-field validation failure.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    pub fn not_found() -> Self {
        Self::new(Code::NotFound)
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self { cause: Some(cause.into()), retry_after_secs: Some(1), ..Self::new(Code::Unavailable) }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let server_side = self.code.status().is_server_error();
        if server_side {
            tracing::error!(code = self.code.as_str(), cause = ?self.cause, "request failed");
        }
        let machine = self.machine.as_deref().unwrap_or(self.code.as_str());
        let mut res = Problem::with_code(self.code, machine, self.detail.clone(), self.errors.clone()).response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// A session store that cannot be reached answers 503 with `Retry-After`,
/// like every other store; only a failure to sign is internal.
impl From<crate::auth::tokens::IssueError> for ApiError {
    fn from(err: crate::auth::tokens::IssueError) -> Self {
        match err {
            crate::auth::tokens::IssueError::Store(e) => e.into(),
            sign @ crate::auth::tokens::IssueError::Sign(_) => ApiError::internal(sign),
        }
    }
}

impl From<stampede_domain::ports::StoreError> for ApiError {
    fn from(err: stampede_domain::ports::StoreError) -> Self {
        use stampede_domain::ports::StoreError;
        match err {
            StoreError::Conflict(what) => ApiError::new(Code::Conflict).detail(format!("{what} already exists")),
            StoreError::VersionMismatch => ApiError::new(Code::PreconditionFailed),
            StoreError::Unavailable(_) => ApiError::unavailable(err),
            StoreError::Other(_) => ApiError::internal(err),
        }
    }
}

impl From<stampede_domain::input::pos::BadField> for ApiError {
    fn from(e: stampede_domain::input::pos::BadField) -> Self {
        Self::field(e.field, e.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_an_error_status_and_back() {
        use Code::*;
        for code in [
            BadRequest,
            InvalidJson,
            InvalidPath,
            InvalidQuery,
            ValidationFailed,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            PreconditionFailed,
            PreconditionRequired,
            PayloadTooLarge,
            UnsupportedMediaType,
            RateLimited,
            Refused,
            Internal,
            Unavailable,
        ] {
            let status = code.status();
            assert!(status.is_client_error() || status.is_server_error(), "{code:?}");
            let json = serde_json::to_value(code).expect("serialises");
            assert_eq!(json, code.as_str(), "serde name and as_str agree");
            let generic = Code::for_status(status);
            assert_eq!(generic.status(), status, "{code:?} status maps back to a code with that status");
        }
    }
}
