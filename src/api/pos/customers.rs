use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use stampede_domain::customer::Customer;
use stampede_domain::email::Email;
use stampede_domain::input::phone;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::lookup::{CardAtCounter, at_counter};
use super::{CardRef, operated_store};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::PosAuth;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// The customer's email address.
    pub email: Option<String>,
    /// The customer's phone number, in any layout (`+34 600 12 34 56`).
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CardsAtCounter {
    /// The cards the customer (or, by phone, each customer sharing the number)
    /// holds at this business in programs that run at this store.
    pub items: Vec<CardAtCounter>,
}

/// Find a customer's cards by their email or phone, for a customer without
/// their code at hand. Names no one: only cards, as a scanned code would. No
/// card here (or no such customer) is an empty list, and the counter can
/// offer to enroll them.
#[utoipa::path(get, path = "/v1/pos/stores/{store_id}/customers", tag = "pos",
    params(("store_id" = Uuid, Path), CustomerQuery), security(("bearer" = [])), responses(
    (status = 200, description = "The customer's cards here", body = CardsAtCounter),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn find_customer(
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<CustomerQuery>,
) -> Result<HttpResponse, ApiError> {
    let store_id = path.into_inner();
    let store = operated_store(&auth, store_id).await?;
    let customers = match query.into_inner() {
        CustomerQuery { email: Some(raw), phone: None } => {
            let email = Email::parse(&raw).map_err(|e| ApiError::field("email", e.to_string()))?;
            state.store.find_customer_by_email(&email).await?.into_iter().collect()
        }
        CustomerQuery { email: None, phone: Some(raw) } => {
            let number = phone::normalize(&raw).map_err(|e| ApiError::field("phone", e.to_string()))?;
            state.store.find_customers_by_phone(&number).await?
        }
        _ => return Err(ApiError::field("email", "give either email or phone")),
    };
    let mut items = Vec::new();
    for Customer { id, .. } in customers {
        for card in state.store.list_customer_cards(id).await? {
            if card.business_id != store.business_id {
                continue;
            }
            // A program that does not run here (or no longer runs) is left out.
            if let Ok(c) = at_counter(&state, &auth, store_id, &CardRef::by_id(card.id)).await {
                items.push(c);
            }
        }
    }
    Ok(HttpResponse::Ok().json(CardsAtCounter { items }))
}
