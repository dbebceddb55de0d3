use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_aws::cognito::{CognitoError, CognitoRefusal};
use stampede_domain::email::Email;
use stampede_domain::ids::StaffId;
use stampede_domain::staff::{Acceptance, Invitation, InvitationStatus, NewStaff, Role, Staff};
use stampede_domain::text::Name;
use utoipa::ToSchema;

use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::api::staff::invite::InvitationView;
use crate::api::staff::may_give;
use crate::audit::{self, Actor, Change};
use crate::auth::secret::sha256;
use crate::auth::tokens::{Pending, TokenPair};
use crate::auth::verify::PrincipalKind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    pub token: String,
    /// For a new account: your name. Ignored when the email has an account.
    pub name: Option<String>,
    /// For a new account: your password. Ignored when the email has an account.
    #[schema(min_length = 10)]
    pub password: Option<String>,
}

/// Accept a staff invitation. A new account is created (name and password
/// required) and signed in; an existing account gets the role added (204: sign
/// in with your password). With Cognito the new account is made in the staff
/// pool and the answer carries the pool's tokens.
///
/// The invitation is used only by the request that gives its role, in the
/// same transaction: a request refused for a missing name or a weak password
/// leaves it usable. It is refused when it was revoked, or when whoever sent
/// it may no longer give that role (removed, demoted, or their business
/// deactivated since).
#[utoipa::path(post, path = "/v1/auth/staff/invitations/accept", tag = "auth", request_body = AcceptRequest, responses(
    (status = 200, body = TokenPair, description = "New account created and signed in (with Cognito: the staff pool's tokens, as `/v1/auth/cognito/staff/login` answers)"),
    (status = 204, description = "Role added to the existing account"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn accept(state: web::Data<AppState>, body: Json<AcceptRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let hash = sha256(body.token.as_bytes());
    let mut f = Fields::default();
    let name = body.name.as_deref().map(|n| f.name("name", n));
    if let Some(p) = &body.password {
        f.password("password", p, state.policy.min_password_length);
    }
    f.finish()?;

    let invitation = pending(&state, &hash).await?;
    let email = Email::parse(&invitation.email).map_err(ApiError::internal)?;
    if let Some(existing) = state.store.find_staff_by_email(&email).await? {
        give(&state, &hash, &invitation, Acceptance::Existing(existing.id)).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    let (Some(Some(name)), Some(password)) = (name, body.password) else {
        return Err(ApiError::field("password", "name and password are required for a new account"));
    };
    if state.cognito.is_some() {
        return accept_in_pool(&state, &hash, &invitation, email, name, password).await;
    }
    let password_hash = state.passwords.hash(password).await.map_err(ApiError::internal)?;
    // The session first: with the session store down the answer is 503 and
    // the invitation is still unused, so trying again works.
    let id = StaffId::default();
    let pending = Pending { password_change: false, mfa_setup: requires_mfa(&state, &invitation).await? };
    let pair = state.issuer.start_session(state.sessions.as_ref(), PrincipalKind::Staff, id.0, pending).await?;
    let new = NewStaff { id: Some(id), email, name, password_hash: Some(password_hash), must_change_password: false };
    if let Err(e) = give(&state, &hash, &invitation, Acceptance::New(new)).await {
        // Someone else used it meanwhile: the session names no account.
        let _ = state.sessions.revoke_by_token(&sha256(pair.refresh_token.as_bytes()), Utc::now()).await;
        return Err(e);
    }
    Ok(HttpResponse::Ok().json(pair))
}

fn invalid() -> ApiError {
    ApiError::field("token", "is invalid or expired")
}

/// The pending invitation with this token, if whoever sent it may still give
/// its role.
async fn pending(state: &AppState, hash: &[u8]) -> Result<Invitation, ApiError> {
    let invitation = state.store.find_invitation_by_token(hash).await?.ok_or_else(invalid)?;
    if invitation.status(Utc::now()) != InvitationStatus::Pending {
        return Err(invalid());
    }
    let membership = invitation.membership().map_err(ApiError::internal)?;
    let inviter = state.store.get_staff(invitation.invited_by).await?;
    let business = state.store.get_business(invitation.business_id).await?;
    let still = match (&inviter, &business) {
        (Some(inviter), Some(business)) => {
            business.is_active && inviter.may_sign_in() && may_give(state, inviter, &membership).await?
        }
        _ => false,
    };
    if !still {
        return Err(ApiError::field("token", "is no longer valid: ask for a new invitation"));
    }
    Ok(invitation)
}

/// Use the invitation and give its role, in one transaction, with its audit
/// event.
async fn give(state: &AppState, hash: &[u8], invitation: &Invitation, who: Acceptance) -> Result<Staff, ApiError> {
    let actor = match &who {
        Acceptance::Existing(id) => *id,
        Acceptance::New(new) => new.id.unwrap_or_default(),
    };
    let who = match who {
        Acceptance::New(mut new) => {
            new.id = Some(actor);
            Acceptance::New(new)
        }
        existing => existing,
    };
    let before = InvitationView::from(invitation);
    let role = invitation.membership().ok();
    let change = Change {
        business_id: Some(invitation.business_id),
        action: "invitation.accept",
        resource_id: Some(invitation.id),
        before: Some(&before),
        after: role.as_ref(),
    };
    let event = audit::event(Actor::Staff(actor), change);
    let staff = state.store.accept_invitation(hash, Utc::now(), who, &event).await?.ok_or_else(invalid)?;
    audit::hand_over(state, &event).await;
    Ok(staff)
}

/// The account lives in the staff pool, which takes no sign-ups (the
/// reference template's `AllowAdminCreateUserOnly`): it is made by the API as
/// the pool's administrator, confirmed at once (the invitation proved the
/// address).
async fn accept_in_pool(
    state: &AppState,
    hash: &[u8],
    invitation: &Invitation,
    email: Email,
    name: Name,
    password: String,
) -> Result<HttpResponse, ApiError> {
    let Some(pools) = &state.cognito else { return Err(ApiError::internal(anyhow::anyhow!("no staff pool"))) };
    let pool = &pools.staff;
    let sub = pool.admin_create(email.as_str(), &password, Some(name.as_str())).await.map_err(|e| match e {
        CognitoError::Refused(CognitoRefusal::UsernameExists) => ApiError::new(crate::api::problem::Code::Conflict)
            .detail("the staff pool already has an account for this address; ask an administrator"),
        e => super::cognito::refusal(e),
    })?;
    let id = uuid::Uuid::parse_str(&sub)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("cognito sub is not a uuid: {sub}")))?;
    let new = NewStaff { id: Some(StaffId(id)), email, name, password_hash: None, must_change_password: false };
    give(state, hash, invitation, Acceptance::New(new)).await?;
    let tokens = pool.login(&invitation.email, &password).await.map_err(super::cognito::refusal)?;
    Ok(HttpResponse::Ok().json(super::cognito::CognitoTokenPair::from(tokens)))
}

/// Whether the role the invitation gives comes with a second factor to set up.
async fn requires_mfa(state: &AppState, invitation: &Invitation) -> Result<bool, ApiError> {
    if !matches!(invitation.role, Role::Owner | Role::Admin) {
        return Ok(false);
    }
    Ok(state.store.get_business(invitation.business_id).await?.is_some_and(|b| b.require_mfa))
}
