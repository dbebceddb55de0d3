use actix_web::{HttpResponse, web};
use chrono::Utc;
use uuid::Uuid;

use super::{TerminalView, managed_store};
use crate::api::admin::{audit_event, audited};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

/// Revoke a terminal's key; it stops working at once.
#[utoipa::path(delete, path = "/v1/stores/{store_id}/terminals/{terminal_id}", tag = "terminals",
    security(("bearer" = [])), params(("store_id" = Uuid, Path), ("terminal_id" = Uuid, Path)), responses(
    (status = 204, description = "Revoked"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn revoke_terminal(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (store_id, terminal_id) = path.into_inner();
    let store = managed_store(&state, &auth, store_id).await?;
    let terminal = state.store.get_terminal(terminal_id).await?.ok_or_else(ApiError::not_found)?;
    if terminal.store_id != store.id || terminal.revoked_at.is_some() {
        return Err(ApiError::not_found());
    }
    let before = TerminalView::from(&terminal);
    let business = Some(store.business_id);
    let event = audit_event(&auth.staff, business, "terminal.revoke", Some(terminal_id), Some(&before), None::<&()>);
    state.store.revoke_terminal(terminal_id, Utc::now(), Some(&event)).await?;
    state.records.invalidate(Kind::Terminal, terminal_id).await;
    audited(&state, &event).await;
    Ok(HttpResponse::NoContent().finish())
}
