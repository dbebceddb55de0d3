use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::page::PageRequest;
use utoipa::IntoParams;
use uuid::Uuid;

use super::visible;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 200; default 50.
    /// Items per page: at most 200 (more is read as 200), 50 when left out.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    pub limit: Option<u32>,
}

/// The business's audit log, newest first (owner, admin).
/// A page of a business's audit log, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    items: Vec<stampede_domain::identity::AuditEvent>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/businesses/{business_id}/audit", tag = "businesses",
    params(("business_id" = Uuid, Path), PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "Who changed what, when, before and after", body = AuditPage),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn audit_log(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), true).await?;
    let page = state.audit.list_audit(business.id, PageRequest::new(query.cursor, query.limit)).await?;
    Ok(HttpResponse::Ok().json(page))
}
