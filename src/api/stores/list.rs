use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::access::{Permission, staff_may};
use stampede_domain::ids::{BrandId, BusinessId};
use stampede_domain::page::PageRequest;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::admin::member_of;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StoreQuery {
    pub brand_id: Option<Uuid>,
    /// Only active stores.
    pub active: Option<bool>,
    pub cursor: Option<Uuid>,
    /// Items per page: at most 200 (more is read as 200), 50 when left out.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    pub limit: Option<u32>,
}

/// A page of stores and the cursor of the next.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StorePage {
    pub items: Vec<stampede_domain::business::Store>,
    pub next_cursor: Option<Uuid>,
}

/// Stores of a business that the caller may see (by id, cursor-paginated).
#[utoipa::path(get, path = "/v1/businesses/{business_id}/stores", tag = "stores",
    params(("business_id" = Uuid, Path), StoreQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of stores", body = StorePage),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_stores(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<StoreQuery>,
) -> Result<HttpResponse, ApiError> {
    let business_id = BusinessId(path.into_inner());
    if !member_of(&auth.staff, business_id) {
        return Err(ApiError::not_found());
    }
    let q = query.into_inner();
    let mut page = state
        .store
        .list_stores(business_id, q.brand_id.map(BrandId), q.active == Some(true), PageRequest::new(q.cursor, q.limit))
        .await?;
    // The cursor stays the last row read, so filtering never skips stores.
    page.items.retain(|s| staff_may(&auth.staff.memberships, Permission::View, &s.place()));
    Ok(HttpResponse::Ok().json(StorePage { items: page.items, next_cursor: page.next_cursor }))
}
