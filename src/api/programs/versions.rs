use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use stampede_domain::program::ProgramRules;
use utoipa::ToSchema;
use uuid::Uuid;

use super::visible;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// The rules a program had from one version on.
#[derive(Serialize, ToSchema)]
pub struct ProgramVersionView {
    pub version: i64,
    #[schema(value_type = super::rules_doc::RulesDoc)]
    pub rules: ProgramRules,
    /// When this version was made.
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ProgramVersions {
    pub items: Vec<ProgramVersionView>,
}

/// A program's rules through time, newest first: every change is a version,
/// and each transaction keeps the version it was applied under (any role in
/// the business).
#[utoipa::path(get, path = "/v1/programs/{program_id}/versions", tag = "programs", params(("program_id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, description = "The versions", body = ProgramVersions),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn program_versions(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let program = visible(&state, &auth, path.into_inner(), false).await?.program;
    let items = state
        .store
        .program_versions(program.id)
        .await?
        .into_iter()
        .map(|v| ProgramVersionView { version: v.version, rules: v.rules, created_at: v.created_at })
        .collect();
    Ok(HttpResponse::Ok().json(ProgramVersions { items }))
}
