use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use stampede_domain::ids::BusinessId;
use stampede_domain::program::{Availability, ProgramRules, Reward};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// A business as a customer deciding to join sees it.
#[derive(Serialize, ToSchema)]
pub struct BusinessAtJoin {
    pub id: BusinessId,
    pub name: String,
    pub logo_url: Option<String>,
}

/// A program a customer can join, with what it rewards now.
#[derive(Serialize, ToSchema)]
pub struct ActiveProgram {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// `stamps` or `points`.
    pub kind: String,
    #[schema(value_type = super::rules_doc::RulesDoc)]
    pub rules: ProgramRules,
    #[schema(value_type = super::rules_doc::AvailabilityDoc)]
    pub availability: Availability,
    pub rewards: Vec<Reward>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivePrograms {
    pub business: BusinessAtJoin,
    pub items: Vec<ActiveProgram>,
}

/// For customers: a business's active programs with the rewards available now.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/programs/active", tag = "programs",
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "Active programs and their rewards", body = ActivePrograms),
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
        let kind = p.rules.kind().to_string();
        let (id, name, description, rules, availability) = (p.id, p.name, p.description, p.rules, p.availability);
        items.push(ActiveProgram { id, name, description, kind, rules, availability, rewards });
    }
    let business =
        BusinessAtJoin { id: business.id, name: business.name.to_string(), logo_url: business.logo_url.clone() };
    Ok(HttpResponse::Ok().json(ActivePrograms { business, items }))
}
