//! `/v1/pos/…`: what terminals and cashiers call at the counter. Every write
//! needs an `Idempotency-Key` (≤ 255 characters): a retry with the same key gets
//! the first answer (also after a restart, for `runtime.idempotency_ttl_hours`);
//! the same key with a different request is refused (422); while the first is in
//! flight, a retry waits for its answer. Answers come only after the effect is
//! durable. Refusals (caps, balance, stock, …) are 422 problems with a stable
//! code and change nothing.

pub mod cancel;
pub mod customers;
pub mod enroll;
pub mod lookup;
pub mod points;
pub mod redeem;
pub mod session;
pub mod stamps;

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use stampede_actors::{CardReply, CardRequest, EntryMeta, IdempotencyInput, RuntimeError};
use stampede_domain::access::{Permission, staff_may};
use stampede_domain::business::Store;
use stampede_domain::card::{AtStore, Card, Command};
use stampede_domain::ids::StoreId;
use stampede_domain::ledger::LedgerEntry;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::observe::RequestId;
use crate::api::problem::{ApiError, Code};
use crate::auth::principal::{PosActor, PosAuth};
use crate::cached::ProgramBundle;
use crate::directory::{CardFacts, Resolved};
use crate::state::AppState;

/// The store, if the POS actor may operate there: a terminal only at its own
/// store, staff with a cashier-or-higher role covering it; and only while the
/// store, its brand and its business are active. Else not found.
pub async fn operated_store(auth: &PosAuth, store_id: Uuid) -> Result<Arc<Store>, ApiError> {
    let store = auth.view.store(StoreId(store_id)).await?.ok_or_else(ApiError::not_found)?;
    let allowed = match &auth.actor {
        PosActor::Terminal(t) => t.store_id == store.id,
        PosActor::Staff(s) => staff_may(&s.memberships, Permission::OperatePos, &store.place()),
    };
    if !allowed || !auth.view.in_service(&store).await? {
        return Err(ApiError::not_found());
    }
    Ok(store)
}

/// Everything a POS write needs, resolved and authorized.
pub struct PosTarget {
    pub store: Arc<Store>,
    pub card: CardFacts,
    pub bundle: Arc<ProgramBundle>,
    /// The card as read just now, if the directory had to read it.
    pub fresh: Option<Box<Card>>,
}

/// Resolve the store and the card, check the card belongs to the store's
/// business and its program runs at this store.
pub async fn target(state: &AppState, auth: &PosAuth, store_id: Uuid, card: &CardRef) -> Result<PosTarget, ApiError> {
    let store = operated_store(auth, store_id).await?;
    let found = match card.key()? {
        CardKey::Id(id) => state.directory.resolve_id(id).await?,
        CardKey::Code(code) => state.directory.resolve_code(code).await?,
    };
    let Resolved { facts, fresh } = found
        .filter(|c| c.facts.business_id == store.business_id)
        .ok_or_else(|| ApiError::new(Code::NotFound).detail("no such card at this business"))?;
    let bundle = auth.view.program(facts.program_id).await?.ok_or_else(ApiError::not_found)?;
    if !bundle.program.is_active {
        return Err(ApiError::refused("program_inactive", "the program is not active"));
    }
    if !bundle.program.availability.includes(&store.place()) {
        return Err(ApiError::refused("not_available_here", "the program does not run at this store"));
    }
    Ok(PosTarget { store, card: facts, bundle, fresh })
}

pub use stampede_domain::input::plausible_code;
use stampede_domain::input::pos::CardKey;
pub use stampede_domain::input::pos::CardRef;

/// The `Idempotency-Key` of a write: required, 1 to 255 visible characters.
pub fn idempotency(
    req: &HttpRequest,
    auth: &PosAuth,
    state: &AppState,
    body: &impl Serialize,
) -> Result<IdempotencyInput, ApiError> {
    let scope = match &auth.actor {
        PosActor::Terminal(t) => format!("t:{}", t.id),
        PosActor::Staff(s) => format!("s:{}", s.id),
    };
    idempotency_for(req, scope, state, body)
}

/// The `Idempotency-Key` of any write whose key belongs to `scope` (a terminal
/// `t:<id>` or a staff account `s:<id>`), with the request's fingerprint.
pub fn idempotency_for(
    req: &HttpRequest,
    scope: String,
    state: &AppState,
    body: &impl Serialize,
) -> Result<IdempotencyInput, ApiError> {
    let raw = req
        .headers()
        .get("idempotency-key")
        .ok_or_else(|| ApiError::new(Code::BadRequest).detail("send an Idempotency-Key header with every POS write"))?;
    let key = stampede_domain::input::idempotency_key(raw.as_bytes())
        .ok_or_else(|| {
            ApiError::new(Code::BadRequest).detail("Idempotency-Key must be 1 to 255 visible ASCII characters")
        })?
        .to_owned();
    let mut material = Vec::new();
    material.extend_from_slice(req.method().as_str().as_bytes());
    material.push(0);
    material.extend_from_slice(req.path().as_bytes());
    material.push(0);
    material.extend_from_slice(&serde_json::to_vec(body).unwrap_or_default());
    Ok(IdempotencyInput {
        scope,
        key,
        fingerprint: crate::auth::secret::sha256(&material),
        ttl: state.pos.idempotency_ttl,
    })
}

/// The view of a committed transaction: the body of POS answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    pub id: Uuid,
    pub card_id: Uuid,
    /// STAMP_ISSUANCE, POINTS_ADDITION, REWARD_REDEMPTION, CANCELLATION, ADJUSTMENT, EXPIRY.
    pub kind: String,
    /// Signed change of the balance.
    pub delta: i64,
    pub balance_after: i64,
    /// `stamps` or `points`.
    pub counts: &'static str,
    pub program_id: Uuid,
    pub program_version: i64,
    pub store_id: Option<Uuid>,
    pub reward_id: Option<Uuid>,
    pub reverses_id: Option<Uuid>,
    pub campaigns: Vec<Uuid>,
    /// Less was given than asked because of a daily cap.
    pub capped: bool,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&LedgerEntry> for TransactionView {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id,
            card_id: e.card_id.0,
            kind: e.kind.as_str().to_owned(),
            delta: e.delta,
            balance_after: e.balance_after,
            counts: if e.points { "points" } else { "stamps" },
            program_id: e.program_id,
            program_version: e.program_version,
            store_id: e.store_id.map(|s| s.0),
            reward_id: e.reward_id,
            reverses_id: e.reverses_id,
            campaigns: e.campaigns.clone(),
            capped: e.metadata.get("capped").and_then(|v| v.as_bool()).unwrap_or(false),
            amount_minor: e.amount_minor,
            currency: e.currency.clone(),
            created_at: e.created_at,
        }
    }
}

impl TransactionView {
    /// A transaction as the history store keeps it (DynamoDB in the AWS shape):
    /// campaign, cap and purchase details stay in the ledger and are not here.
    pub fn from_message(m: &stampede_domain::ledger::TransactionMessage, points: bool) -> Self {
        Self {
            id: m.transaction_id,
            card_id: m.card_id.0,
            kind: m.transaction_type.as_str().to_owned(),
            delta: m.amount,
            balance_after: m.balance_after,
            counts: if points { "points" } else { "stamps" },
            program_id: m.program_id,
            program_version: m.program_version,
            store_id: m.store_id.map(|s| s.0),
            reward_id: m.reward_id,
            reverses_id: m.reverses_id,
            campaigns: Vec::new(),
            capped: false,
            amount_minor: None,
            currency: None,
            created_at: m.timestamp,
        }
    }
}

/// The body of a POS write's answer.
/// What a committed POS write (and an adjustment) answers, and answers again
/// to a retry with the same `Idempotency-Key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Committed {
    pub transaction: TransactionView,
}

/// The answer stored with a committed operation: serialised once, straight
/// from the view (no JSON tree in between).
pub fn render_transaction(e: &LedgerEntry) -> (u16, Vec<u8>) {
    (201, serde_json::to_vec(&Committed { transaction: TransactionView::from(e) }).unwrap_or_default())
}

/// Run a command through the engine and turn the reply into HTTP.
pub async fn run(
    state: &AppState,
    req: &HttpRequest,
    auth: &PosAuth,
    t: PosTarget,
    command: impl FnOnce(AtStore) -> Command,
    meta: EntryMeta,
    idempotency: Option<IdempotencyInput>,
) -> Result<HttpResponse, ApiError> {
    let now = stampede_domain::ledger::now();
    let at = AtStore { place: t.store.place(), tz: t.store.tz(), at: now };
    let mut meta = meta;
    meta.store_id = Some(t.store.id);
    match &auth.actor {
        PosActor::Terminal(term) => meta.terminal_id = Some(term.id),
        PosActor::Staff(s) => meta.staff_id = Some(s.id.0),
    }
    meta.request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let program = t.bundle.context(true);
    let request = CardRequest {
        card_id: t.card.id,
        program,
        command: command(at),
        meta,
        idempotency,
        render: render_transaction,
        at: now,
        card_hint: t.fresh,
    };
    reply(state.engine.execute(request).await)
}

pub fn reply(result: Result<CardReply, RuntimeError>) -> Result<HttpResponse, ApiError> {
    match result {
        Ok(CardReply::Done { status, body, replayed }) => {
            let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
            let mut res = HttpResponse::build(status);
            res.content_type("application/json");
            if replayed {
                res.insert_header(("idempotent-replayed", "true"));
            }
            Ok(res.body(body))
        }
        Ok(CardReply::Refused(r)) => Err(ApiError::refused(r.code(), &r.to_string())),
        Err(RuntimeError::NotFound) => Err(ApiError::not_found()),
        Err(RuntimeError::Overloaded) => {
            Err(ApiError::new(Code::Unavailable).detail("the card runtime is busy; retry shortly").retry_after(1))
        }
        Err(RuntimeError::Unavailable) => Err(ApiError::new(Code::Unavailable)
            .detail("the operation was not recorded; retry with the same Idempotency-Key")
            .retry_after(1)),
        Err(RuntimeError::Conflict) => Err(ApiError::new(Code::Conflict)
            .detail("the card changed concurrently; retry with the same Idempotency-Key")
            .retry_after(1)),
        Err(RuntimeError::KeyReused) => {
            Err(ApiError::refused("idempotency_key_reused", "this Idempotency-Key was used for a different request"))
        }
        Err(RuntimeError::Rejected) => Err(ApiError::refused(
            "not_recordable",
            "the operation cannot be recorded and was not applied; retrying it will not help",
        )),
    }
}
