use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::api::businesses::visible;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// The programs of a business (members), active and inactive.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/programs", tag = "programs",
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "Programs", body = super::rules_doc::ProgramList),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_programs(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), false).await?;
    let programs = state.store.list_programs(business.id, false).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": programs })))
}
