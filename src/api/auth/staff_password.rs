use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::audit::{self, Actor};
use crate::auth::principal::StaffAuthAnyState;
use crate::auth::tokens::{Pending, TokenPair};
use crate::auth::verify::PrincipalKind;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(min_length = 10)]
    pub new_password: String,
}

/// Change a staff member's password (required after a one-time password).
/// Signs out every other session and answers with fresh tokens.
#[utoipa::path(post, path = "/v1/auth/staff/password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = [])), responses(
    (status = 200, body = TokenPair),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json"),
))]
pub async fn change_password(
    auth: StaffAuthAnyState,
    state: web::Data<AppState>,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    // Each try checks the current password: bounded like a sign-in.
    let account = auth.staff.id.0.simple().to_string();
    crate::api::input::limit(&state, &state.limits.password_change_per_account, &account).await?;
    let body = body.into_inner();
    let mut f = Fields::default();
    if f.password("new_password", &body.new_password, state.policy.min_password_length)
        && body.new_password == body.current_password
    {
        f.push("new_password", "must differ from the current password");
    }
    f.finish()?;
    let hash = auth.staff.password_hash.clone().unwrap_or_else(|| state.dummy_hash.clone());
    if !state.passwords.verify(body.current_password, hash).await.map_err(ApiError::internal)? {
        return Err(ApiError::new(Code::Unauthorized).detail("the current password is wrong"));
    }
    let new_hash = state.passwords.hash(body.new_password).await.map_err(ApiError::internal)?;
    // Sessions first: with the session store down the change stops here,
    // before the password moved (revoking alone takes nothing from anyone
    // who still knows the password).
    state.sessions.revoke_all_sessions(auth.staff.id.0, Utc::now()).await?;
    state.store.set_staff_password(auth.staff.id, &new_hash).await?;
    let me = &auth.staff;
    let businesses = audit::businesses_of(me);
    audit::security(&state, Actor::Staff(me.id), me.id.0, &businesses, "staff.password_change", json!({})).await;
    let mfa_setup = auth.mfa_setup_required || super::mfa::staff_pending(&state, me).await?.mfa_setup;
    let pending = Pending { password_change: false, mfa_setup };
    let pair =
        state.issuer.start_session(state.sessions.as_ref(), PrincipalKind::Staff, auth.staff.id.0, pending).await?;
    Ok(HttpResponse::Ok().json(pair))
}
