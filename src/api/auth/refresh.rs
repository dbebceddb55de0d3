use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::identity::SubjectKind;
use stampede_domain::ids::{CustomerId, StaffId};
use utoipa::ToSchema;

use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::tokens::TokenPair;
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
pub async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let pair = state
        .issuer
        .refresh(state.sessions.as_ref(), &body.refresh_token, async |kind, id| {
            Ok(match kind {
                // A session of an account whose email is not verified (one
                // opened before sign-in required it) is not renewed.
                SubjectKind::Customer => {
                    store.get_customer(CustomerId(id)).await?.filter(|c| c.email_verified_at.is_some()).map(|_| false)
                }
                SubjectKind::Staff => {
                    store.get_staff(StaffId(id)).await?.filter(|s| s.may_sign_in()).map(|s| s.must_change_password)
                }
            })
        })
        .await?;
    match pair {
        Some(pair) => Ok(HttpResponse::Ok().json(pair)),
        None => Err(ApiError::new(Code::Unauthorized).detail("the refresh token is invalid, expired or revoked")),
    }
}
