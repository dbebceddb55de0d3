use actix_web::{HttpResponse, web};
use stampede_domain::access::{Permission, staff_may};
use stampede_domain::ids::StoreId;
use uuid::Uuid;

use crate::api::admin::etag;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// A store the caller works in (any role covering it).
#[utoipa::path(get, path = "/v1/stores/{store_id}", tag = "stores", params(("store_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "The store", body = stampede_domain::business::Store),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_store(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let store = state.records.view().await.store(StoreId(path.into_inner())).await?.ok_or_else(ApiError::not_found)?;
    if !staff_may(&auth.staff.memberships, Permission::View, &store.place()) {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok().insert_header(etag(store.version)).json(store))
}
