use actix_web::{HttpResponse, web};
use chrono::Utc;
use stampede_aws::cognito::{CognitoError, CognitoRefusal};

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Delete the signed-in customer's account: personal data, uploads and
/// data exports are erased at once, every session is signed out, and with
/// Cognito the pool account is deleted (first: if the pool cannot be reached,
/// nothing is erased and the answer is 503, try again). Cards and
/// transactions stay, pseudonymous (tied to an id that names no one), so the
/// stores' books still add up.
#[utoipa::path(delete, path = "/v1/me", tag = "me", security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_me(auth: CustomerAuth, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let customer = state.store.get_customer(auth.id).await?.ok_or_else(ApiError::not_found)?;
    if let Some(pools) = &state.cognito {
        match pools.customers.admin_delete(&customer.email).await {
            // Gone already: an earlier try got this far.
            Ok(()) | Err(CognitoError::Refused(CognitoRefusal::BadCredentials)) => {}
            Err(e) => return Err(crate::api::auth::cognito::refusal(e)),
        }
    }
    crate::api::uploads::delete_all(&state, auth.id).await?;
    state.store.remove_mfa(auth.id.0).await?;
    state.store.erase_customer(auth.id).await?;
    // After the erasure: an export finishing meanwhile finds the account
    // erased and deletes its own file (see the export worker).
    crate::api::exports::delete_customer_files(&state, auth.id).await?;
    state.records.invalidate(crate::cached::Kind::Customer, auth.id.0).await;
    state.sessions.revoke_all_sessions(auth.id.0, Utc::now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
