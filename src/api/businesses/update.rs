use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{optional_text, visible, website};
use crate::api::admin::{audit, etag, if_match};
use crate::api::input::{Fields, double_option};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::cached::Kind;
use crate::state::AppState;

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
}

/// Change a business (owner, admin). Requires `If-Match` with its ETag.
#[utoipa::path(patch, path = "/v1/businesses/{business_id}", tag = "businesses", request_body = UpdateBusiness,
    params(("business_id" = Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])), responses(
    (status = 200, description = "The updated business"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 412, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 428, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_business(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateBusiness>,
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
    let saved = state.store.save_business(&next, expected).await?.ok_or_else(ApiError::not_found)?;
    state.records.invalidate(Kind::Business, saved.id.0).await;
    audit(&state, &auth.staff, Some(saved.id), "business.update", Some(saved.id.0), Some(&before), Some(&saved)).await;
    Ok(HttpResponse::Ok().insert_header(etag(saved.version)).json(saved))
}
