use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{folder, held};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct UploadView {
    /// Read it at `/v1/me/uploads/{id}`.
    pub id: String,
    pub size: u64,
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
    /// When it is deleted (`uploads.retention_days` after the upload).
    pub deleted_after: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Uploads {
    pub items: Vec<UploadView>,
    /// What you may hold at once.
    pub max_count: u32,
    pub max_bytes: u64,
}

/// Your uploads, oldest first, and what you may hold.
#[utoipa::path(get, path = "/v1/me/uploads", tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = Uploads),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_uploads(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let prefix = folder(auth.id);
    let keep = chrono::Duration::days(i64::from(state.uploads.retention_days));
    let items = held(&state, auth.id)
        .await?
        .into_iter()
        .map(|o| UploadView {
            id: o.key.strip_prefix(&prefix).unwrap_or(&o.key).to_owned(),
            size: o.size,
            uploaded_at: o.modified,
            deleted_after: o.modified + keep,
        })
        .collect();
    let q = &state.uploads;
    Ok(HttpResponse::Ok().json(Uploads { items, max_count: q.max_per_customer, max_bytes: q.max_bytes_per_customer }))
}
