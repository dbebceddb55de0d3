use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::json;
use stampede_domain::ids::BusinessId;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// For customers: a business's active programs with the rewards available now.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/programs/active", tag = "programs",
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "Active programs and their rewards"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn active_programs(
    _auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = BusinessId(path.into_inner());
    let records = state.records.view().await;
    let business = records.business(id).await?.filter(|b| b.is_active).ok_or_else(ApiError::not_found)?;
    let now = Utc::now();
    let mut items = Vec::new();
    for p in state.store.list_programs(id, true).await? {
        let Some(bundle) = records.program(p.id).await? else { continue };
        let rewards: Vec<_> = bundle.rewards.iter().filter(|r| r.available_at(now)).cloned().collect();
        items.push(json!({
            "id": p.id, "name": p.name, "description": p.description, "kind": p.rules.kind(),
            "rules": p.rules, "availability": p.availability, "rewards": rewards,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({ "business": { "id": business.id, "name": business.name, "logo_url": business.logo_url }, "items": items })))
}
