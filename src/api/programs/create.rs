use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_domain::program::{Availability, Program, ProgramRules};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{check_availability, check_overrides, check_rules};
use crate::api::admin::{audit_event, audited, etag};
use crate::api::businesses::{optional_text, visible as business};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgram {
    pub name: String,
    pub description: Option<String>,
    /// See `docs/admin-api.md`.
    #[schema(value_type = super::rules_doc::RulesDoc)]
    pub rules: ProgramRules,
    #[serde(default)]
    #[schema(value_type = super::rules_doc::AvailabilityDoc)]
    pub availability: Availability,
}

/// Create a program (owner, admin).
#[utoipa::path(post, path = "/v1/businesses/{business_id}/programs", tag = "programs", request_body = CreateProgram,
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The program at version 1", body = super::rules_doc::ProgramDoc),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_program(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateProgram>,
) -> Result<HttpResponse, ApiError> {
    let business = business(&state, &auth, path.into_inner(), true).await?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    let description = optional_text(&mut f, "description", body.description, 2000);
    check_rules(&mut f, &body.rules);
    check_availability(&state, &mut f, business.id, &body.availability).await?;
    check_overrides(&state, &mut f, business.id, &body.rules).await?;
    f.finish()?;
    let Some(name) = name else { return Err(ApiError::field("name", "is invalid")) };
    let now = Utc::now();
    let program = Program {
        id: Uuid::now_v7(),
        business_id: business.id,
        name: name.as_str().to_owned(),
        description,
        rules: body.rules,
        availability: body.availability,
        version: 1,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    let event =
        audit_event(&auth.staff, Some(business.id), "program.create", Some(program.id), None::<&()>, Some(&program));
    state.store.create_program(&program, Some(&event)).await?;
    audited(&state, &event).await;
    Ok(HttpResponse::Created().insert_header(etag(program.version)).json(program))
}
