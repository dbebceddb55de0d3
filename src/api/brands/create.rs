use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::admin::{audit_event, audited, etag};
use crate::api::businesses::visible;
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBrand {
    pub name: String,
}

/// Create a brand in a business (owner, admin).
#[utoipa::path(post, path = "/v1/businesses/{business_id}/brands", tag = "brands", request_body = CreateBrand,
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The brand", body = stampede_domain::business::Brand),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_brand(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateBrand>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), true).await?;
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    f.finish()?;
    let Some(name) = name else { return Err(ApiError::field("name", "is invalid")) };
    let event = audit_event(&auth.staff, Some(business.id), "brand.create", None, None::<&()>, None::<&()>);
    let brand = state.store.create_brand(business.id, name.as_str(), Some(&event)).await?;
    audited(&state, &event.created(business.id, brand.id.0, &brand)).await;
    Ok(HttpResponse::Created().insert_header(etag(brand.version)).json(brand))
}
