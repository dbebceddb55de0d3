use actix_web::{HttpResponse, web};
use serde::Serialize;
use stampede_domain::ids::BusinessId;
use utoipa::ToSchema;
use uuid::Uuid;

use super::invite::InvitationView;
use super::may_give;
use crate::api::admin::member_of;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    pub items: Vec<InvitationView>,
}

/// The business's invitations, newest first (the latest 200): those for a
/// role the caller may give, whoever sent them. Owners and admins see all.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/invitations", tag = "staff",
    params(("business_id" = Uuid, Path, description = "The business")), security(("bearer" = [])), responses(
    (status = 200, body = InvitationList),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_invitations(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = BusinessId(path.into_inner());
    if !member_of(&auth.staff, business) {
        return Err(ApiError::not_found());
    }
    let mut items = Vec::new();
    for invitation in state.store.list_invitations(business).await? {
        let Ok(membership) = invitation.membership() else { continue };
        if may_give(&state, &auth.staff, &membership).await? {
            items.push(InvitationView::from(&invitation));
        }
    }
    Ok(HttpResponse::Ok().json(InvitationList { items }))
}
