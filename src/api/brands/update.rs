use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::ids::BrandId;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::admin::{audit_event, audited, etag, if_match};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBrand {
    pub name: Option<String>,
    pub is_active: Option<bool>,
}

/// Rename or (de)activate a brand (owner, admin). Requires `If-Match`.
#[utoipa::path(patch, path = "/v1/brands/{brand_id}", tag = "brands", request_body = UpdateBrand,
    params(("brand_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The brand", body = stampede_domain::business::Brand),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_brand(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<UpdateBrand>,
) -> Result<HttpResponse, ApiError> {
    let before = state.store.get_brand(BrandId(path.into_inner())).await?.ok_or_else(ApiError::not_found)?;
    if !staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(before.business_id)) {
        return Err(ApiError::not_found());
    }
    let expected = if_match(&req, before.version)?;
    let mut f = Fields::default();
    let mut next = before.clone();
    if let Some(n) = body.name.as_deref().and_then(|n| f.name("name", n)) {
        next.name = n.as_str().to_owned();
    }
    if let Some(a) = body.is_active {
        next.is_active = a;
    }
    f.finish()?;
    let event = audit_event(
        &auth.staff,
        Some(before.business_id),
        "brand.update",
        Some(before.id.0),
        Some(&before),
        None::<&()>,
    );
    let saved = state.store.save_brand(&next, expected, Some(&event)).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Brand, saved.id.0).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
