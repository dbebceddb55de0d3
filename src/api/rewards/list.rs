use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::api::programs::visible;
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// A program's reward catalog.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RewardList<'a> {
    pub items: &'a [stampede_domain::program::Reward],
}

/// A program's rewards (members).
#[utoipa::path(get, path = "/v1/programs/{program_id}/rewards", tag = "rewards", params(("program_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "Rewards", body = RewardList),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_rewards(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let bundle = visible(&state, &auth, path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(RewardList { items: &bundle.rewards }))
}
