use actix_web::{HttpResponse, web};
use stampede_domain::ports::ProfileChanges;

use super::{UnsubscribeToken, html_page};
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

/// Turn marketing consent off (the page's button, or RFC 8058 one-click).
#[utoipa::path(post, path = "/v1/unsubscribe", tag = "me",
    request_body(content = UnsubscribeToken, content_type = "application/x-www-form-urlencoded"), responses(
    (status = 200, description = "Unsubscribed", content_type = "text/html"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn confirm(state: web::Data<AppState>, form: web::Form<UnsubscribeToken>) -> Result<HttpResponse, ApiError> {
    let customer = state
        .link_key
        .verify(&form.token)
        .ok_or_else(|| ApiError::field("token", "is not a valid unsubscribe link"))?;
    // An erased customer has nothing left to unsubscribe: same answer.
    let changes = ProfileChanges { marketing_consent: Some(false), ..ProfileChanges::default() };
    state.store.update_profile(customer, changes).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html_page("Unsubscribed", "<p>You will get no more marketing email.</p>")))
}
