use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::ids::{BrandId, StoreId};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{address, timezone};
use crate::api::admin::{audit_event, audited, etag, if_match};
use crate::api::input::{Fields, double_option};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStore {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub address: Option<serde_json::Value>,
    /// Move to another brand (or `null`: none). Owners and admins only.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub brand_id: Option<Option<Uuid>>,
    pub is_active: Option<bool>,
}

/// Change a store. Requires `If-Match`.
#[utoipa::path(patch, path = "/v1/stores/{store_id}", tag = "stores", request_body = UpdateStore,
    params(("store_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The store", body = stampede_domain::business::Store),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_store(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<UpdateStore>,
) -> Result<HttpResponse, ApiError> {
    let before = state.store.get_store(StoreId(path.into_inner())).await?.ok_or_else(ApiError::not_found)?;
    let mine = &auth.staff.memberships;
    if !staff_may(mine, Permission::ManageStore, &before.place()) {
        return Err(ApiError::not_found());
    }
    let expected = if_match(&req, before.version)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let mut next = before.clone();
    if let Some(n) = body.name.as_deref().and_then(|n| f.name("name", n)) {
        next.name = n.as_str().to_owned();
    }
    if let Some(tz) = body.timezone.as_deref().and_then(|t| timezone(&mut f, t)) {
        next.timezone = tz;
    }
    if let Some(a) = body.address
        && address(&mut f, &a)
    {
        next.address = a;
    }
    if let Some(brand) = body.brand_id {
        if !staff_may(mine, Permission::ManageBusiness, &Place::business(before.business_id)) {
            f.push("brand_id", "only owners and admins move stores between brands");
        } else if let Some(b) = brand {
            match state.store.get_brand(BrandId(b)).await? {
                Some(found) if found.business_id == before.business_id => next.brand_id = Some(found.id),
                _ => f.push("brand_id", "no such brand in this business"),
            }
        } else {
            next.brand_id = None;
        }
    }
    if let Some(a) = body.is_active {
        next.is_active = a;
    }
    f.finish()?;
    let event = audit_event(
        &auth.staff,
        Some(before.business_id),
        "store.update",
        Some(before.id.0),
        Some(&before),
        None::<&()>,
    );
    let saved = state.store.save_store(&next, expected, Some(&event)).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Store, saved.id.0).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
