use actix_web::{HttpRequest, HttpResponse, web};
use stampede_aws::cognito::{CognitoError, CognitoRefusal};

use super::{pool, refusal};
use crate::api::auth::register::{CHECK_EMAIL, RegisterRequest};
use crate::api::input::{ClientIp, Fields, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

/// Register a customer in the Cognito pool, which mails a confirmation code.
/// Stampede makes the profile (under the pool's `sub`) once the code is
/// confirmed. Always 202 with the same body, whether or not the address
/// already has an account.
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
    body: Json<RegisterRequest>,
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

    match pool.sign_up(email.as_str(), &body.password, Some(name.as_str())).await {
        Ok(_) => {}
        Err(CognitoError::Refused(CognitoRefusal::UsernameExists)) => {
            // Until an address confirms, no sign-up owns it: a newer one
            // replaces it (its code goes to the same inbox), so nobody can
            // hold an address, or its password, before its owner arrives.
            if let Some((_, false)) = pool.admin_get(email.as_str()).await.map_err(refusal)? {
                pool.admin_delete(email.as_str()).await.map_err(refusal)?;
                pool.sign_up(email.as_str(), &body.password, Some(name.as_str())).await.map_err(refusal)?;
            }
        }
        Err(e) => return Err(refusal(e)),
    }
    // The profile is made when the address is confirmed (`confirm`).
    Ok(HttpResponse::Accepted().json(CHECK_EMAIL))
}
