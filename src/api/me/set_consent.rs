use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::ids::BusinessId;
use utoipa::ToSchema;
use uuid::Uuid;

use super::consents::{ConsentView, consents};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub marketing: bool,
}

/// Give or withdraw marketing consent to one business whose card the
/// customer holds (404 for any other).
#[utoipa::path(put, path = "/v1/me/consents/{business_id}", tag = "me", request_body = ConsentRequest,
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ConsentView),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn set_consent(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<ConsentRequest>,
) -> Result<HttpResponse, ApiError> {
    let business = BusinessId(path.into_inner());
    if consents(&state, auth.id, Some(business)).await?.is_empty() {
        return Err(ApiError::not_found());
    }
    state.store.set_marketing_consent(auth.id, business, body.marketing, chrono::Utc::now()).await?;
    let mut now = consents(&state, auth.id, Some(business)).await?;
    now.pop().map(|c| HttpResponse::Ok().json(c)).ok_or_else(ApiError::not_found)
}
