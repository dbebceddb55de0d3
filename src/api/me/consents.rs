use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use stampede_domain::ids::{BusinessId, CustomerId};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// The customer's answer to one business whose card they hold.
#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    pub business_id: Uuid,
    pub business_name: String,
    /// Marketing mail from this business, and their email, name and phone in
    /// its customer export. False until the customer says yes.
    pub marketing: bool,
    /// When they last answered; `null`: never asked.
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentList {
    pub items: Vec<ConsentView>,
}

/// One entry per business whose card the customer holds: what they agreed
/// to with it.
#[utoipa::path(get, path = "/v1/me/consents", tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = ConsentList),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_consents(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(ConsentList { items: consents(&state, auth.id, None).await? }))
}

/// The customer's consents to the businesses whose cards they hold (only
/// `only`, when given), by business id.
pub async fn consents(
    state: &AppState,
    customer: CustomerId,
    only: Option<BusinessId>,
) -> Result<Vec<ConsentView>, ApiError> {
    let mut businesses: Vec<BusinessId> =
        state.store.list_customer_cards(customer).await?.iter().map(|c| c.business_id).collect();
    businesses.sort_by_key(|b| b.0);
    businesses.dedup();
    businesses.retain(|b| only.is_none_or(|o| o == *b));
    let answered: BTreeMap<Uuid, _> =
        state.store.consents(customer).await?.into_iter().map(|c| (c.business_id.0, c)).collect();
    let records = state.records.view().await;
    let mut items = Vec::with_capacity(businesses.len());
    for b in businesses {
        let name = records.business(b).await?.map(|b| b.name.clone()).unwrap_or_default();
        let answer = answered.get(&b.0);
        items.push(ConsentView {
            business_id: b.0,
            business_name: name,
            marketing: answer.is_some_and(|c| c.marketing),
            updated_at: answer.map(|c| c.updated_at),
        });
    }
    Ok(items)
}
