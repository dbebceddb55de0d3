use actix_web::{HttpResponse, web};
use stampede_domain::page::PageRequest;

use super::history::{HistoryQuery, counts_points};
use crate::api::pos::TransactionView;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The signed-in customer's transactions over all their cards, newest first
/// (cursor-paginated), from the history store: the SQL history table, or
/// DynamoDB's customer index (GSI1). The outbox relay fills both moments after
/// each commit.
/// A page of transactions, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TransactionPage {
    pub items: Vec<crate::api::pos::TransactionView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<uuid::Uuid>,
}

#[utoipa::path(get, path = "/v1/me/transactions", tag = "me",
    params(HistoryQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of transactions", body = TransactionPage),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn my_transactions(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state.history.customer_history(auth.id, PageRequest::new(query.cursor, query.limit)).await?;
    let mut points = std::collections::HashMap::new();
    let mut items = Vec::with_capacity(page.items.len());
    for m in &page.items {
        let counts = match points.get(&m.program_id) {
            Some(p) => *p,
            None => {
                let p = counts_points(&state, m.program_id).await?;
                points.insert(m.program_id, p);
                p
            }
        };
        items.push(TransactionView::from_message(m, counts));
    }
    Ok(HttpResponse::Ok().json(TransactionPage { items, next_cursor: page.next_cursor }))
}
