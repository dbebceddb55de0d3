use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use stampede_domain::identity::Terminal;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{TerminalView, managed_store};
use crate::api::admin::{audit_event, audited};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::auth::terminal_key;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTerminalRequest {
    /// A name staff recognise, e.g. "Till 2".
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTerminal {
    pub terminal: TerminalView,
    /// The API key. Shown only now: store it in the terminal.
    pub api_key: String,
}

/// Create a POS terminal key for a store.
#[utoipa::path(post, path = "/v1/stores/{store_id}/terminals", tag = "terminals", request_body = CreateTerminalRequest,
    security(("bearer" = [])), params(("store_id" = Uuid, Path)), responses(
    (status = 201, body = CreatedTerminal),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_terminal(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateTerminalRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = managed_store(&state, &auth, path.into_inner()).await?;
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    f.finish()?;
    let Some(name) = name else { return Err(ApiError::field("name", "is invalid")) };
    let id = Uuid::now_v7();
    let key = terminal_key::generate(id);
    let terminal = Terminal {
        id,
        business_id: store.business_id,
        brand_id: store.brand_id,
        store_id: store.id,
        name: name.as_str().to_owned(),
        key_prefix: key.display_prefix,
        key_hash: key.hash,
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    let view = TerminalView::from(&terminal);
    let business = Some(store.business_id);
    let event = audit_event(&auth.staff, business, "terminal.create", Some(id), None::<&()>, Some(&view));
    state.store.create_terminal(&terminal, Some(&event)).await?;
    audited(&state, &event).await;
    Ok(HttpResponse::Created().json(CreatedTerminal { terminal: view, api_key: key.key }))
}
