use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{pool, refusal};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    pub email: String,
    pub code: String,
}

/// Confirm a sign-up with the code the pool mailed. The code proved the
/// address: the Stampede profile is made now, from the pool's account.
#[utoipa::path(post, path = "/v1/auth/cognito/customers/confirm", tag = "auth", request_body = ConfirmRequest,
    responses(
    (status = 204, description = "Confirmed; the profile exists"),
    (status = 409, body = Problem, content_type = "application/problem+json", description = "Another profile uses this address"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm(state: web::Data<AppState>, body: Json<ConfirmRequest>) -> Result<HttpResponse, ApiError> {
    let pool = pool(&state)?;
    if body.code.trim().is_empty() || body.code.len() > 64 {
        return Err(ApiError::field("code", "give the code from the email"));
    }
    let email = body.email.trim();
    pool.confirm_sign_up(email, body.code.trim()).await.map_err(refusal)?;
    let (user, _) = pool
        .admin_get(email)
        .await
        .map_err(refusal)?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a confirmed pool user is gone")))?;
    super::profile::make_profile(&state, &user).await?;
    Ok(HttpResponse::NoContent().finish())
}
