use actix_web::{HttpRequest, HttpResponse, web};
use stampede_aws::cognito::SignIn;
use stampede_domain::email::Email;

use super::{CognitoTokenPair, Pool, refusal};
use crate::api::auth::login::LoginRequest;
use crate::api::auth::mfa::MfaChallenge;
use crate::api::input::{ClientIp, limit};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::state::AppState;

/// Sign in with email and password (`USER_PASSWORD_AUTH`); the pool's tokens
/// are used as Bearer tokens on every customer endpoint. With an
/// authenticator app on, the answer is a challenge for
/// `/v1/auth/cognito/customers/mfa/verify`.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = super::CognitoSignInAnswer),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    sign_in(Pool::Customers, &req, &state, &ip, &body).await
}

/// Rate limits (per address, per account), then the pool's password check.
pub async fn sign_in(
    which: Pool,
    req: &HttpRequest,
    state: &AppState,
    ip: &ClientIp,
    body: &LoginRequest,
) -> Result<HttpResponse, ApiError> {
    let pool = which.of(state)?;
    limit(state, &state.limits.login_per_ip, &ip.of(req)).await?;
    let email =
        Email::parse(&body.email).map_err(|_| ApiError::new(Code::Unauthorized).detail("invalid email or password"))?;
    limit(state, &state.limits.login_per_account, &which.account_key(email.as_str())).await?;
    let answer = pool.sign_in(email.as_str(), &body.password).await.map_err(refusal)?;
    if which == Pool::Customers {
        state.usage.record("login", None, None);
    }
    Ok(match answer {
        SignIn::Tokens(tokens) => HttpResponse::Ok().json(CognitoTokenPair::from(tokens)),
        SignIn::Mfa { session } => HttpResponse::Ok().json(MfaChallenge {
            mfa_required: true,
            mfa_token: session,
            expires_in: super::mfa::SESSION_SECS,
            methods: vec!["totp"],
        }),
    })
}
