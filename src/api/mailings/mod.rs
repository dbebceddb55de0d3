//! `/v1/businesses/{business_id}/mailings`: marketing mail from a business
//! to the members of one of its programs who consent to hear from it (owner,
//! admin). Preview the audience's size, send (the audience is fixed then and
//! relayed to the email queue by `crate::mailings`), and follow progress.
//! Every mail carries its unsubscribe link (`/v1/unsubscribe`).

pub mod audience;
pub mod create;
pub mod list;

use stampede_domain::business::Business;
use stampede_domain::marketing::Audience;
use uuid::Uuid;

use super::input::Fields;
use super::problem::ApiError;
use crate::state::AppState;

/// The audience, checked: its numbers in range and its program the business's own.
pub async fn checked_audience(
    state: &AppState,
    f: &mut Fields,
    business: &Business,
    audience: Audience,
) -> Result<Audience, ApiError> {
    if let Err((field, e)) = audience.check() {
        f.push(field, e.to_string());
    }
    let program = state.records.view().await.program(audience.program_id).await?;
    if program.is_none_or(|p| p.program.business_id != business.id) {
        f.push("program_id", "is not a program of this business");
    }
    Ok(audience)
}

/// Query-string form of an audience (the preview).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AudienceParams {
    pub program_id: Uuid,
    /// Only cards used within this many days.
    #[param(minimum = 1, maximum = 3650)]
    pub active_within_days: Option<u32>,
    /// Only cards not used for this many days (not with `active_within_days`).
    #[param(minimum = 1, maximum = 3650)]
    pub inactive_for_days: Option<u32>,
}

impl From<AudienceParams> for Audience {
    fn from(p: AudienceParams) -> Self {
        Audience {
            program_id: p.program_id,
            active_within_days: p.active_within_days,
            inactive_for_days: p.inactive_for_days,
        }
    }
}
