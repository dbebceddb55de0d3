use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::cards::CardView;
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// A random counter code: 16 characters of Crockford base32 (80 bits), easy to
/// read out and to put in a QR code. It names the card, not the customer.
pub fn card_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    (0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The customer's answer to "may this business send you offers?", asked
    /// when they join; left out, an earlier answer stands (none: no).
    pub marketing_consent: Option<bool>,
}

/// Join a program: creates the customer's card, or answers the existing one
/// (201 the first time, 200 after). Marketing consent is given to the
/// program's business alone.
#[utoipa::path(post, path = "/v1/programs/{program_id}/join", tag = "programs", params(("program_id" = Uuid, Path)),
    request_body = JoinRequest, security(("bearer" = [])), responses(
    (status = 201, body = CardView), (status = 200, body = CardView),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn join_program(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<JoinRequest>,
) -> Result<HttpResponse, ApiError> {
    let records = state.records.view().await;
    let bundle =
        records.program(path.into_inner()).await?.filter(|b| b.program.is_active).ok_or_else(ApiError::not_found)?;
    let p = &bundle.program;
    // Nobody joins a deactivated business's programs.
    if !records.business(p.business_id).await?.is_some_and(|b| b.is_active) {
        return Err(ApiError::not_found());
    }
    if state.store.get_customer(auth.id).await?.is_none() {
        return Err(ApiError::not_found());
    }
    // A code collision (80 random bits) is all but impossible; retry once anyway.
    let joined = match state.store.join_program(p.id, p.business_id, auth.id, &card_code()).await {
        Err(stampede_domain::ports::StoreError::Conflict(_)) => {
            state.store.join_program(p.id, p.business_id, auth.id, &card_code()).await?
        }
        other => other?,
    };
    let (card, created) = joined;
    if let Some(marketing) = body.marketing_consent {
        state.store.set_marketing_consent(auth.id, p.business_id, marketing, chrono::Utc::now()).await?;
    }
    let view = CardView::new(&card, &bundle);
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}
