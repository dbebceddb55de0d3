use actix_web::{HttpRequest, HttpResponse, web};

use super::{pool, refusal};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Sign out everywhere: the pool revokes the customer's refresh tokens (access
/// tokens run out on their own within their short lifetime).
#[utoipa::path(post, path = "/v1/auth/cognito/customers/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "Signed out"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn logout(
    req: HttpRequest,
    _auth: CustomerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pool = pool(&state)?;
    let token = super::bearer(&req);
    pool.sign_out(&token).await.map_err(refusal)?;
    Ok(HttpResponse::NoContent().finish())
}
