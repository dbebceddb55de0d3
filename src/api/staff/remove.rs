use actix_web::{HttpResponse, web};
use chrono::Utc;
use stampede_domain::ids::{BusinessId, StaffId};
use uuid::Uuid;

use super::{last_owner, may_manage};
use crate::api::admin::{audit_event, audited, member_of};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// Remove someone from the business's team. Their sessions end if they have no
/// role left anywhere.
#[utoipa::path(delete, path = "/v1/businesses/{business_id}/staff/{staff_id}", tag = "staff",
    params(("business_id" = Uuid, Path), ("staff_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Removed"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
))]
pub async fn remove_staff(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
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
    let before: Vec<_> = target.memberships.iter().filter(|m| m.business_id == business).collect();
    let event = audit_event(&auth.staff, Some(business), "staff.remove", Some(target.id.0), Some(&before), None::<&()>);
    if !state.store.set_business_memberships(target.id, business, &[], Some(&event)).await? {
        return Err(last_owner());
    }
    if target.memberships.iter().all(|m| m.business_id == business) {
        state.sessions.revoke_all_sessions(target.id.0, Utc::now()).await?;
    }
    audited(&state, &event).await;
    Ok(HttpResponse::NoContent().finish())
}
