use actix_web::{HttpResponse, web};
use serde::Serialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::ids::BusinessId;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ExportView, view};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ExportList {
    pub items: Vec<ExportView>,
}

/// The business's exports, newest first (the latest 50), each with its
/// status and, when done, a download link. Owners and admins only.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/exports", tag = "businesses",
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ExportList),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn business_exports(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = BusinessId(path.into_inner());
    if !staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(business)) {
        return Err(ApiError::not_found());
    }
    let items = state.store.list_business_exports(business).await?.into_iter().map(|e| view(&state, e)).collect();
    Ok(HttpResponse::Ok().json(ExportList { items }))
}
