use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::ids::CardId;
use stampede_domain::page::PageRequest;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::pos::TransactionView;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::configuration::HistoryBackend;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub cursor: Option<Uuid>,
    /// Items per page: at most 200 (more is read as 200), 50 when left out.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    pub limit: Option<u32>,
}

/// A card's transactions, newest first (cursor-paginated). With the SQL
/// history backend they are read from the ledger, so every acknowledged
/// transaction is there at once; with DynamoDB from its card index (GSI2),
/// which the outbox relay fills moments after the commit, without campaign
/// and purchase details.
#[utoipa::path(get, path = "/v1/me/cards/{card_id}/transactions", tag = "me",
    params(("card_id" = Uuid, Path), HistoryQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of transactions", body = super::transactions::TransactionPage),
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
    let request = PageRequest::new(query.cursor, query.limit);
    let (items, next_cursor) = match state.history_reads {
        HistoryBackend::Sql => {
            let page = state.store.card_entries(card.id, request).await?;
            (page.items.iter().map(TransactionView::from).collect::<Vec<_>>(), page.next_cursor)
        }
        HistoryBackend::Dynamodb => {
            let points = counts_points(&state, card.program_id).await?;
            let page = state.history.card_history(card.id, request).await?;
            (page.items.iter().map(|m| TransactionView::from_message(m, points)).collect(), page.next_cursor)
        }
    };
    Ok(HttpResponse::Ok().json(super::transactions::TransactionPage { items, next_cursor }))
}

/// Whether a program counts points (else stamps).
pub async fn counts_points(state: &AppState, program_id: Uuid) -> Result<bool, ApiError> {
    let bundle = state.records.view().await.program(program_id).await?;
    Ok(bundle.is_some_and(|b| matches!(b.program.rules, stampede_domain::program::ProgramRules::Points(_))))
}
