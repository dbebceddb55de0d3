use actix_web::{HttpResponse, web};
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::ids::BusinessId;
use uuid::Uuid;

use super::{ExportView, view};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// An export of the business: its status and, when done, a download link.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/exports/{export_id}", tag = "businesses",
    params(("business_id" = Uuid, Path), ("export_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ExportView),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn business_export(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (business, id) = path.into_inner();
    let business = BusinessId(business);
    if !staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(business)) {
        return Err(ApiError::not_found());
    }
    let export = state
        .store
        .get_export(id)
        .await?
        .filter(|e| e.business_id == Some(business))
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view(&state, export)))
}
