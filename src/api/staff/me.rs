use actix_web::HttpResponse;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuthAnyState;

/// The signed-in staff member and their memberships (roles and scopes).
#[utoipa::path(get, path = "/v1/staff/me", tag = "staff", security(("bearer" = [])), responses(
    (status = 200, description = "The account and its memberships"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn staff_me(auth: StaffAuthAnyState) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "staff": auth.staff,
        "password_change_required": auth.must_change_password || auth.staff.must_change_password,
    })))
}
