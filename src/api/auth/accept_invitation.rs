use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_aws::cognito::{CognitoError, CognitoRefusal};
use stampede_domain::email::Email;
use stampede_domain::identity::TokenPurpose;
use stampede_domain::ids::StaffId;
use stampede_domain::staff::{Membership, NewStaff};
use utoipa::ToSchema;

use crate::api::input::Fields;
use crate::api::problem::{ApiError, Problem};
use crate::api::staff::invite::InvitationPayload;
use crate::auth::secret::sha256;
use crate::auth::tokens::TokenPair;
use crate::auth::verify::PrincipalKind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    pub token: String,
    /// For a new account: your name. Ignored when the email has an account.
    pub name: Option<String>,
    /// For a new account: your password. Ignored when the email has an account.
    pub password: Option<String>,
}

/// Accept a staff invitation. A new account is created (name and password
/// required) and signed in; an existing account gets the role added (204: sign
/// in with your password). With Cognito the new account is made in the staff
/// pool and the answer carries the pool's tokens.
#[utoipa::path(post, path = "/v1/auth/staff/invitations/accept", tag = "auth", request_body = AcceptRequest, responses(
    (status = 200, body = TokenPair, description = "New account created and signed in"),
    (status = 204, description = "Role added to the existing account"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn accept(state: web::Data<AppState>, body: web::Json<AcceptRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let invalid = || ApiError::field("token", "is invalid or expired");
    let hash = sha256(body.token.as_bytes());
    let store = &state.store;

    // Validate the new-account fields before the token is used up.
    let mut f = Fields::default();
    let name = body.name.as_deref().map(|n| f.name("name", n));
    if let Some(p) = &body.password {
        f.password("password", p, state.policy.min_password_length);
    }
    f.finish()?;

    let used = state.sessions.consume_one_time_token(TokenPurpose::StaffInvitation, &hash, Utc::now()).await?;
    let payload: InvitationPayload = used.and_then(|t| serde_json::from_value(t.payload).ok()).ok_or_else(invalid)?;
    let email = Email::parse(&payload.email).map_err(|_| invalid())?;
    let membership = Membership::new(payload.business_id, payload.role, payload.scope).map_err(|_| invalid())?;

    if let Some(existing) = store.find_staff_by_email(&email).await? {
        store.add_memberships(existing.id, &[membership]).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    let (Some(Some(name)), Some(password)) = (name, body.password) else {
        return Err(ApiError::field("password", "name and password are required for a new account"));
    };
    if let Some(pools) = &state.cognito {
        // The account lives in the staff pool: the invitation proved the
        // address, so the pool account is confirmed at once.
        let pool = &pools.staff;
        let sub = pool.sign_up(email.as_str(), &password, Some(name.as_str())).await.map_err(|e| match e {
            CognitoError::Refused(CognitoRefusal::UsernameExists) => ApiError::new(crate::api::problem::Code::Conflict)
                .detail("the staff pool already has an account for this address; ask an administrator"),
            e => super::cognito::refusal(e),
        })?;
        pool.admin_confirm(email.as_str()).await.map_err(super::cognito::refusal)?;
        let id = uuid::Uuid::parse_str(&sub)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("cognito sub is not a uuid: {sub}")))?;
        let new = NewStaff { id: Some(StaffId(id)), email, name, password_hash: None, must_change_password: false };
        store.create_staff(new, &[membership]).await?;
        let tokens = pool.login(&payload.email, &password).await.map_err(super::cognito::refusal)?;
        return Ok(HttpResponse::Ok().json(super::cognito::CognitoTokenPair::from(tokens)));
    }
    let password_hash = state.passwords.hash(password).await.map_err(ApiError::internal)?;
    let new = NewStaff { id: None, email, name, password_hash: Some(password_hash), must_change_password: false };
    let staff = store.create_staff(new, &[membership]).await?;
    let pair = state.issuer.start_session(state.sessions.as_ref(), PrincipalKind::Staff, staff.id.0, false).await?;
    Ok(HttpResponse::Ok().json(pair))
}
