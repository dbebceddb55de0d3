use actix_web::{HttpRequest, HttpResponse, web};
use stampede_actors::EntryMeta;
use stampede_domain::access::{Permission, staff_may};
use stampede_domain::business::Store;
use stampede_domain::card::{Command, Original};
use stampede_domain::input::pos::CancelRequest;
use stampede_domain::ledger::LedgerEntry;
use uuid::Uuid;

use super::{CardRef, Committed, idempotency, operated_store, run, target};
use crate::api::json::Json;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::{PosActor, PosAuth};
use crate::state::AppState;

/// Cancel a transaction: reverses its effect (never below zero), within the
/// cancellation window, at the store where it was made, by the terminal that
/// made it or a manager of that store. Needs `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/pos/stores/{store_id}/transactions/{transaction_id}/cancel", tag = "pos",
    request_body = CancelRequest, params(("store_id" = Uuid, Path), ("transaction_id" = Uuid, Path),
    ("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per operation", pattern = "^[!-~]{1,255}$")), security(("bearer" = [])), responses(
    (status = 201, body = Committed),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json", description = "Refused: not_cancellable, cancel_window_passed, would_go_negative"),
))]
pub async fn cancel(
    req: HttpRequest,
    auth: PosAuth,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    let (store_id, txn_id) = path.into_inner();
    let body = body.into_inner();
    let reason = body.reason()?;
    let key = idempotency(&req, &auth, &state, &body)?;
    let store = operated_store(&auth, store_id).await?;
    let entry = state.store.get_entry(txn_id).await?.ok_or_else(ApiError::not_found)?;
    if !may_cancel(&auth, &store, &entry) {
        return Err(ApiError::not_found());
    }
    let t = target(&state, &auth, store_id, &CardRef::by_id(entry.card_id)).await?;
    let original = Original {
        id: entry.id,
        kind: entry.kind,
        reward_id: entry.reward_id,
        delta: entry.delta,
        created_at: entry.created_at,
        already_cancelled: state.store.is_cancelled(entry.id).await?,
    };
    let window = state.pos.cancel_window;
    let at = stampede_domain::ledger::now();
    let meta = EntryMeta { metadata: serde_json::json!({ "reason": reason }), ..Default::default() };
    run(&state, &req, &auth, t, move |_| Command::Cancel { original, window, at }, meta, Some(key)).await
}

/// A transaction is cancelled at the store where it was made (so no store's
/// staff reach another's ledger through their own), by the terminal that made
/// it or by staff who manage that store. Anything else looks absent.
fn may_cancel(auth: &PosAuth, store: &Store, entry: &LedgerEntry) -> bool {
    entry.business_id == store.business_id
        && entry.store_id == Some(store.id)
        && match &auth.actor {
            PosActor::Terminal(t) => entry.terminal_id == Some(t.id),
            PosActor::Staff(s) => staff_may(&s.memberships, Permission::ManageStore, &store.place()),
        }
}
