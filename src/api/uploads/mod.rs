//! `/v1/me/uploads`: private files a customer hands in (a receipt, say). The
//! client asks for an upload slot with the file's type and size, PUTs the
//! bytes to the URL it gets back, then reads the file through
//! `GET /v1/me/uploads/{id}`.
//!
//! With S3 the upload URL is a presigned PUT for exactly that key, type and
//! length (S3 refuses anything else), and reading answers 302 to a presigned
//! GET that expires; the bytes never pass through the API. With the files
//! backend the URL points back at the API (`PUT /v1/me/uploads/{id}`), which
//! enforces the same limits. Keys are `private/customers/<id>/uploads/<upload>`.

pub mod content;
pub mod create;
pub mod get;

use std::time::Duration;

use stampede_domain::ids::CustomerId;
use uuid::Uuid;

use crate::api::problem::ApiError;

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
        format!("private/customers/{}/uploads/{self}", customer.0)
    }
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
