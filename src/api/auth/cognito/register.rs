use actix_web::{HttpRequest, HttpResponse, web};
use stampede_aws::cognito::{CognitoError, CognitoRefusal};
use stampede_domain::customer::NewCustomer;
use stampede_domain::ids::CustomerId;
use stampede_domain::ports::StoreError;
use uuid::Uuid;

use super::{pool, refusal};
use crate::api::auth::register::{CHECK_EMAIL, RegisterRequest};
use crate::api::input::{ClientIp, Fields, limit};
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

/// Register a customer in the Cognito pool, which mails a confirmation code;
/// Stampede keeps the profile under the pool's `sub`. Always 202 with the same
/// body, whether or not the address already has an account.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/register", tag = "auth", request_body = RegisterRequest,
    responses(
    (status = 202, body = crate::api::auth::Accepted),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let pool = pool(&state)?;
    limit(&state, &state.limits.register_per_ip, &ip.of(&req)).await?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let email = f.email("email", &body.email);
    let name = f.name("name", &body.name);
    f.password("password", &body.password, state.policy.min_password_length);
    f.finish()?;
    let (Some(email), Some(name)) = (email, name) else { return Err(ApiError::field("email", "is invalid")) };
    // Cognito mails a code for each sign-up: bounded per address.
    limit(&state, &state.limits.register_per_email, email.as_str()).await?;

    let sub = match pool.sign_up(email.as_str(), &body.password, Some(name.as_str())).await {
        Ok(sub) => sub,
        Err(CognitoError::Refused(CognitoRefusal::UsernameExists)) => {
            return Ok(HttpResponse::Accepted().json(CHECK_EMAIL));
        }
        Err(e) => return Err(refusal(e)),
    };
    let id =
        Uuid::parse_str(&sub).map_err(|_| ApiError::internal(anyhow::anyhow!("cognito sub is not a uuid: {sub}")))?;
    let new = NewCustomer { id: Some(CustomerId(id)), email, name, phone: None, password_hash: None };
    match state.store.create_customer(new).await {
        // A profile under this address already exists (e.g. made before the
        // switch to Cognito): the pool account is there, the profile is kept.
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(HttpResponse::Accepted().json(CHECK_EMAIL)),
        Err(e) => Err(e.into()),
    }
}
