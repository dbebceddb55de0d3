use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use stampede_domain::access::may_assign;
use stampede_domain::ids::{BusinessId, StaffId};
use stampede_domain::staff::{Membership, Role};
use utoipa::ToSchema;
use uuid::Uuid;

use super::invite::resolve_scope;
use super::{last_owner, may_manage};
use crate::api::admin::{audit_event, audited, member_of};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    #[schema(value_type = String, pattern = "^(owner|admin|brand_manager|store_manager|cashier)$")]
    pub role: Role,
    pub brand_id: Option<Uuid>,
    pub store_id: Option<Uuid>,
}

/// A member's roles in the business after the change.
#[derive(Serialize, ToSchema)]
pub struct MemberRoles {
    pub id: StaffId,
    pub memberships: Vec<Membership>,
}

/// Give a team member one role in the business (replacing their roles in it).
#[utoipa::path(put, path = "/v1/businesses/{business_id}/staff/{staff_id}/role", tag = "staff", request_body = ChangeRole,
    params(("business_id" = Uuid, Path), ("staff_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "The member's roles", body = MemberRoles),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn change_role(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<ChangeRole>,
) -> Result<HttpResponse, ApiError> {
    let (business, staff_id) = path.into_inner();
    let business = BusinessId(business);
    if !member_of(&auth.staff, business) {
        return Err(ApiError::not_found());
    }
    let target = state
        .store
        .get_staff(StaffId(staff_id))
        .await?
        .filter(|t| member_of(t, business))
        .ok_or_else(ApiError::not_found)?;
    if !may_manage(&state, &auth.staff, &target, business).await? {
        return Err(ApiError::not_found());
    }
    let body = body.into_inner();
    let mut f = Fields::default();
    let resolved = resolve_scope(&state, &mut f, business, body.role, body.brand_id, body.store_id).await?;
    f.finish()?;
    let Some((scope, place)) = resolved else { return Err(ApiError::field("role", "is invalid")) };
    if !may_assign(&auth.staff.memberships, business, body.role, &place) {
        return Err(ApiError::not_found());
    }
    let membership = Membership::new(business, body.role, scope).map_err(ApiError::internal)?;
    let before: Vec<_> = target.memberships.iter().filter(|m| m.business_id == business).collect();
    let event =
        audit_event(&auth.staff, Some(business), "staff.role", Some(target.id.0), Some(&before), Some(&[membership]));
    if !state.store.set_business_memberships(target.id, business, &[membership], Some(&event)).await? {
        return Err(last_owner());
    }
    audited(&state, &event).await;
    Ok(HttpResponse::Ok().json(MemberRoles { id: target.id, memberships: vec![membership] }))
}
