use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AudienceParams, checked_audience};
use crate::api::businesses::visible;
use crate::api::input::Fields;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct AudienceSize {
    /// Customers a mailing to this audience would go to now.
    pub recipients: i64,
}

/// How many a mailing would reach: the program's members with a verified
/// address who consent to the business, filtered by card activity.
#[utoipa::path(get, path = "/v1/businesses/{business_id}/mailings/audience", tag = "mailings",
    params(("business_id" = Uuid, Path), AudienceParams), security(("bearer" = [])), responses(
    (status = 200, description = "The audience's size", body = AudienceSize),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn audience_size(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    params: web::Query<AudienceParams>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), true).await?;
    let mut f = Fields::default();
    let audience = checked_audience(&state, &mut f, &business, params.into_inner().into()).await?;
    f.finish()?;
    let recipients = state.store.audience_size(business.id, &audience, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(AudienceSize { recipients }))
}
