use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use stampede_domain::business::Business;
use utoipa::{IntoParams, ToSchema};

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only active businesses.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A page of businesses (all of the caller's on one page: a staff member
/// works for few).
#[derive(Serialize, ToSchema)]
pub struct BusinessPage {
    pub items: Vec<Business>,
    pub next_cursor: Option<String>,
}

/// The businesses the caller has a role in.
#[utoipa::path(get, path = "/v1/businesses", tag = "businesses", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, description = "Businesses", body = BusinessPage), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list_businesses(
    auth: StaffAuth,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut ids: Vec<_> = auth.staff.memberships.iter().map(|m| m.business_id).collect();
    ids.sort();
    ids.dedup();
    let mut items = Vec::with_capacity(ids.len());
    let records = state.records.view().await;
    for id in ids {
        if let Some(b) = records.business(id).await?
            && (query.active != Some(true) || b.is_active)
        {
            items.push(std::sync::Arc::unwrap_or_clone(b));
        }
    }
    Ok(HttpResponse::Ok().json(BusinessPage { items, next_cursor: None }))
}
