use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use stampede_domain::email::Email;
use utoipa::ToSchema;

use crate::api::input::{ClientIp, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::audit::{self, Actor};
use crate::auth::tokens::{Pending, TokenPair};
use crate::auth::verify::PrincipalKind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// What a right password answers: tokens, or a second-factor challenge.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SignInAnswer {
    Tokens(TokenPair),
    Challenge(super::mfa::MfaChallenge),
}

fn bad_credentials() -> ApiError {
    ApiError::new(Code::Unauthorized).detail("invalid email or password")
}

/// How a password check came out. `Failed` names the account when the email
/// has one (for the security log; the client learns nothing of it).
enum Attempt {
    Passed(uuid::Uuid),
    Failed(Option<uuid::Uuid>),
}

/// Rate limits (per address and per account), then the password check. An
/// unknown email is checked against a dummy hash: same answer, same time.
async fn check(
    req: &HttpRequest,
    state: &AppState,
    ip: &ClientIp,
    kind: &str,
    body: LoginRequest,
    lookup: impl AsyncFnOnce(&Email) -> Result<Option<(uuid::Uuid, Option<String>)>, ApiError>,
) -> Result<Attempt, ApiError> {
    limit(state, &state.limits.login_per_ip, &ip.of(req)).await?;
    let email = Email::parse(&body.email).ok();
    let account_key = format!("{kind}:{}", email.as_ref().map(Email::as_str).unwrap_or(body.email.trim()));
    limit(state, &state.limits.login_per_account, &account_key).await?;
    let found = match &email {
        Some(e) => lookup(e).await?,
        None => None,
    };
    let (id, hash) = match found {
        Some((id, Some(hash))) => (Some(id), hash),
        _ => (None, state.dummy_hash.clone()),
    };
    let ok = state.passwords.verify(body.password, hash).await.map_err(ApiError::internal)?;
    Ok(match (ok, id) {
        (true, Some(id)) => Attempt::Passed(id),
        (_, id) => Attempt::Failed(id),
    })
}

/// Sign in a customer with email and password. An account whose email is not
/// yet verified is refused with 403 `email_not_verified` (said only to whoever
/// gave the right password), and a new confirmation link is mailed. With a
/// second factor on, the answer is a challenge for `/v1/auth/mfa/verify`.
#[utoipa::path(post, path = "/v1/auth/customers/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = SignInAnswer),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn customer_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    super::register::local_customers_only(&state)?;
    let store = &state.store;
    let attempt = check(&req, &state, &ip, "customer", body.into_inner(), async |e: &Email| {
        Ok(store.find_customer_by_email(e).await?.map(|c| (c.id.0, c.password_hash)))
    })
    .await?;
    let from = json!({ "ip": ip.address(&req) });
    let id = match attempt {
        Attempt::Passed(id) => id,
        Attempt::Failed(account) => {
            if let Some(account) = account {
                audit::security(&state, Actor::Anonymous, account, &[], "customer.sign_in_failed", from).await;
            }
            return Err(bad_credentials());
        }
    };
    require_verified(&state, stampede_domain::ids::CustomerId(id)).await?;
    let answer = super::mfa::sign_in(&state, PrincipalKind::Customer, id, Pending::NOTHING).await?;
    let me = Actor::Customer(stampede_domain::ids::CustomerId(id));
    audit::security(&state, me, id, &[], "customer.sign_in", from).await;
    state.usage.record("login", None, Some(stampede_domain::ids::CustomerId(id)));
    Ok(answer)
}

/// A password proves nothing about the address it was registered with: until
/// the emailed link is followed, the account is not theirs to use. (Otherwise
/// anyone could register someone else's address first and keep a way in.)
async fn require_verified(state: &AppState, id: stampede_domain::ids::CustomerId) -> Result<(), ApiError> {
    let customer = state.store.get_customer(id).await?.ok_or_else(bad_credentials)?;
    if customer.email_verified_at.is_some() {
        return Ok(());
    }
    // A fresh link, at most as often as reset links go to one address.
    let key = format!("verify:{}", customer.email.as_str());
    if limit(state, &state.limits.reset_per_account, &key).await.is_ok() {
        super::mail::send_verification(state, id.0, customer.email.as_str(), customer.name.as_str()).await?;
    }
    Err(ApiError {
        machine: Some("email_not_verified".to_owned()),
        ..ApiError::new(Code::Forbidden).detail("confirm your email address first: we have sent a new link to it")
    })
}

/// Sign in a staff member. After a one-time password, the answer says
/// `password_change_required` and only `/v1/auth/staff/password` accepts the
/// token; when a business the account owns or administers requires a second
/// factor it has not set up, `mfa_setup_required`, and only
/// `/v1/auth/mfa/…` accepts it. With a second factor on, the answer is a
/// challenge for `/v1/auth/mfa/verify`.
#[utoipa::path(post, path = "/v1/auth/staff/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = SignInAnswer),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn staff_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let attempt = check(&req, &state, &ip, "staff", body.into_inner(), async |e: &Email| {
        Ok(store.find_staff_by_email(e).await?.filter(|s| s.may_sign_in()).map(|s| (s.id.0, s.password_hash)))
    })
    .await?;
    let from = json!({ "ip": ip.address(&req) });
    let (id, failed) = match attempt {
        Attempt::Passed(id) => (id, false),
        Attempt::Failed(Some(id)) => (id, true),
        Attempt::Failed(None) => return Err(bad_credentials()),
    };
    let staff = state.store.get_staff(stampede_domain::ids::StaffId(id)).await?.ok_or_else(bad_credentials)?;
    let businesses = audit::businesses_of(&staff);
    if failed {
        audit::security(&state, Actor::Anonymous, id, &businesses, "staff.sign_in_failed", from).await;
        return Err(bad_credentials());
    }
    let pending = super::mfa::staff_pending(&state, &staff).await?;
    let answer = super::mfa::sign_in(&state, PrincipalKind::Staff, id, pending).await?;
    audit::security(&state, Actor::Staff(staff.id), id, &businesses, "staff.sign_in", from).await;
    Ok(answer)
}
