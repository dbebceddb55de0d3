use actix_web::{HttpResponse, web};

use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

/// A public object (logo, program or reward image). Only keys under `public/`.
#[utoipa::path(get, path = "/v1/objects/public/{key}", tag = "objects", params(("key" = String, Path)), responses(
    (status = 200, description = "The object (an image)",
        content((crate::api::binary::Binary = "image/png"), (crate::api::binary::Binary = "image/jpeg"), (crate::api::binary::Binary = "image/webp"))),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_object(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let key = format!("public/{}", path.into_inner());
    let (bytes, content_type) = state.objects.get(&key).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", "public, max-age=86400, immutable"))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(bytes))
}
