use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::ports::ProfileChanges;
use utoipa::ToSchema;

use super::Profile;
use crate::api::input::{Fields, double_option};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    pub name: Option<String>,
    /// `null` removes the phone number.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9 +()./-]{3,32}$")]
    pub phone: Option<Option<String>>,
    /// An object of app preferences (language, notifications, …), at most 4 KiB.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub preferences: Option<serde_json::Value>,
}

/// Change the signed-in customer's profile. Fields left out stay as they are.
#[utoipa::path(patch, path = "/v1/me", tag = "me", request_body = UpdateProfile, security(("bearer" = [])), responses(
    (status = 200, body = Profile),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_me(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    body: Json<UpdateProfile>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = body.name.as_deref().and_then(|n| f.name("name", n)).map(|n| n.as_str().to_owned());
    // Kept as digits (and a leading +), so any layout of it finds the customer at the counter.
    let phone = match body.phone {
        Some(Some(raw)) => match stampede_domain::input::phone::normalize(&raw) {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                f.push("phone", e.to_string());
                None
            }
        },
        other => other,
    };
    if let Some(p) = &body.preferences {
        if !p.is_object() {
            f.push("preferences", "must be an object");
        } else if p.to_string().len() > 4096 {
            f.push("preferences", "must be at most 4 KiB");
        }
    }
    f.finish()?;
    let changes = ProfileChanges { name, phone, preferences: body.preferences };
    let customer = state.store.update_profile(auth.id, changes).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Profile::from(customer)))
}
