use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_domain::customer::NewCustomer;
use stampede_domain::email::Email;
use stampede_domain::ports::SocialProvider;
use stampede_domain::text::Name;
use utoipa::ToSchema;

use crate::api::input::{ClientIp, limit};
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::tokens::TokenPair;
use crate::auth::verify::{PrincipalKind, Social};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialRequest {
    /// The ID token the provider's SDK gave the app.
    pub id_token: String,
}

/// Sign in with a Google ID token.
#[utoipa::path(post, path = "/v1/auth/customers/google", tag = "auth", request_body = SocialRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn google(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: web::Json<SocialRequest>,
) -> Result<HttpResponse, ApiError> {
    sign_in(&req, &state, &ip, Social::Google, &body.id_token).await
}

/// Sign in with an Apple ID token.
#[utoipa::path(post, path = "/v1/auth/customers/apple", tag = "auth", request_body = SocialRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn apple(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: web::Json<SocialRequest>,
) -> Result<HttpResponse, ApiError> {
    sign_in(&req, &state, &ip, Social::Apple, &body.id_token).await
}

/// Find the customer by the provider's subject; else link an existing customer
/// with the same verified email; else create one (no password).
async fn sign_in(
    req: &HttpRequest,
    state: &AppState,
    ip: &ClientIp,
    social: Social,
    id_token: &str,
) -> Result<HttpResponse, ApiError> {
    limit(state, &state.limits.login_per_ip, &ip.of(req)).await?;
    let claims = state.verifier.verify_id_token(social, id_token).await.map_err(|e| {
        tracing::debug!(reason = %e, "ID token refused");
        ApiError::new(Code::Unauthorized).detail("the ID token is not valid")
    })?;
    let provider = match social {
        Social::Google => SocialProvider::Google,
        Social::Apple => SocialProvider::Apple,
    };
    let store = &state.store;
    let customer = match store.find_customer_by_social(provider, &claims.subject).await? {
        Some(c) => c,
        None => {
            // Linking by email only when the provider vouches for the address.
            let email = claims
                .email
                .as_deref()
                .filter(|_| claims.email_verified)
                .and_then(|e| Email::parse(e).ok())
                .ok_or_else(|| ApiError::field("id_token", "carries no verified email address"))?;
            let customer = match store.find_customer_by_email(&email).await? {
                Some(c) => c,
                None => {
                    let local = email.as_str().split('@').next().unwrap_or("Customer");
                    let name = Name::parse(local).unwrap_or_else(|_| Name::parse("Customer").expect("literal name"));
                    let new = NewCustomer {
                        id: None,
                        email,
                        name,
                        phone: None,
                        marketing_consent: false,
                        password_hash: None,
                    };
                    store.create_customer(new).await?
                }
            };
            store.link_social(customer.id, provider, &claims.subject).await?;
            store.mark_email_verified(customer.id, Utc::now()).await?;
            customer
        }
    };
    let pair = state
        .issuer
        .start_session(state.sessions.as_ref(), PrincipalKind::Customer, customer.id.0, false)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(pair))
}
