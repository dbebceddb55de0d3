use actix_web::{HttpRequest, HttpResponse, web};

use super::super::{bearer, refusal};
use crate::api::auth::mfa::enroll::TotpEnrolment;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::Account;
use crate::auth::totp;
use crate::state::AppState;

/// Start setting up an authenticator app in the account's pool; confirm
/// with its first code at `/v1/auth/cognito/mfa/totp/confirm`.
#[utoipa::path(post, path = "/v1/auth/cognito/mfa/totp", tag = "auth", security(("bearer" = [])), responses(
    (status = 201, body = TotpEnrolment),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn enroll(req: HttpRequest, account: Account, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = super::pool_of(&account).of(&state)?;
    let secret = pool.associate_totp(&bearer(&req)).await.map_err(refusal)?;
    let label = match &account {
        Account::Staff(s) => s.email.clone(),
        Account::Customer(c) => {
            state.store.get_customer(*c).await?.map(|c| c.email.as_str().to_owned()).unwrap_or_default()
        }
    };
    let raw = totp::from_base32(&secret).unwrap_or_default();
    Ok(HttpResponse::Created().json(TotpEnrolment { otpauth_uri: totp::otpauth_uri("Stampede", &label, &raw), secret }))
}
