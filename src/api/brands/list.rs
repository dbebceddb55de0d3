use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::api::businesses::visible;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// A business's brands.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BrandList {
    pub items: Vec<stampede_domain::business::Brand>,
}

/// The brands of a business (members).
#[utoipa::path(get, path = "/v1/businesses/{business_id}/brands", tag = "brands", params(("business_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "Brands", body = BrandList),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_brands(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), false).await?;
    let brands = state.store.list_brands(business.id).await?;
    Ok(HttpResponse::Ok().json(BrandList { items: brands }))
}
