use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::update::managed;
use crate::api::admin::{audit_event, audited, etag};
use crate::api::objects::{image_kind, public_url};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

/// Upload a reward's image: PNG, JPEG or WebP, at most 2 MiB, as the body.
#[utoipa::path(put, path = "/v1/rewards/{reward_id}/image", tag = "rewards", params(("reward_id" = Uuid, Path)),
    security(("bearer" = [])), request_body(content = crate::api::binary::Binary, content_type = "image/png"), responses(
    (status = 200, description = "The reward with its image_url", body = stampede_domain::program::Reward),
    (status = 413, body = Problem, content_type = "application/problem+json"),
    (status = 415, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn upload_image(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let before = managed(&state, &auth, path.into_inner()).await?;
    let (ext, content_type) = image_kind(&req, &body)?;
    let key = format!("public/rewards/{}/image-{}.{ext}", before.id, Uuid::now_v7().simple());
    state.objects.put(&key, &body, content_type).await?;
    let mut next = before.clone();
    next.image_url = Some(public_url(&state, &key));
    let business = state.store.get_program(before.program_id).await?.map(|p| p.business_id);
    let event = audit_event(&auth.staff, business, "reward.image", Some(before.id), Some(&before), None::<&()>);
    let saved = state
        .store
        .save_reward(&next, before.version, Some(&event))
        .await
        .map_err(|_| ApiError::new(Code::Conflict).detail("the reward changed during the upload; try again"))?
        .ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Program, saved.program_id).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
