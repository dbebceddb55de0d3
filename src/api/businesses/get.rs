use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::visible;
use crate::api::admin::etag;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// A business the caller has a role in. The `ETag` is its version.
#[utoipa::path(get, path = "/v1/businesses/{business_id}", tag = "businesses", params(("business_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "The business", body = stampede_domain::business::Business),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_business(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().insert_header(etag(business.version)).json(business))
}
