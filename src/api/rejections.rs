//! Extractor rejections and framework errors, rendered through the problem table.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, web};

use super::problem::{ApiError, Code, PROBLEM_JSON, Problem};

/// JSON bodies: size limit, content type, and parse errors as problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, _req: &HttpRequest| {
        let api = match &err {
            JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::new(Code::PayloadTooLarge)
                .detail(format!("the body has {length} bytes; the limit is {limit}")),
            JsonPayloadError::Overflow { limit } => {
                ApiError::new(Code::PayloadTooLarge).detail(format!("the limit is {limit} bytes"))
            }
            JsonPayloadError::ContentType => {
                ApiError::new(Code::UnsupportedMediaType).detail("send the body as application/json")
            }
            // serde's message names the field and position, never our internals.
            JsonPayloadError::Deserialize(e) => ApiError::new(Code::InvalidJson).detail(e.to_string()),
            JsonPayloadError::Payload(_) => ApiError::new(Code::BadRequest).detail("the body could not be read"),
            _ => ApiError::new(Code::BadRequest),
        };
        api.into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            PathError::Deserialize(e) => e.to_string(),
            _ => "malformed path".to_owned(),
        };
        ApiError::new(Code::InvalidPath).detail(detail).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            _ => "malformed query string".to_owned(),
        };
        ApiError::new(Code::InvalidQuery).detail(detail).into()
    })
}

/// Unknown routes.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound))
}

/// For every error response not already a problem (the framework's 404 and 405,
/// a body-size error from a payload extractor, a panic's 500), replace the body
/// with the problem for its status. Problems from handlers pass unchanged.
pub fn ensure_problem<B: MessageBody + 'static>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, old) = res.into_parts();
    let code = Code::for_status(old.status());
    let mut fresh = Problem::new(code, None, Vec::new()).response();
    // Keep the framework's status (the table maps it onto a code of that status)
    // and headers such as Allow or Retry-After.
    *fresh.status_mut() = old.status();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let res: ServiceResponse<BoxBody> = ServiceResponse::new(req, fresh);
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body::<B>()))
}
