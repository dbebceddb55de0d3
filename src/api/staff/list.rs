use actix_web::{HttpResponse, web};
use serde::Serialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::ids::{BusinessId, StaffId};
use stampede_domain::staff::Membership;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct StaffList {
    pub items: Vec<TeamMember>,
}

/// A team member and their roles in this business (never their roles elsewhere).
#[derive(Serialize, ToSchema)]
pub struct TeamMember {
    pub id: StaffId,
    pub email: String,
    pub name: String,
    pub is_active: bool,
    pub memberships: Vec<Membership>,
}

/// The business's team (owner, admin): accounts and their roles in it.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/staff", tag = "staff", params(("business_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "Staff and roles", body = StaffList),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_staff(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = BusinessId(path.into_inner());
    if !staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(business)) {
        return Err(ApiError::not_found());
    }
    let items: Vec<_> = state
        .store
        .list_staff(business)
        .await?
        .into_iter()
        .map(|s| TeamMember {
            memberships: s.memberships.into_iter().filter(|m| m.business_id == business).collect(),
            id: s.id,
            email: s.email,
            name: s.name,
            is_active: s.is_active,
        })
        .collect();
    Ok(HttpResponse::Ok().json(StaffList { items }))
}
