use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{MAX_UPLOAD_BYTES, UploadId, bytes_match};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The upload itself when the object store cannot sign URLs (the files
/// backend): the raw bytes, with the content type the slot was made for.
#[utoipa::path(put, path = "/v1/me/uploads/{upload_id}", tag = "me", params(("upload_id" = String, Path)),
    security(("bearer" = [])), request_body(content = Vec<u8>, content_type = "application/pdf"), responses(
    (status = 204, description = "Stored"),
    (status = 413, body = Problem, content_type = "application/problem+json"),
    (status = 415, body = Problem, content_type = "application/problem+json"),
))]
pub async fn put_upload(
    req: HttpRequest,
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let upload = UploadId::parse(&path.into_inner())?;
    if body.len() as u64 > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(Code::PayloadTooLarge).detail("uploads may be at most 5 MiB"));
    }
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if declared.split(';').next().unwrap_or("").trim() != upload.content_type() {
        return Err(ApiError::new(Code::UnsupportedMediaType)
            .detail(format!("this upload slot takes {}", upload.content_type())));
    }
    if !bytes_match(upload.content_type(), &body) {
        return Err(ApiError::field("body", format!("is not a {} file", upload.content_type())));
    }
    state.objects.put(&upload.key(auth.id), &body, upload.content_type()).await?;
    Ok(HttpResponse::NoContent().finish())
}
