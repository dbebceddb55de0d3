use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use stampede_domain::marketing::{Audience, NewMailing};
use stampede_domain::text::Prose;
use utoipa::ToSchema;
use uuid::Uuid;

use super::checked_audience;
use crate::api::admin::{audit_event, audited};
use crate::api::businesses::visible;
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMailing {
    pub program_id: Uuid,
    /// Only cards used within this many days.
    #[schema(minimum = 1, maximum = 3650)]
    pub active_within_days: Option<u32>,
    /// Only cards not used for this many days (not with `active_within_days`).
    #[schema(minimum = 1, maximum = 3650)]
    pub inactive_for_days: Option<u32>,
    /// One line, at most 200 characters.
    #[schema(max_length = 200)]
    pub subject: String,
    /// Plain text, lines kept, at most 5000 characters. The mail adds the
    /// greeting, the business's name and the unsubscribe link.
    #[schema(max_length = 5000)]
    pub body: String,
}

/// Send a mailing: its audience is fixed now, and each member gets the mail
/// moments later unless they withdraw consent first.
#[utoipa::path(post, path = "/v1/businesses/{business_id}/mailings", tag = "mailings", request_body = CreateMailing,
    params(("business_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 201, description = "The mailing, with its audience's size", body = stampede_domain::marketing::Mailing),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_mailing(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateMailing>,
) -> Result<HttpResponse, ApiError> {
    let business = visible(&state, &auth, path.into_inner(), true).await?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let subject = f.name("subject", &body.subject);
    let text = Prose::parse(&body.body).map_err(|e| f.push("body", e.to_string())).ok();
    let audience = Audience {
        program_id: body.program_id,
        active_within_days: body.active_within_days,
        inactive_for_days: body.inactive_for_days,
    };
    let audience = checked_audience(&state, &mut f, &business, audience).await?;
    f.finish()?;
    let (Some(subject), Some(body)) = (subject, text) else { return Err(ApiError::field("subject", "is invalid")) };
    let new = NewMailing {
        id: Uuid::now_v7(),
        business_id: business.id,
        audience,
        subject,
        body,
        created_by: auth.staff.id,
        created_at: Utc::now(),
    };
    let after = serde_json::json!({ "audience": audience, "subject": new.subject.as_str() });
    let event = audit_event(&auth.staff, Some(business.id), "mailing.create", Some(new.id), None::<&()>, Some(&after));
    let mailing = state.store.create_mailing(&new, &event).await?;
    audited(&state, &event).await;
    Ok(HttpResponse::Created().json(mailing))
}
