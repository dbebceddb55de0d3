use actix_web::{HttpRequest, HttpResponse, web};
use stampede_aws::cognito::CognitoUser;
use stampede_domain::customer::{Customer, NewCustomer};
use stampede_domain::email::Email;
use stampede_domain::ids::CustomerId;
use stampede_domain::ports::StoreError;
use stampede_domain::text::Name;
use uuid::Uuid;

use super::{pool, refusal};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Make sure a pool user has a Stampede profile: for sign-ins that did not go
/// through `/register` (the hosted UI, Google or Apple through the pool). Reads
/// the user's email and name from Cognito, and only an address the pool has
/// verified (otherwise anyone could take an address into a profile before its
/// owner arrives); idempotent (200 when the profile exists, 201 when it was
/// made now).
/// The customer's profile id, and whether this call made it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProfileMade {
    pub id: uuid::Uuid,
    pub created: bool,
}

#[utoipa::path(post, path = "/v1/auth/cognito/customers/profile", tag = "auth", security(("bearer" = [])),
    responses(
    (status = 200, description = "The profile exists", body = ProfileMade),
    (status = 201, description = "The profile was created", body = ProfileMade),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json", description = "The pool has not verified the email address"),
))]
pub async fn ensure_profile(
    req: HttpRequest,
    auth: CustomerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pool = pool(&state)?;
    if let Some(c) = state.store.get_customer(auth.id).await? {
        return Ok(HttpResponse::Ok().json(ProfileMade { id: c.id.0, created: false }));
    }
    let token = super::bearer(&req);
    let user = pool.get_user(&token).await.map_err(refusal)?;
    if user.sub != auth.id.0.to_string() {
        return Err(ApiError::new(Code::Unauthorized).detail("the token does not match its user"));
    }
    if !user.email_verified {
        return Err(ApiError::new(Code::Forbidden).detail("confirm your email address with the pool first"));
    }
    match make_profile(&state, &user).await? {
        (c, true) => Ok(HttpResponse::Created().json(ProfileMade { id: c.id.0, created: true })),
        (c, false) => Ok(HttpResponse::Ok().json(ProfileMade { id: c.id.0, created: false })),
    }
}

/// The profile of a pool user whose address the pool has verified: made
/// from the pool's email and name if missing. `(profile, made now)`.
pub async fn make_profile(state: &AppState, user: &CognitoUser) -> Result<(Customer, bool), ApiError> {
    let id = Uuid::parse_str(&user.sub)
        .map(CustomerId)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("cognito sub is not a uuid: {}", user.sub)))?;
    if let Some(c) = state.store.get_customer(id).await? {
        return Ok((c, false));
    }
    let email = user
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(|| ApiError::new(Code::Conflict).detail("the pool user has no valid email address"))?;
    let name = user
        .name
        .as_deref()
        .and_then(|n| Name::parse(n).ok())
        .or_else(|| Name::parse(email.as_str().split('@').next().unwrap_or("Customer")).ok())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no usable name")))?;
    let new = NewCustomer { id: Some(id), email, name, phone: None, password_hash: None };
    match state.store.create_customer(new).await {
        Ok(c) => Ok((c, true)),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::new(Code::Conflict).detail("another account already uses this email address"))
        }
        Err(e) => Err(e.into()),
    }
}
