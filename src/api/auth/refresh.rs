use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use stampede_domain::identity::SubjectKind;
use stampede_domain::ids::{CustomerId, StaffId};
use utoipa::ToSchema;

use crate::api::input::ClientIp;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::audit::{self, Actor};
use crate::auth::tokens::{Pending, Refreshed, TokenPair};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for new tokens. Each refresh token works once; using
/// one twice revokes its whole family (all tokens descended from one sign-in).
#[utoipa::path(post, path = "/v1/auth/token/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    ip: web::Data<ClientIp>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let pair = state
        .issuer
        .refresh(state.sessions.as_ref(), &body.refresh_token, async |kind, id| {
            Ok(match kind {
                // A session of an account whose email is not verified (one
                // opened before sign-in required it) is not renewed.
                SubjectKind::Customer => store
                    .get_customer(CustomerId(id))
                    .await?
                    .filter(|c| c.email_verified_at.is_some())
                    .map(|_| Pending::NOTHING),
                // Looked up again on every refresh: a business that starts
                // requiring a second factor limits its admins' next tokens.
                SubjectKind::Staff => match store.get_staff(StaffId(id)).await?.filter(|s| s.may_sign_in()) {
                    Some(s) => Some(super::mfa::staff_pending(&state, &s).await?),
                    None => None,
                },
            })
        })
        .await?;
    let refused = || ApiError::new(Code::Unauthorized).detail("the refresh token is invalid, expired or revoked");
    match pair {
        Refreshed::Issued(pair) => Ok(HttpResponse::Ok().json(pair)),
        Refreshed::Refused => Err(refused()),
        Refreshed::Replayed { subject_kind, subject_id } => {
            let from = json!({ "ip": ip.address(&req) });
            let (action, businesses) = match subject_kind {
                SubjectKind::Customer => ("customer.session_replayed", vec![]),
                SubjectKind::Staff => {
                    let staff = store.get_staff(StaffId(subject_id)).await?;
                    ("staff.session_replayed", staff.as_ref().map(audit::businesses_of).unwrap_or_default())
                }
            };
            audit::security(&state, Actor::Anonymous, subject_id, &businesses, action, from).await;
            Err(refused())
        }
    }
}
