use actix_web::HttpResponse;
use serde::Serialize;
use stampede_domain::staff::Staff;
use utoipa::ToSchema;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuthAnyState;

/// A staff member as they see themselves.
#[derive(Serialize, ToSchema)]
pub struct StaffMe {
    pub staff: Staff,
    /// A new password must be chosen before anything else.
    pub password_change_required: bool,
}

/// The signed-in staff member and their memberships (roles and scopes).
#[utoipa::path(get, path = "/v1/staff/me", tag = "staff", security(("bearer" = [])), responses(
    (status = 200, description = "The account and its memberships", body = StaffMe),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn staff_me(auth: StaffAuthAnyState) -> Result<HttpResponse, ApiError> {
    let password_change_required = auth.must_change_password || auth.staff.must_change_password;
    Ok(HttpResponse::Ok().json(StaffMe { staff: auth.staff, password_change_required }))
}
