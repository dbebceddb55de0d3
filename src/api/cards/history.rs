use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::ids::CardId;
use stampede_domain::page::PageRequest;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::pos::TransactionView;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub cursor: Option<Uuid>,
    pub limit: Option<u32>,
}

/// A card's transactions, newest first (cursor-paginated). Read from the
/// ledger, so every acknowledged transaction is there at once.
#[utoipa::path(get, path = "/v1/me/cards/{card_id}/transactions", tag = "me",
    params(("card_id" = Uuid, Path), HistoryQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of transactions"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn history(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let card = state.directory.by_id(CardId(path.into_inner())).await?.filter(|c| c.customer_id == auth.id);
    let card = card.ok_or_else(ApiError::not_found)?;
    let page = state.store.card_entries(card.id, PageRequest::new(query.cursor, query.limit)).await?;
    let items: Vec<TransactionView> = page.items.iter().map(TransactionView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": page.next_cursor })))
}
