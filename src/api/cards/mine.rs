use actix_web::{HttpResponse, web};

use super::CardView;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The signed-in customer's cards, with balances, progress and redeemable rewards.
#[utoipa::path(get, path = "/v1/me/cards", tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = [CardView]),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn my_cards(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let cards = state.store.list_customer_cards(auth.id).await?;
    let mut views = Vec::with_capacity(cards.len());
    let records = &auth.view;
    for card in &cards {
        // The active actor's committed state is at least as new as the row.
        let mut card = card.clone();
        if let Some(live) = state.engine.cached_state(card.id).await
            && live.version >= card.version
        {
            card.balance = live.balance;
            card.book = live.book;
            card.version = live.version;
        }
        if let Some(bundle) = records.program(card.program_id).await? {
            views.push(CardView::new(&card, &bundle));
        }
    }
    Ok(HttpResponse::Ok().json(views))
}
