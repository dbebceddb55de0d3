use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use stampede_domain::program::{Availability, ProgramRules};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{check_availability, check_overrides, check_rules, visible};
use crate::api::admin::{audit_event, audited, etag, if_match};
use crate::api::businesses::optional_text;
use crate::api::input::{Fields, double_option};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProgram {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New rules (the kind cannot change). Becomes a new version; history stays.
    #[schema(value_type = Option<super::rules_doc::RulesDoc>)]
    pub rules: Option<ProgramRules>,
    #[schema(value_type = Option<super::rules_doc::AvailabilityDoc>)]
    pub availability: Option<Availability>,
    pub is_active: Option<bool>,
}

/// Change a program (owner, admin). Requires `If-Match`. Every change is a new
/// version; transactions keep the version they were applied under.
#[utoipa::path(patch, path = "/v1/programs/{program_id}", tag = "programs", request_body = UpdateProgram,
    params(("program_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The program at its new version", body = super::rules_doc::ProgramDoc),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_program(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<UpdateProgram>,
) -> Result<HttpResponse, ApiError> {
    let before = visible(&state, &auth, path.into_inner(), true).await?.program;
    let expected = if_match(&req, before.version)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let mut next = before.clone();
    if let Some(n) = body.name.as_deref().and_then(|n| f.name("name", n)) {
        next.name = n.as_str().to_owned();
    }
    if let Some(d) = body.description {
        next.description = optional_text(&mut f, "description", d, 2000);
    }
    if let Some(rules) = body.rules {
        if rules.kind() != before.rules.kind() {
            f.push("rules.kind", format!("must stay {}", before.rules.kind()));
        }
        check_rules(&mut f, &rules);
        check_overrides(&state, &mut f, before.business_id, &rules).await?;
        next.rules = rules;
    }
    if let Some(a) = body.availability {
        check_availability(&state, &mut f, before.business_id, &a).await?;
        next.availability = a;
    }
    if let Some(a) = body.is_active {
        next.is_active = a;
    }
    f.finish()?;
    let event = audit_event(
        &auth.staff,
        Some(before.business_id),
        "program.update",
        Some(before.id),
        Some(&before),
        None::<&()>,
    );
    let saved = state.store.save_program(&next, expected, Some(&event)).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Program, saved.id).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
