use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use stampede_domain::customer::NewCustomer;
use stampede_domain::ports::StoreError;
use stampede_workers::email::Template;
use utoipa::ToSchema;

use super::Accepted;
use super::mail::{send, send_verification};
use crate::api::input::{ClientIp, Fields, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    #[schema(min_length = 10)]
    pub password: String,
    pub name: String,
}

pub const CHECK_EMAIL: Accepted =
    Accepted { status: "accepted", message: "If the address can be used, we have sent an email to it." };

/// Register a customer. Always answers 202 with the same body: a new account
/// gets a verification email, an existing one an "account exists" email.
#[utoipa::path(post, path = "/v1/auth/customers/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 202, body = Accepted),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    local_customers_only(&state)?;
    limit(&state, &state.limits.register_per_ip, &ip.of(&req)).await?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let email = f.email("email", &body.email);
    let name = f.name("name", &body.name);
    f.password("password", &body.password, state.policy.min_password_length);
    f.finish()?;
    let (Some(email), Some(name)) = (email, name) else { return Err(ApiError::field("email", "is invalid")) };
    // Every registration mails the address (a welcome or an "account exists"
    // notice): bounded per address, whether or not it has an account.
    limit(&state, &state.limits.register_per_email, email.as_str()).await?;

    // Hash in every case, so both outcomes take the same time.
    let hash = state.passwords.hash(body.password).await.map_err(ApiError::internal)?;
    let new =
        NewCustomer { id: None, email: email.clone(), name: name.clone(), phone: None, password_hash: Some(hash) };
    match state.store.create_customer(new).await {
        Ok(customer) => send_verification(&state, customer.id.0, email.as_str(), name.as_str()).await?,
        Err(StoreError::Conflict(_)) => {
            let existing = state.store.find_customer_by_email(&email).await?;
            let who = existing.map(|c| c.name).unwrap_or_default();
            let link = format!("{}/forgot-password", state.links.public_url.trim_end_matches('/'));
            send(&state, email.as_str(), Template::AccountExists, &[("name", &who), ("link", &link)]).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(HttpResponse::Accepted().json(CHECK_EMAIL))
}

/// With Cognito as the identity backend, customer accounts live in the pool:
/// the local customer sign-up and sign-in answer 404 and point there.
pub fn local_customers_only(state: &AppState) -> Result<(), ApiError> {
    match state.cognito {
        Some(_) => Err(ApiError::new(crate::api::problem::Code::NotFound)
            .detail("customer accounts live in Cognito: use /v1/auth/cognito/customers/…")),
        None => Ok(()),
    }
}
