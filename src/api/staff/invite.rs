use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stampede_domain::access::{Place, may_assign};
use stampede_domain::ids::{BrandId, BusinessId, StoreId};
use stampede_domain::staff::{Invitation, InvitationStatus, Membership, NewInvitation, Role, Scope};
use stampede_workers::email::Template;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::auth::mail::send;
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::audit::{self, Actor, Change};
use crate::auth::principal::StaffAuth;
use crate::auth::secret::{random_token, sha256};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    /// owner, admin, brand_manager, store_manager or cashier.
    #[schema(value_type = String, pattern = "^(owner|admin|brand_manager|store_manager|cashier)$")]
    pub role: Role,
    /// Required for brand_manager.
    pub brand_id: Option<Uuid>,
    /// Required for store_manager and cashier.
    pub store_id: Option<Uuid>,
}

/// An invitation as its business sees it (never its token).
#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub business_id: Uuid,
    pub email: String,
    #[schema(value_type = String, pattern = "^(owner|admin|brand_manager|store_manager|cashier)$")]
    pub role: Role,
    #[schema(value_type = Object)]
    pub scope: Scope,
    /// pending, accepted, revoked or expired.
    #[schema(value_type = String)]
    pub status: InvitationStatus,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&Invitation> for InvitationView {
    fn from(i: &Invitation) -> Self {
        Self {
            id: i.id,
            business_id: i.business_id.0,
            email: i.email.clone(),
            role: i.role,
            scope: i.scope,
            status: i.status(Utc::now()),
            invited_by: i.invited_by.0,
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at,
            revoked_at: i.revoked_at,
        }
    }
}

/// Invite someone to a role in a business. The inviter needs the right to give
/// that role at that place (see `domain::access`); otherwise the business is
/// answered as not found.
#[utoipa::path(post, path = "/v1/businesses/{business_id}/invitations", tag = "staff", request_body = InviteRequest,
    security(("bearer" = [])), params(("business_id" = Uuid, Path, description = "The business")), responses(
    (status = 201, body = InvitationView, description = "Invitation sent"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn invite(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<InviteRequest>,
) -> Result<HttpResponse, ApiError> {
    let business_id = BusinessId(path.into_inner());
    let me = &auth.staff;
    if !me.memberships.iter().any(|m| m.business_id == business_id) {
        return Err(ApiError::not_found());
    }
    let business = state.store.get_business(business_id).await?.ok_or_else(ApiError::not_found)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let email = f.email("email", &body.email);
    let resolved = resolve_scope(&state, &mut f, business_id, body.role, body.brand_id, body.store_id).await?;
    let (scope, place) = resolved.unzip();
    f.finish()?;
    let (Some(email), Some(scope), Some(place)) = (email, scope, place) else {
        return Err(ApiError::field("email", "is invalid"));
    };
    if !may_assign(&me.memberships, business_id, body.role, &place) {
        return Err(ApiError::not_found());
    }
    // Each invitation is a mail to an address the inviter chose.
    crate::api::input::limit(&state, &state.limits.invitations_per_staff, &me.id.0.simple().to_string()).await?;
    let token = random_token();
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(state.policy.invitation_ttl).unwrap_or(chrono::Duration::days(7));
    let membership = Membership::new(business_id, body.role, scope).map_err(ApiError::internal)?;
    let new = NewInvitation {
        id: Uuid::now_v7(),
        membership,
        email,
        invited_by: me.id,
        token_hash: sha256(token.as_bytes()),
        created_at: now,
        expires_at: now + ttl,
    };
    let view = InvitationView::from(&new.pending());
    let change = Change {
        business_id: Some(business_id),
        action: "invitation.create",
        resource_id: Some(new.id),
        before: None::<&()>,
        after: Some(&view),
    };
    let event = audit::event(Actor::Staff(me.id), change);
    let invitation = state.store.create_invitation(&new, &event).await?;
    audit::hand_over(&state, &event).await;
    let link = state.links.to("/staff/accept-invitation", &token);
    send(
        &state,
        &invitation.email,
        Template::StaffInvitation,
        &[("inviter", &me.name), ("business", &business.name), ("role", body.role.as_str()), ("link", &link)],
    )
    .await;
    Ok(HttpResponse::Created().json(InvitationView::from(&invitation)))
}

/// The scope and place a role needs, from the ids given; field errors for what
/// is missing or not of this business.
pub async fn resolve_scope(
    state: &AppState,
    f: &mut Fields,
    business_id: BusinessId,
    role: Role,
    brand_id: Option<Uuid>,
    store_id: Option<Uuid>,
) -> Result<Option<(Scope, Place)>, ApiError> {
    Ok(match role {
        Role::Owner | Role::Admin => Some((Scope::Business, Place::business(business_id))),
        Role::BrandManager => match brand_id {
            None => {
                f.push("brand_id", "is required for a brand manager");
                None
            }
            Some(id) => match state.store.get_brand(BrandId(id)).await? {
                Some(b) if b.business_id == business_id => {
                    Some((Scope::Brand { brand_id: b.id }, Place::brand(business_id, b.id)))
                }
                _ => {
                    f.push("brand_id", "no such brand in this business");
                    None
                }
            },
        },
        Role::StoreManager | Role::Cashier => match store_id {
            None => {
                f.push("store_id", "is required for this role");
                None
            }
            Some(id) => match state.store.get_store(StoreId(id)).await? {
                Some(s) if s.business_id == business_id => Some((Scope::Store { store_id: s.id }, s.place())),
                _ => {
                    f.push("store_id", "no such store in this business");
                    None
                }
            },
        },
    })
}
