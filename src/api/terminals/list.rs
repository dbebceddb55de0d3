use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::{TerminalView, managed_store};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// The store's terminals (keys never shown again).
#[utoipa::path(get, path = "/v1/stores/{store_id}/terminals", tag = "terminals", security(("bearer" = [])),
    params(("store_id" = Uuid, Path)), responses(
    (status = 200, body = [TerminalView]),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_terminals(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let store = managed_store(&state, &auth, path.into_inner()).await?;
    let terminals = state.store.list_terminals(store.id).await?;
    Ok(HttpResponse::Ok().json(terminals.iter().map(TerminalView::from).collect::<Vec<_>>()))
}
