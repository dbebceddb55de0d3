use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use stampede_domain::program::Reward;
use utoipa::ToSchema;
use uuid::Uuid;

use super::check;
use crate::api::admin::{audit_event, audited, etag};
use crate::api::businesses::optional_text;
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::api::programs::visible;
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReward {
    pub name: String,
    pub description: Option<String>,
    /// In stamps or points, as the program counts.
    pub cost: i64,
    /// Leave out for unlimited.
    pub stock: Option<i64>,
    pub active_from: Option<DateTime<Utc>>,
    pub active_until: Option<DateTime<Utc>>,
}

/// Add a reward to a program's catalog (owner, admin).
#[utoipa::path(post, path = "/v1/programs/{program_id}/rewards", tag = "rewards", request_body = CreateReward,
    params(("program_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The reward", body = stampede_domain::program::Reward),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_reward(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateReward>,
) -> Result<HttpResponse, ApiError> {
    let program = visible(&state, &auth, path.into_inner(), true).await?.program;
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    let description = optional_text(&mut f, "description", body.description, 2000);
    check(&mut f, body.cost, body.stock, body.active_from, body.active_until);
    f.finish()?;
    let Some(name) = name else { return Err(ApiError::field("name", "is invalid")) };
    let reward = Reward {
        id: Uuid::now_v7(),
        program_id: program.id,
        name: name.as_str().to_owned(),
        description,
        image_url: None,
        cost: body.cost,
        stock: body.stock,
        active_from: body.active_from,
        active_until: body.active_until,
        is_active: true,
        version: 1,
    };
    let event = audit_event(
        &auth.staff,
        Some(program.business_id),
        "reward.create",
        Some(reward.id),
        None::<&()>,
        Some(&reward),
    );
    state.store.create_reward(&reward, Some(&event)).await?;
    state.records.invalidate(Kind::Program, program.id).await;
    audited(&state, &event).await;
    Ok(HttpResponse::Created().insert_header(etag(reward.version)).json(reward))
}
