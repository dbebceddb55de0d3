use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Deserialize;
use stampede_domain::ids::{BrandId, StoreId};
use stampede_domain::program::Campaign;
use utoipa::ToSchema;
use uuid::Uuid;

use super::check;
use crate::api::admin::{audit_event, audited, etag};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::api::programs::visible;
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    pub name: String,
    /// Local time at each store, e.g. `2026-12-05T10:00:00`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$")]
    pub starts_local: NaiveDateTime,
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$")]
    pub ends_local: NaiveDateTime,
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>)]
    pub brand_ids: Vec<BrandId>,
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>)]
    pub store_ids: Vec<StoreId>,
    /// 100 = no change; 200 = double points.
    #[serde(default = "hundred")]
    pub multiplier_pct: u32,
    #[serde(default)]
    pub bonus_stamps: u32,
    pub max_per_card: Option<u32>,
}

fn hundred() -> u32 {
    100
}

/// Add a campaign to a program (owner, admin).
#[utoipa::path(post, path = "/v1/programs/{program_id}/campaigns", tag = "campaigns", request_body = CreateCampaign,
    params(("program_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The campaign", body = stampede_domain::program::Campaign),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_campaign(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateCampaign>,
) -> Result<HttpResponse, ApiError> {
    let program = visible(&state, &auth, path.into_inner(), true).await?.program;
    let b = body.into_inner();
    let campaign = Campaign {
        id: Uuid::now_v7(),
        program_id: program.id,
        name: b.name.trim().to_owned(),
        starts_local: b.starts_local,
        ends_local: b.ends_local,
        brand_ids: b.brand_ids,
        store_ids: b.store_ids,
        multiplier_pct: b.multiplier_pct,
        bonus_stamps: b.bonus_stamps,
        max_per_card: b.max_per_card,
        is_active: true,
        version: 1,
    };
    let mut f = Fields::default();
    check(&state, &mut f, program.business_id, &campaign).await?;
    f.finish()?;
    let event = audit_event(
        &auth.staff,
        Some(program.business_id),
        "campaign.create",
        Some(campaign.id),
        None::<&()>,
        Some(&campaign),
    );
    state.store.create_campaign(program.business_id, &campaign, Some(&event)).await?;
    state.records.invalidate(Kind::Program, program.id).await;
    audited(&state, &event).await;
    Ok(HttpResponse::Created().insert_header(etag(campaign.version)).json(campaign))
}
