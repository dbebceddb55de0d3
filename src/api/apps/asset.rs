use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::{file, media_type};
use crate::api::problem::ApiError;

/// A hashed build file: its name changes with its content, so it is cached
/// for a year and never revalidated.
pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = format!("assets/{}", path.into_inner());
    let bytes = file(&name).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(media_type(&name))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}
