use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{optional_text, visible, website};
use crate::api::admin::{audit_event, audited, etag, if_match};
use crate::api::input::{Fields, double_option};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Code, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;
use stampede_domain::staff::Role;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBusiness {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub tax_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    /// `false` deactivates the business.
    pub is_active: Option<bool>,
    /// Owners and admins must sign in with a second factor (owners only may
    /// change it; turning it on needs the caller's own to be on).
    pub require_mfa: Option<bool>,
}

/// Change a business (owner, admin). Requires `If-Match` with its ETag.
#[utoipa::path(patch, path = "/v1/businesses/{business_id}", tag = "businesses", request_body = UpdateBusiness,
    params(("business_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The updated business", body = stampede_domain::business::Business),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_business(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<UpdateBusiness>,
) -> Result<HttpResponse, ApiError> {
    let before = visible(&state, &auth, path.into_inner(), true).await?;
    let expected = if_match(&req, before.version)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let mut next = before.clone();
    if let Some(n) = body.name.as_deref().and_then(|n| f.name("name", n)) {
        next.name = n.as_str().to_owned();
    }
    if let Some(d) = body.description {
        next.description = optional_text(&mut f, "description", d, 2000);
    }
    if let Some(t) = body.tax_id {
        next.tax_id = optional_text(&mut f, "tax_id", t, 50);
    }
    if let Some(w) = body.website {
        next.website = website(&mut f, w);
    }
    if let Some(a) = body.is_active {
        next.is_active = a;
    }
    f.finish()?;
    if let Some(r) = body.require_mfa.filter(|r| *r != before.require_mfa) {
        may_require_mfa(&state, &auth, before.id, r).await?;
        next.require_mfa = r;
    }
    let event =
        audit_event(&auth.staff, Some(before.id), "business.update", Some(before.id.0), Some(&before), None::<&()>);
    let saved = state.store.save_business(&next, expected, Some(&event)).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Business, saved.id.0).await;
    audited(&state, &event.written(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}

/// Only an owner sets the rule, and only one who follows it already: a
/// business cannot lock its owner out of the console.
async fn may_require_mfa(
    state: &AppState,
    auth: &StaffAuth,
    business: stampede_domain::ids::BusinessId,
    on: bool,
) -> Result<(), ApiError> {
    let owner = auth.staff.memberships.iter().any(|m| m.business_id == business && m.role == Role::Owner);
    if !owner {
        return Err(ApiError::new(Code::Forbidden).detail("only an owner may change `require_mfa`"));
    }
    if on && !state.store.get_mfa(auth.staff.id.0).await?.is_some_and(|f| f.is_on()) {
        return Err(
            ApiError::new(Code::Conflict).detail("turn on your own two-step sign-in first (POST /v1/auth/mfa/totp)")
        );
    }
    Ok(())
}
