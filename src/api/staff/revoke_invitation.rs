use actix_web::{HttpResponse, web};
use chrono::Utc;
use stampede_domain::ids::BusinessId;
use stampede_domain::staff::InvitationStatus;
use uuid::Uuid;

use super::invite::InvitationView;
use super::may_give;
use crate::api::admin::member_of;
use crate::api::problem::{ApiError, Code, Problem};
use crate::audit::{self, Actor, Change};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// Revoke a pending invitation: its link stops working at once. Anyone who
/// may give its role may revoke it; to anyone else it does not exist.
#[utoipa::path(delete, path = "/v1/businesses/{business_id}/invitations/{invitation_id}", tag = "staff",
    params(("business_id" = Uuid, Path), ("invitation_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Revoked"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json", description = "Accepted, revoked or expired already"),
))]
pub async fn revoke_invitation(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (business, id) = path.into_inner();
    let business = BusinessId(business);
    let me = &auth.staff;
    if !member_of(me, business) {
        return Err(ApiError::not_found());
    }
    let invitation =
        state.store.get_invitation(id).await?.filter(|i| i.business_id == business).ok_or_else(ApiError::not_found)?;
    let membership = invitation.membership().map_err(ApiError::internal)?;
    if !may_give(&state, me, &membership).await? {
        return Err(ApiError::not_found());
    }
    let now = Utc::now();
    let not_pending = |status: InvitationStatus| {
        ApiError::new(Code::Conflict).detail(format!("the invitation is {} already", status.as_str()))
    };
    if invitation.status(now) != InvitationStatus::Pending {
        return Err(not_pending(invitation.status(now)));
    }
    let before = InvitationView::from(&invitation);
    let change = Change {
        business_id: Some(business),
        action: "invitation.revoke",
        resource_id: Some(id),
        before: Some(&before),
        after: None::<&()>,
    };
    let event = audit::event(Actor::Staff(me.id), change);
    match state.store.revoke_invitation(id, me.id, now, &event).await? {
        Some(_) => {
            audit::hand_over(&state, &event).await;
            Ok(HttpResponse::NoContent().finish())
        }
        // Accepted or expired between the read and the write.
        None => {
            let now = state.store.get_invitation(id).await?.map(|i| i.status(Utc::now()));
            Err(not_pending(now.unwrap_or(InvitationStatus::Revoked)))
        }
    }
}
