//! Public objects (logos, images) served from the object port, the checks
//! every image upload passes, and how a private object is handed out.

pub mod get;

use actix_web::HttpRequest;
use actix_web::http::header;

use super::problem::{ApiError, Code};
use crate::state::AppState;

pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// The image's extension and content type, if the declared type is an allowed
/// image type and the bytes are of that type.
pub fn image_kind(req: &HttpRequest, body: &[u8]) -> Result<(&'static str, &'static str), ApiError> {
    if body.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::new(Code::PayloadTooLarge).detail("images may be at most 2 MiB"));
    }
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = match declared.split(';').next().unwrap_or("").trim() {
        "image/png" => ("png", "image/png", body.starts_with(b"\x89PNG\r\n\x1a\n")),
        "image/jpeg" => ("jpg", "image/jpeg", body.starts_with(&[0xFF, 0xD8, 0xFF])),
        "image/webp" => ("webp", "image/webp", body.len() > 12 && &body[..4] == b"RIFF" && &body[8..12] == b"WEBP"),
        _ => return Err(ApiError::new(Code::UnsupportedMediaType).detail("send image/png, image/jpeg or image/webp")),
    };
    if !kind.2 {
        return Err(ApiError::field("body", format!("is not a {} image", kind.1)));
    }
    Ok((kind.0, kind.1))
}

pub fn public_url(state: &AppState, key: &str) -> String {
    format!("{}/v1/objects/{key}", state.links.public_url.trim_end_matches('/'))
}

/// Hand out a private object the caller may read: 302 to a short-lived signed
/// URL when the object store can sign (S3), else the bytes, as a download that
/// is never cached. 404 when it is not there.
pub async fn serve_private(
    state: &AppState,
    key: &str,
    ttl: std::time::Duration,
) -> Result<actix_web::HttpResponse, ApiError> {
    if let Some(url) = state.objects.presign_download(key, ttl).await? {
        // Signing does not look at the bucket: check the object is there.
        if !state.objects.exists(key).await? {
            return Err(ApiError::not_found());
        }
        return Ok(actix_web::HttpResponse::Found()
            .insert_header(("location", url))
            .insert_header(("cache-control", "private, no-store"))
            .finish());
    }
    let (bytes, content_type) = state.objects.get(key).await?.ok_or_else(ApiError::not_found)?;
    let filename = key.rsplit('/').next().unwrap_or("download").replace('"', "");
    Ok(actix_web::HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", "private, no-store"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("content-disposition", format!("attachment; filename=\"{filename}\"")))
        .body(bytes))
}
