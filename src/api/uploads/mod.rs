//! `/v1/me/uploads`: private files a customer hands in (a receipt, say). The
//! client asks for an upload slot with the file's type and size, PUTs the
//! bytes to the URL it gets back, then reads the file through
//! `GET /v1/me/uploads/{id}`, lists them, and deletes them.
//!
//! With S3 the upload URL is a presigned PUT for exactly that key, type and
//! length (S3 refuses anything else), and reading answers 302 to a presigned
//! GET that expires; the bytes never pass through the API. With the files
//! backend the URL points back at the API (`PUT /v1/me/uploads/{id}?slot=…`):
//! the slot is signed for that customer, upload and size, works until it
//! expires and only while nothing is stored under the upload yet.
//!
//! Bounds: slots per customer are rate limited
//! (`rate_limits.uploads_per_customer`); a slot is refused when what the
//! customer holds plus the new file would pass `uploads.max_per_customer` or
//! `uploads.max_bytes_per_customer` (checked again when the bytes come through
//! the API; with S3 the bytes go straight there, so a burst of slots asked for
//! at once is bounded by the rate limit instead). Uploads are deleted after
//! `uploads.retention_days`, with the account, or by the customer. Keys are
//! `private/customers/<id>/uploads/<upload>`.

pub mod content;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;

use std::time::Duration;

use stampede_domain::ids::CustomerId;
use stampede_domain::ports::ObjectInfo;
use uuid::Uuid;

use crate::api::problem::ApiError;
use crate::state::AppState;

/// What a customer may upload, and its extension.
pub const TYPES: [(&str, &str); 4] =
    [("image/png", "png"), ("image/jpeg", "jpg"), ("image/webp", "webp"), ("application/pdf", "pdf")];
pub const MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024;
/// How long a signed URL works.
pub const URL_TTL: Duration = Duration::from_secs(600);

/// An upload's id: `<uuid>.<ext>`, so the key alone tells the type.
pub struct UploadId {
    pub id: Uuid,
    pub ext: &'static str,
}

impl UploadId {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::not_found();
        let (id, ext) = s.split_once('.').ok_or_else(bad)?;
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        let ext = TYPES.iter().map(|(_, e)| *e).find(|e| *e == ext).ok_or_else(bad)?;
        Ok(Self { id, ext })
    }

    pub fn content_type(&self) -> &'static str {
        TYPES.iter().find(|(_, e)| *e == self.ext).map(|(t, _)| *t).unwrap_or("application/octet-stream")
    }

    pub fn key(&self, customer: CustomerId) -> String {
        format!("{}{self}", folder(customer))
    }
}

/// Where a customer's uploads are kept.
pub fn folder(customer: CustomerId) -> String {
    format!("private/customers/{}/uploads/", customer.0)
}

/// What a customer holds: the uploads, oldest first.
pub async fn held(state: &AppState, customer: CustomerId) -> Result<Vec<ObjectInfo>, ApiError> {
    let mut held = state.objects.list(&folder(customer)).await?;
    held.sort_by_key(|o| o.modified);
    Ok(held)
}

/// Refused unless the customer may hold one more upload of `size` bytes
/// beside `held`.
pub fn within_quota(state: &AppState, held: &[ObjectInfo], size: u64) -> Result<(), ApiError> {
    let (count, bytes) = held.iter().fold((0u64, 0u64), |(n, b), o| (n + 1, b.saturating_add(o.size)));
    let q = &state.uploads;
    if count >= u64::from(q.max_per_customer) || bytes.saturating_add(size) > q.max_bytes_per_customer {
        return Err(ApiError::refused(
            "upload_quota_exceeded",
            &format!(
                "you may keep {} uploads and {} bytes; delete one first",
                q.max_per_customer, q.max_bytes_per_customer
            ),
        ));
    }
    Ok(())
}

/// Delete a customer's uploads (their account is going).
pub async fn delete_all(state: &AppState, customer: CustomerId) -> Result<usize, ApiError> {
    let held = state.objects.list(&folder(customer)).await?;
    for o in &held {
        state.objects.delete(&o.key).await?;
    }
    Ok(held.len())
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.id, self.ext)
    }
}

/// Whether the bytes are of the declared type (magic numbers).
pub fn bytes_match(content_type: &str, body: &[u8]) -> bool {
    match content_type {
        "image/png" => body.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => body.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/webp" => body.len() > 12 && &body[..4] == b"RIFF" && &body[8..12] == b"WEBP",
        "application/pdf" => body.starts_with(b"%PDF-"),
        _ => false,
    }
}
