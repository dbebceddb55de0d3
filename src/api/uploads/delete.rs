use actix_web::{HttpResponse, web};

use super::UploadId;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Delete one of your uploads (it no longer counts against your quota).
#[utoipa::path(delete, path = "/v1/me/uploads/{upload_id}", tag = "me", params(("upload_id" = String, Path)),
    security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_upload(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = UploadId::parse(&path.into_inner())?.key(auth.id);
    if !state.objects.exists(&key).await? {
        return Err(ApiError::not_found());
    }
    state.objects.delete(&key).await?;
    Ok(HttpResponse::NoContent().finish())
}
