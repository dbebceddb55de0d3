use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::lookup::ProgramAtCounter;
use super::operated_store;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::{PosActor, PosAuth};
use crate::state::AppState;

/// The store and who is at its counter.
#[derive(Serialize, ToSchema)]
pub struct PosSession {
    pub store: CounterStore,
    pub actor: CounterActor,
    /// The active programs that run at this store (what a walk-in can join).
    pub programs: Vec<ProgramAtCounter>,
}

#[derive(Serialize, ToSchema)]
pub struct CounterStore {
    pub id: Uuid,
    pub name: String,
    pub business_id: Uuid,
    /// IANA time zone.
    pub timezone: String,
}

#[derive(Serialize, ToSchema)]
pub struct CounterActor {
    /// `terminal` or `staff`.
    pub kind: String,
    pub id: Uuid,
    pub name: String,
}

/// Who is at the counter of this store: the cashier screen's first call.
#[utoipa::path(get, path = "/v1/pos/stores/{store_id}/session", tag = "pos", security(("bearer" = [])),
    params(("store_id" = Uuid, Path)), responses(
    (status = 200, description = "The store and the actor", body = PosSession),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn pos_session(
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let store = operated_store(&auth, path.into_inner()).await?;
    let programs = state
        .store
        .list_programs(store.business_id, true)
        .await?
        .into_iter()
        .filter(|p| p.availability.includes(&store.place()))
        .map(|p| ProgramAtCounter::of(&p))
        .collect();
    let actor = match &auth.actor {
        PosActor::Terminal(t) => CounterActor { kind: "terminal".into(), id: t.id, name: t.name.clone() },
        PosActor::Staff(s) => CounterActor { kind: "staff".into(), id: s.id.0, name: s.name.clone() },
    };
    let store = CounterStore {
        id: store.id.0,
        name: store.name.clone(),
        business_id: store.business_id.0,
        timezone: store.timezone.clone(),
    };
    Ok(HttpResponse::Ok().json(PosSession { store, actor, programs }))
}
