use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use serde::Deserialize;

use super::{MAX_UPLOAD_BYTES, UploadId, bytes_match, held, within_quota};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SlotQuery {
    /// The slot from `POST /v1/me/uploads` (it is in the URL it answered).
    slot: Option<String>,
}

/// The upload itself when the object store cannot sign URLs (the files
/// backend): the raw bytes, with the content type and the exact size the slot
/// was made for, once, before the slot expires.
#[utoipa::path(put, path = "/v1/me/uploads/{upload_id}", tag = "me",
    params(("upload_id" = String, Path), ("slot" = String, Query)),
    security(("bearer" = [])), request_body(content = crate::api::binary::Binary, content_type = "application/pdf"), responses(
    (status = 204, description = "Stored"),
    (status = 404, body = Problem, content_type = "application/problem+json", description = "No such slot, or it expired"),
    (status = 409, body = Problem, content_type = "application/problem+json", description = "The slot was used"),
    (status = 413, body = Problem, content_type = "application/problem+json"),
    (status = 415, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn put_upload(
    req: HttpRequest,
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SlotQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let upload = UploadId::parse(&raw)?;
    let size = query
        .slot
        .as_deref()
        .and_then(|slot| state.link_key.verify_upload_slot(slot, auth.id, &raw, chrono::Utc::now()))
        .ok_or_else(|| ApiError::not_found().detail("no such upload slot, or it expired: ask for a new one"))?;
    if body.len() as u64 > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(Code::PayloadTooLarge).detail("uploads may be at most 5 MiB"));
    }
    if body.len() as u64 != size {
        return Err(ApiError::field("body", format!("must be exactly {size} bytes, as the slot was asked for")));
    }
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if declared.split(';').next().unwrap_or("").trim() != upload.content_type() {
        return Err(ApiError::new(Code::UnsupportedMediaType)
            .detail(format!("this upload slot takes {}", upload.content_type())));
    }
    if !bytes_match(upload.content_type(), &body) {
        return Err(ApiError::field("body", format!("is not a {} file", upload.content_type())));
    }
    let key = upload.key(auth.id);
    let held = held(&state, auth.id).await?;
    if held.iter().any(|o| o.key == key) {
        return Err(ApiError::new(Code::Conflict).detail("this upload slot was used; ask for a new one"));
    }
    // Slots asked for together all passed the quota before any was filled.
    within_quota(&state, &held, size)?;
    state.objects.put(&key, &body, upload.content_type()).await?;
    Ok(HttpResponse::NoContent().finish())
}
