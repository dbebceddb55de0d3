use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::business::NewBusiness;
use stampede_domain::staff::{Membership, Role, Scope};
use utoipa::ToSchema;

use super::{optional_text, website};
use crate::api::admin::{audit_event, audited, etag};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBusiness {
    pub name: String,
    pub description: Option<String>,
    pub tax_id: Option<String>,
    pub website: Option<String>,
}

/// Create a business; the caller becomes its owner. Only owners found
/// businesses: the first owner is made at first start, and others are invited
/// to a business as its owners; a cashier, a manager or an account with no
/// role left cannot start one.
#[utoipa::path(post, path = "/v1/businesses", tag = "businesses", request_body = CreateBusiness,
    security(("bearer" = [])), responses(
    (status = 201, description = "The business", body = stampede_domain::business::Business),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_business(
    auth: StaffAuth,
    state: web::Data<AppState>,
    body: Json<CreateBusiness>,
) -> Result<HttpResponse, ApiError> {
    if !auth.staff.memberships.iter().any(|m| m.role == Role::Owner) {
        return Err(ApiError::new(Code::Forbidden).detail("only the owner of a business may create another"));
    }
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    let description = optional_text(&mut f, "description", body.description, 2000);
    let tax_id = optional_text(&mut f, "tax_id", body.tax_id, 50);
    let website = website(&mut f, body.website);
    f.finish()?;
    let Some(name) = name else { return Err(ApiError::field("name", "is invalid")) };
    let event = audit_event(&auth.staff, None, "business.create", None, None::<&()>, None::<&()>);
    let new = NewBusiness { name, description, tax_id, website };
    let business = state.store.create_business(new, Some(&event)).await?;
    let owner = Membership::new(business.id, Role::Owner, Scope::Business).map_err(ApiError::internal)?;
    state.store.add_memberships(auth.staff.id, &[owner]).await?;
    audited(&state, &event.created(business.id, business.id.0, &business)).await;
    Ok(HttpResponse::Created().insert_header(etag(business.version)).json(business))
}
