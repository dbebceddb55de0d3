use actix_web::{HttpResponse, web};
use serde_json::json;
use uuid::Uuid;

use super::operated_store;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::{PosActor, PosAuth};

/// Who is at the counter of this store: the cashier screen's first call.
#[utoipa::path(get, path = "/v1/pos/stores/{store_id}/session", tag = "pos", security(("bearer" = [])),
    params(("store_id" = Uuid, Path)), responses(
    (status = 200, description = "The store and the actor"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn pos_session(auth: PosAuth, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let store = operated_store(&auth, path.into_inner()).await?;
    let actor = match &auth.actor {
        PosActor::Terminal(t) => json!({ "kind": "terminal", "id": t.id, "name": t.name }),
        PosActor::Staff(s) => json!({ "kind": "staff", "id": s.id, "name": s.name }),
    };
    Ok(HttpResponse::Ok().json(json!({
        "store": { "id": store.id, "name": store.name, "business_id": store.business_id, "timezone": store.timezone },
        "actor": actor,
    })))
}
