use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_domain::customer::{Customer, NewCustomer};
use stampede_domain::email::Email;
use stampede_domain::ports::SocialProvider;
use stampede_domain::text::Name;
use utoipa::ToSchema;

use crate::api::input::{ClientIp, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::tokens::Pending;
use crate::auth::verify::{IdClaims, PrincipalKind, Social};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialRequest {
    /// The ID token the provider's SDK gave the app.
    pub id_token: String,
    /// The nonce the app passed to the provider's sign-in for this token (16
    /// to 128 characters; the token carries it, or its SHA-256 in hex). A
    /// nonce works once: a captured token cannot be sent again.
    #[schema(min_length = 16, max_length = 128, pattern = "^[!-~]+$")]
    pub nonce: String,
}

/// Sign in with a Google ID token.
#[utoipa::path(post, path = "/v1/auth/customers/google", tag = "auth", request_body = SocialRequest, responses(
    (status = 200, body = crate::api::auth::login::SignInAnswer),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn google(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<SocialRequest>,
) -> Result<HttpResponse, ApiError> {
    sign_in(&req, &state, &ip, Social::Google, &body).await
}

/// Sign in with an Apple ID token.
#[utoipa::path(post, path = "/v1/auth/customers/apple", tag = "auth", request_body = SocialRequest, responses(
    (status = 200, body = crate::api::auth::login::SignInAnswer),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn apple(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<SocialRequest>,
) -> Result<HttpResponse, ApiError> {
    sign_in(&req, &state, &ip, Social::Apple, &body).await
}

/// Find the customer by the provider's subject; else link the customer with
/// the email the provider vouches for; else create one (no password).
///
/// Linking to an account whose email was never verified claims it: whoever
/// registered that address with a password never proved it was theirs (they
/// may be squatting a victim's address, waiting for the victim to sign in
/// with Google), so the password is cleared and every session of the account
/// is signed out before the provider's owner of the address gets in.
async fn sign_in(
    req: &HttpRequest,
    state: &AppState,
    ip: &ClientIp,
    social: Social,
    body: &SocialRequest,
) -> Result<HttpResponse, ApiError> {
    limit(state, &state.limits.login_per_ip, &ip.of(req)).await?;
    if !(16..=128).contains(&body.nonce.len()) || !body.nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field("nonce", "must be 16 to 128 visible characters"));
    }
    let claims = state.verifier.verify_id_token(social, &body.id_token).await.map_err(|e| {
        tracing::debug!(reason = %e, "ID token refused");
        ApiError::new(Code::Unauthorized).detail("the ID token is not valid")
    })?;
    use_nonce(state, &claims, &body.nonce).await?;
    let provider = match social {
        Social::Google => SocialProvider::Google,
        Social::Apple => SocialProvider::Apple,
    };
    let customer = match state.store.find_customer_by_social(provider, &claims.subject).await? {
        Some(c) => c,
        None => {
            // Linking by email only when the provider vouches for the address.
            let email = claims
                .email
                .as_deref()
                .filter(|_| claims.email_verified)
                .and_then(|e| Email::parse(e).ok())
                .ok_or_else(|| ApiError::field("id_token", "carries no verified email address"))?;
            link(state, provider, &claims.subject, email).await?
        }
    };
    // A second factor stands behind the provider's sign-in too.
    super::mfa::sign_in(state, PrincipalKind::Customer, customer.id.0, Pending::NOTHING).await
}

/// The token must carry this request's nonce (as given, or its SHA-256 in
/// hex, as Apple's SDKs have apps send), and the nonce must not have been
/// used: it is remembered until the token expires, so a captured token and
/// nonce sign nobody in a second time.
async fn use_nonce(state: &AppState, claims: &IdClaims, nonce: &str) -> Result<(), ApiError> {
    let refused = || ApiError::new(Code::Unauthorized).detail("the ID token is not valid");
    let hashed = crate::auth::secret::sha256_hex(nonce.as_bytes());
    if !claims.nonce.as_deref().is_some_and(|n| n == nonce || n.eq_ignore_ascii_case(&hashed)) {
        tracing::debug!("ID token refused: nonce missing or not this request's");
        return Err(refused());
    }
    let key = format!("nonce:{hashed}");
    if state.cache.get(&key).await?.is_some() {
        tracing::debug!("ID token refused: nonce used before");
        return Err(refused());
    }
    let left = (claims.expires_at - Utc::now().timestamp()).clamp(1, 24 * 3600);
    state.cache.set(&key, b"1", std::time::Duration::from_secs(left as u64 + 60)).await?;
    Ok(())
}

/// Link `subject` to the customer holding `email` (claiming an unverified
/// account), or to a new customer.
async fn link(state: &AppState, provider: SocialProvider, subject: &str, email: Email) -> Result<Customer, ApiError> {
    let store = &state.store;
    let now = Utc::now();
    let customer = match store.find_customer_by_email(&email).await? {
        Some(existing) => {
            store.link_social(existing.id, provider, subject, now).await?;
            if existing.email_verified_at.is_none() {
                tracing::info!(customer = %existing.id.0, "an unverified account was claimed by social sign-in");
                state.sessions.revoke_all_sessions(existing.id.0, now).await?;
            }
            existing
        }
        None => {
            let local = email.as_str().split('@').next().unwrap_or("Customer");
            let name = Name::parse(local).unwrap_or_else(|_| Name::parse("Customer").expect("literal name"));
            let new = NewCustomer { id: None, email, name, phone: None, password_hash: None };
            let created = store.create_customer(new).await?;
            store.link_social(created.id, provider, subject, now).await?;
            created
        }
    };
    Ok(customer)
}
