use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use stampede_actors::{CardReply, CardRequest, EntryMeta};
use stampede_domain::access::{Permission, staff_may};
use stampede_domain::card::{Command, MAX_ADJUSTMENT};
use stampede_domain::ids::{CardId, StoreId};
use stampede_domain::text::Note;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::admin::audit_event;
use crate::api::input::Fields;
use crate::api::json::Json;
use crate::api::pos::{Committed, idempotency_for, render_transaction, reply};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    /// The store the adjustment is booked at (you must manage it).
    pub store_id: Uuid,
    /// Signed change of the balance; never below zero.
    pub delta: i64,
    /// Why: required, kept in the ledger and the audit log.
    pub reason: String,
}

/// A manual adjustment by a store manager (or above). Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/cards/{card_id}/adjustments", tag = "pos", request_body = AdjustRequest,
    params(("card_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per operation", pattern = "^[!-~]{1,255}$")), security(("bearer" = [])), responses(
    (status = 201, body = Committed),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn adjust(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<AdjustRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // The key first: a request without one is malformed, whatever its body.
    let idem = idempotency_for(&req, format!("s:{}", auth.staff.id), &state, &body)?;
    let mut fields = Fields::default();
    let reason = Note::parse(&body.reason).map_err(|e| fields.push("reason", e.to_string())).ok();
    // `unsigned_abs`: `i64::MIN.abs()` wraps to itself and would pass.
    if body.delta == 0 || body.delta.unsigned_abs() > MAX_ADJUSTMENT.unsigned_abs() {
        fields.push("delta", format!("must be non-zero and at most {MAX_ADJUSTMENT} either way"));
    }
    fields.finish()?;
    let reason = reason.ok_or_else(|| ApiError::field("reason", "required"))?;
    let records = state.records.view().await;
    let store = records
        .store(StoreId(body.store_id))
        .await?
        .filter(|s| staff_may(&auth.staff.memberships, Permission::ManageStore, &s.place()))
        .ok_or_else(ApiError::not_found)?;
    if !records.in_service(&store).await? {
        return Err(ApiError::not_found());
    }
    let card = state
        .directory
        .by_id(CardId(path.into_inner()))
        .await?
        .filter(|c| c.business_id == store.business_id)
        .ok_or_else(ApiError::not_found)?;
    let bundle = records.program(card.program_id).await?.ok_or_else(ApiError::not_found)?;
    let now = stampede_domain::ledger::now();
    let request = CardRequest {
        card_id: card.id,
        program: bundle.context(false),
        command: Command::Adjust { delta: body.delta, at: now },
        meta: EntryMeta {
            store_id: Some(store.id),
            staff_id: Some(auth.staff.id.0),
            metadata: serde_json::json!({ "reason": reason.as_str() }),
            ..Default::default()
        },
        idempotency: Some(idem),
        render: render_transaction,
        at: now,
        card_hint: None,
    };
    let result = state.engine.execute(request).await;
    if let Ok(CardReply::Done { replayed: false, body: ref b, .. }) = result {
        let after: serde_json::Value = serde_json::from_slice(b).unwrap_or_default();
        // The adjustment's own record (who, where, why) is its ledger entry,
        // committed with the balance; the log's copy is staged right after.
        let event = audit_event(
            &auth.staff,
            Some(store.business_id),
            "card.adjust",
            Some(card.id.0),
            None::<&()>,
            Some(&after),
        );
        crate::audit::record(&state, &event).await;
    }
    reply(result)
}
