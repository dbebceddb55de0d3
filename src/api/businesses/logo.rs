use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::visible;
use crate::api::admin::{audit_event, audited, etag};
use crate::api::objects::{image_kind, public_url};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

/// Upload the business's logo: the raw image as the body (PNG, JPEG or WebP,
/// at most 2 MiB). The content type must match the bytes.
#[utoipa::path(put, path = "/v1/businesses/{business_id}/logo", tag = "businesses",
    params(("business_id" = Uuid, Path)), security(("bearer" = [])),
    request_body(content = crate::api::binary::Binary, content_type = "image/png"), responses(
    (status = 200, description = "The business with its new logo_url", body = stampede_domain::business::Business),
    (status = 413, body = Problem, content_type = "application/problem+json"),
    (status = 415, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn upload_logo(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let before = visible(&state, &auth, path.into_inner(), true).await?;
    let (ext, content_type) = image_kind(&req, &body)?;
    let key = format!("public/businesses/{}/logo-{}.{ext}", before.id, Uuid::now_v7().simple());
    state.objects.put(&key, &body, content_type).await?;
    let mut next = before.clone();
    next.logo_url = Some(public_url(&state, &key));
    let event =
        audit_event(&auth.staff, Some(before.id), "business.logo", Some(before.id.0), Some(&before), None::<&()>);
    let saved = state
        .store
        .save_business(&next, before.version, Some(&event))
        .await
        .map_err(|_| ApiError::new(Code::Conflict).detail("the business changed during the upload; try again"))?
        .ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Business, saved.id.0).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
