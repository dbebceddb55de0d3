use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use stampede_domain::identity::SubjectKind;
use stampede_domain::ids::{CustomerId, StaffId};
use utoipa::ToSchema;

use crate::api::input::ClientIp;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::audit::{self, Actor};
use crate::auth::tokens::{Pending, TokenPair};
use crate::auth::verify::PrincipalKind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyMfaRequest {
    /// From the sign-in's answer.
    pub mfa_token: String,
    #[schema(pattern = r"^ *([0-9] *){6}$", max_length = 8)]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    pub recovery_code: Option<String>,
}

fn expired() -> ApiError {
    ApiError::new(Code::Unauthorized).detail("the sign-in expired: enter the password again")
}

/// Finish a sign-in that answered `mfa_required`: the challenge and a code
/// from the authenticator app (or a recovery code) give the tokens.
#[utoipa::path(post, path = "/v1/auth/mfa/verify", tag = "auth", request_body = VerifyMfaRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<VerifyMfaRequest>,
) -> Result<HttpResponse, ApiError> {
    super::local_only(&state)?;
    let body = body.into_inner();
    let (kind, subject) = state.link_key.verify_mfa_challenge(&body.mfa_token, Utc::now()).ok_or_else(expired)?;
    // The account as it is now: one closed since the password gets nothing.
    let (principal, pending, by, businesses) = match kind {
        SubjectKind::Customer => {
            let c = state.store.get_customer(CustomerId(subject)).await?;
            c.filter(|c| c.email_verified_at.is_some()).ok_or_else(expired)?;
            (PrincipalKind::Customer, Pending::NOTHING, Actor::Customer(CustomerId(subject)), Vec::new())
        }
        SubjectKind::Staff => {
            let s = state.store.get_staff(StaffId(subject)).await?.filter(|s| s.may_sign_in()).ok_or_else(expired)?;
            (
                PrincipalKind::Staff,
                super::staff_pending(&state, &s).await?,
                Actor::Staff(s.id),
                audit::businesses_of(&s),
            )
        }
    };
    let code = super::CodeRequest { code: body.code, recovery_code: body.recovery_code };
    let from = json!({ "ip": ip.address(&req) });
    let used_recovery = match super::check_code(&state, subject, &code).await {
        Ok(used) => used,
        Err(e) => {
            if e.code == Code::Unauthorized {
                let action = format!("{}.mfa_failed", kind.as_str());
                audit::security(&state, Actor::Anonymous, subject, &businesses, &action, from).await;
            }
            return Err(e);
        }
    };
    let pair = state.issuer.start_session(state.sessions.as_ref(), principal, subject, pending).await?;
    let method = if used_recovery { "recovery_code" } else { "totp" };
    let action = format!("{}.sign_in", kind.as_str());
    audit::security(&state, by, subject, &businesses, &action, json!({ "ip": ip.address(&req), "mfa": method })).await;
    Ok(HttpResponse::Ok().json(pair))
}
