use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{TerminalView, managed_store};
use crate::api::admin::{audit_event, audited};
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameTerminal {
    /// A name staff recognise, e.g. "Till 2".
    pub name: String,
}

/// Rename a live terminal; its key is unchanged.
#[utoipa::path(patch, path = "/v1/stores/{store_id}/terminals/{terminal_id}", tag = "terminals",
    request_body = RenameTerminal, security(("bearer" = [])), params(("store_id" = Uuid, Path), ("terminal_id" = Uuid, Path)),
    responses(
    (status = 200, description = "The terminal", body = TerminalView),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn rename_terminal(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<RenameTerminal>,
) -> Result<HttpResponse, ApiError> {
    let (store_id, terminal_id) = path.into_inner();
    let store = managed_store(&state, &auth, store_id).await?;
    let mut f = Fields::default();
    let name = f.name("name", &body.name);
    f.finish()?;
    let Some(name) = name else { return Err(ApiError::field("name", "is invalid")) };
    let terminal = state.store.get_terminal(terminal_id).await?.ok_or_else(ApiError::not_found)?;
    if terminal.store_id != store.id || terminal.revoked_at.is_some() {
        return Err(ApiError::not_found());
    }
    let before = TerminalView::from(&terminal);
    let after = TerminalView { name: name.as_str().to_owned(), ..TerminalView::from(&terminal) };
    let event = audit_event(
        &auth.staff,
        Some(store.business_id),
        "terminal.rename",
        Some(terminal_id),
        Some(&before),
        Some(&after),
    );
    if !state.store.rename_terminal(terminal_id, name.as_str(), Some(&event)).await? {
        return Err(ApiError::not_found());
    }
    state.records.invalidate(Kind::Terminal, terminal_id).await;
    audited(&state, &event).await;
    Ok(HttpResponse::Ok().json(after))
}
