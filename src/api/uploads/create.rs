use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MAX_UPLOAD_BYTES, TYPES, URL_TTL, UploadId, held, within_quota};
use crate::api::input::limit;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// image/png, image/jpeg, image/webp or application/pdf.
    #[schema(pattern = "^(image/png|image/jpeg|image/webp|application/pdf)$")]
    pub content_type: String,
    /// The exact size in bytes (at most 5 MiB).
    #[schema(minimum = 1)]
    pub size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct UploadSlot {
    /// Read the file back at `/v1/me/uploads/{id}`.
    pub id: String,
    /// PUT the bytes here with exactly these headers.
    pub method: &'static str,
    pub url: String,
    pub headers: std::collections::BTreeMap<&'static str, String>,
    /// When `url` stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Whether `url` is the object store's own (presigned) or the API's.
    pub direct: bool,
}

/// Ask for an upload slot: a URL to PUT one file of this type and size to.
#[utoipa::path(post, path = "/v1/me/uploads", tag = "me", request_body = UploadRequest, security(("bearer" = [])),
    responses(
    (status = 201, body = UploadSlot),
    (status = 413, body = Problem, content_type = "application/problem+json"),
    (status = 415, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json", description = "upload_quota_exceeded, or a bad size"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_upload(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    body: Json<UploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let declared = body.content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let ext = TYPES.iter().find(|(t, _)| *t == declared).map(|(_, e)| *e).ok_or_else(|| {
        ApiError::new(crate::api::problem::Code::UnsupportedMediaType)
            .detail("upload image/png, image/jpeg, image/webp or application/pdf")
    })?;
    if body.size == 0 {
        return Err(ApiError::field("size", "must be greater than 0"));
    }
    if body.size > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(crate::api::problem::Code::PayloadTooLarge).detail("uploads may be at most 5 MiB"));
    }
    limit(&state, &state.limits.uploads_per_customer, &auth.id.0.simple().to_string()).await?;
    within_quota(&state, &held(&state, auth.id).await?, body.size)?;
    let upload = UploadId { id: Uuid::now_v7(), ext };
    let expires_at = chrono::Utc::now() + chrono::Duration::from_std(URL_TTL).unwrap_or_default();
    let key = upload.key(auth.id);
    let content_type = upload.content_type();
    let mut headers = std::collections::BTreeMap::from([("content-type", content_type.to_owned())]);
    let (url, direct) = match state.objects.presign_upload(&key, content_type, body.size, URL_TTL).await? {
        Some(url) => (url, true),
        None => {
            headers.insert("authorization", "Bearer <your access token>".to_owned());
            let slot = state.link_key.upload_slot(auth.id, &upload.to_string(), body.size, expires_at);
            (format!("{}/v1/me/uploads/{upload}?slot={slot}", state.links.public_url.trim_end_matches('/')), false)
        }
    };
    let slot = UploadSlot { id: upload.to_string(), method: "PUT", url, headers, expires_at, direct };
    Ok(HttpResponse::Created().json(slot))
}
