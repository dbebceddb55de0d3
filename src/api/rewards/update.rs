use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use stampede_domain::program::Reward;
use utoipa::ToSchema;
use uuid::Uuid;

use super::check;
use crate::api::admin::{audit_event, audited, etag, if_match};
use crate::api::businesses::optional_text;
use crate::api::input::{Fields, double_option};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::api::programs::visible;
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReward {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub cost: Option<i64>,
    /// `null` makes it unlimited.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub stock: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub active_from: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub active_until: Option<Option<DateTime<Utc>>>,
    pub is_active: Option<bool>,
}

/// The reward and its program, if the caller may manage it.
pub async fn managed(state: &AppState, auth: &StaffAuth, id: Uuid) -> Result<Reward, ApiError> {
    let reward = state.store.get_reward(id).await?.ok_or_else(ApiError::not_found)?;
    visible(state, auth, reward.program_id, true).await?;
    Ok(reward)
}

/// Change a reward (owner, admin). Requires `If-Match`.
#[utoipa::path(patch, path = "/v1/rewards/{reward_id}", tag = "rewards", request_body = UpdateReward,
    params(("reward_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The reward", body = stampede_domain::program::Reward),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_reward(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<UpdateReward>,
) -> Result<HttpResponse, ApiError> {
    let before = managed(&state, &auth, path.into_inner()).await?;
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
    next.cost = body.cost.unwrap_or(next.cost);
    next.stock = body.stock.unwrap_or(next.stock);
    next.active_from = body.active_from.unwrap_or(next.active_from);
    next.active_until = body.active_until.unwrap_or(next.active_until);
    next.is_active = body.is_active.unwrap_or(next.is_active);
    check(&mut f, next.cost, next.stock, next.active_from, next.active_until);
    f.finish()?;
    let business = state.store.get_program(before.program_id).await?.map(|p| p.business_id);
    let event = audit_event(&auth.staff, business, "reward.update", Some(before.id), Some(&before), None::<&()>);
    let saved = state.store.save_reward(&next, expected, Some(&event)).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Program, saved.program_id).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
