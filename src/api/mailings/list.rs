use actix_web::{HttpResponse, web};
use serde::Serialize;
use stampede_domain::marketing::Mailing;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::businesses::visible;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct MailingList {
    pub items: Vec<Mailing>,
}

/// The business's mailings, newest first (the latest 100), each with how
/// many it went to, how many were sent, skipped, or are still on their way.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/mailings", tag = "mailings",
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "The mailings", body = MailingList),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_mailings(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), true).await?;
    let items = state.store.list_mailings(business.id).await?;
    Ok(HttpResponse::Ok().json(MailingList { items }))
}
