use actix_web::{HttpResponse, web};

use super::{UnsubscribeToken, html_page};
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

/// Withdraw the customer's marketing consent to the business the mail came
/// from (the page's button, or RFC 8058 one-click).
#[utoipa::path(post, path = "/v1/unsubscribe", tag = "me",
    request_body(content = UnsubscribeToken, content_type = "application/x-www-form-urlencoded"), responses(
    (status = 200, description = "Unsubscribed", content_type = "text/html"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm(state: web::Data<AppState>, form: web::Form<UnsubscribeToken>) -> Result<HttpResponse, ApiError> {
    let (customer, business) = state
        .link_key
        .verify(&form.token)
        .ok_or_else(|| ApiError::field("token", "is not a valid unsubscribe link"))?;
    // An erased customer has nothing left to unsubscribe: same answer.
    if !state.store.customer_erased(customer).await? {
        state.store.set_marketing_consent(customer, business, false, chrono::Utc::now()).await?;
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html_page("Unsubscribed", "<p>You will get no more marketing email.</p>")))
}
