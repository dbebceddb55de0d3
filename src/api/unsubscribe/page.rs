use actix_web::{HttpResponse, web};

use super::{UnsubscribeToken, html_page};
use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

/// The page behind the unsubscribe link: one button that confirms.
#[utoipa::path(get, path = "/v1/unsubscribe", tag = "me", params(UnsubscribeToken), responses(
    (status = 200, description = "A page with the confirm button", content_type = "text/html"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn page(state: web::Data<AppState>, query: web::Query<UnsubscribeToken>) -> Result<HttpResponse, ApiError> {
    if state.link_key.verify(&query.token).is_none() {
        return Err(ApiError::field("token", "is not a valid unsubscribe link"));
    }
    let token = stampede_workers::email::escape_html(&query.token);
    let body = format!(
        "<p>Stop marketing email from the businesses you collect stamps and points with? \
         Receipts and account email keep coming.</p>\
         <form method=\"post\" action=\"/v1/unsubscribe\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\">Unsubscribe</button></form>"
    );
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html_page("Unsubscribe", &body)))
}
