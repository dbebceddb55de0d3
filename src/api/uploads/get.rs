use actix_web::{HttpResponse, web};

use super::{URL_TTL, UploadId};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Read one of your uploads: 302 to a short-lived signed URL (S3), or the
/// bytes themselves (files backend). Nobody else's uploads are reachable.
#[utoipa::path(get, path = "/v1/me/uploads/{upload_id}", tag = "me", params(("upload_id" = String, Path)),
    security(("bearer" = [])), responses(
    (status = 200, description = "The file", body = crate::api::binary::Binary, content_type = "application/pdf"),
    (status = 302, description = "Redirect to a signed download URL"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_upload(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let upload = UploadId::parse(&path.into_inner())?;
    crate::api::objects::serve_private(&state, &upload.key(auth.id), URL_TTL).await
}
