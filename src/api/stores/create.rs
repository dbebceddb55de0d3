use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::business::NewStore;
use stampede_domain::ids::{BrandId, BusinessId};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{address, timezone};
use crate::api::admin::{audit_event, audited, etag};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStore {
    pub name: String,
    pub brand_id: Option<Uuid>,
    /// IANA name, e.g. `Europe/Berlin`; default UTC.
    pub timezone: Option<String>,
    #[serde(default)]
    pub address: Option<serde_json::Value>,
}

/// Create a store (in a brand: its brand manager or an owner/admin).
#[utoipa::path(post, path = "/v1/businesses/{business_id}/stores", tag = "stores", request_body = CreateStore,
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The store", body = stampede_domain::business::Store),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_store(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateStore>,
) -> Result<HttpResponse, ApiError> {
    let business_id = BusinessId(path.into_inner());
    let body = body.into_inner();
    let place = match body.brand_id {
        Some(b) => Place::brand(business_id, BrandId(b)),
        None => Place::business(business_id),
    };
    let permission = if body.brand_id.is_some() { Permission::ManageBrand } else { Permission::ManageBusiness };
    if !staff_may(&auth.staff.memberships, permission, &place) {
        return Err(ApiError::not_found());
    }
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    let tz = timezone(&mut f, body.timezone.as_deref().unwrap_or("UTC"));
    let addr = body.address.unwrap_or_else(|| serde_json::json!({}));
    address(&mut f, &addr);
    if let Some(b) = body.brand_id {
        match state.store.get_brand(BrandId(b)).await? {
            Some(brand) if brand.business_id == business_id => {}
            _ => f.push("brand_id", "no such brand in this business"),
        }
    }
    f.finish()?;
    let (Some(name), Some(timezone)) = (name, tz) else { return Err(ApiError::field("name", "is invalid")) };
    if state.store.get_business(business_id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let event = audit_event(&auth.staff, Some(business_id), "store.create", None, None::<&()>, None::<&()>);
    let new = NewStore { business_id, brand_id: body.brand_id.map(BrandId), name, timezone, address: addr };
    let store = state.store.create_store(new, Some(&event)).await?;
    audited(&state, &event.created(business_id, store.id.0, &store)).await;
    Ok(HttpResponse::Created().insert_header(etag(store.version)).json(store))
}
