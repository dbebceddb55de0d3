use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use stampede_domain::ids::{BrandId, StoreId};
use utoipa::ToSchema;
use uuid::Uuid;

use super::check;
use crate::api::admin::{audit_event, audited, etag, if_match};
use crate::api::input::{Fields, double_option};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::api::programs::visible;
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaign {
    pub name: Option<String>,
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$")]
    pub starts_local: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$")]
    pub ends_local: Option<NaiveDateTime>,
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub brand_ids: Option<Vec<BrandId>>,
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub store_ids: Option<Vec<StoreId>>,
    pub multiplier_pct: Option<u32>,
    pub bonus_stamps: Option<u32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub max_per_card: Option<Option<u32>>,
    pub is_active: Option<bool>,
}

/// Change a campaign (owner, admin). Requires `If-Match`.
#[utoipa::path(patch, path = "/v1/campaigns/{campaign_id}", tag = "campaigns", request_body = UpdateCampaign,
    params(("campaign_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The campaign", body = stampede_domain::program::Campaign),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_campaign(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<UpdateCampaign>,
) -> Result<HttpResponse, ApiError> {
    let before = state.store.get_campaign(path.into_inner()).await?.ok_or_else(ApiError::not_found)?;
    let program = visible(&state, &auth, before.program_id, true).await?.program;
    let expected = if_match(&req, before.version)?;
    let b = body.into_inner();
    let mut next = before.clone();
    next.name = b.name.map(|n| n.trim().to_owned()).unwrap_or(next.name);
    next.starts_local = b.starts_local.unwrap_or(next.starts_local);
    next.ends_local = b.ends_local.unwrap_or(next.ends_local);
    next.brand_ids = b.brand_ids.unwrap_or(next.brand_ids);
    next.store_ids = b.store_ids.unwrap_or(next.store_ids);
    next.multiplier_pct = b.multiplier_pct.unwrap_or(next.multiplier_pct);
    next.bonus_stamps = b.bonus_stamps.unwrap_or(next.bonus_stamps);
    next.max_per_card = b.max_per_card.unwrap_or(next.max_per_card);
    next.is_active = b.is_active.unwrap_or(next.is_active);
    let mut f = Fields::default();
    check(&state, &mut f, program.business_id, &next).await?;
    f.finish()?;
    let event = audit_event(
        &auth.staff,
        Some(program.business_id),
        "campaign.update",
        Some(before.id),
        Some(&before),
        None::<&()>,
    );
    let saved = state.store.save_campaign(&next, expected, Some(&event)).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Program, program.id).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
