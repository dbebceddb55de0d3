use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::api::programs::visible;
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// A program's campaigns.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CampaignList<'a> {
    pub items: &'a [stampede_domain::program::Campaign],
}

/// A program's campaigns (members).
#[utoipa::path(get, path = "/v1/programs/{program_id}/campaigns", tag = "campaigns", params(("program_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "Campaigns", body = CampaignList),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_campaigns(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let bundle = visible(&state, &auth, path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(CampaignList { items: &bundle.campaigns }))
}
