use actix_web::{HttpResponse, web};
use chrono::Utc;

use super::Profile;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Everything Stampede holds about the signed-in customer, as JSON (GDPR art. 15
/// and 20), as an attachment.
/// Everything kept about the customer's account, as a download.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MyData {
    pub exported_at: chrono::DateTime<Utc>,
    pub profile: super::Profile,
}

#[utoipa::path(get, path = "/v1/me/export", tag = "me", security(("bearer" = [])), responses(
    (status = 200, description = "The customer's data", body = MyData),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn export_me(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let customer = state.store.get_customer(auth.id).await?.ok_or_else(ApiError::not_found)?;
    let export = MyData { exported_at: Utc::now(), profile: Profile::from(customer) };
    Ok(HttpResponse::Ok()
        .insert_header(("content-disposition", "attachment; filename=\"stampede-export.json\""))
        .json(export))
}
