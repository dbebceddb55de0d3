use actix_web::{HttpResponse, web};

use super::Profile;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The signed-in customer's profile.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = Profile),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_me(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let customer = state.store.get_customer(auth.id).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Profile::from(customer)))
}
