//! The security and admin log. Every event is staged in the system of record
//! first (with the change it records where the store offers that, else right
//! after it), then handed to the audit store (the `audit_events` table, or
//! DynamoDB's Audit table in the AWS shape) and forgotten. What the audit
//! store refuses stays staged and [`relay`] hands it over again until it is
//! taken: an outage of the audit store delays the log, it does not lose from
//! it. The audit store keeps one event per id, so a hand-over repeated after
//! a crash writes nothing twice.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use stampede_domain::identity::AuditEvent;
use stampede_domain::ids::{BusinessId, CustomerId, StaffId};
use stampede_domain::ports::{AuditRepo, Store, StoreError};
use uuid::Uuid;

use crate::state::AppState;

/// Who did it.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Staff(StaffId),
    Customer(CustomerId),
    Terminal(Uuid),
    /// Someone not (yet) known: a failed sign-in, say.
    Anonymous,
}

impl Actor {
    fn parts(self) -> (&'static str, Option<Uuid>) {
        match self {
            Actor::Staff(id) => ("staff", Some(id.0)),
            Actor::Customer(id) => ("customer", Some(id.0)),
            Actor::Terminal(id) => ("terminal", Some(id)),
            Actor::Anonymous => ("anonymous", None),
        }
    }
}

/// What happened, to what, before and after. `action` is `resource.verb`
/// (`store.update`, `invitation.revoke`); its first part names the resource.
pub struct Change<'a, B: Serialize, A: Serialize> {
    pub business_id: Option<BusinessId>,
    pub action: &'a str,
    pub resource_id: Option<Uuid>,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

/// The event recording `change` by `actor`, now.
pub fn event<B: Serialize, A: Serialize>(actor: Actor, change: Change<'_, B, A>) -> AuditEvent {
    let (actor_kind, actor_id) = actor.parts();
    AuditEvent {
        id: Uuid::now_v7(),
        at: chrono::Utc::now(),
        business_id: change.business_id,
        actor_kind: actor_kind.into(),
        actor_id,
        action: change.action.to_owned(),
        resource_type: change.action.split('.').next().unwrap_or(change.action).to_owned(),
        resource_id: change.resource_id,
        before: change.before.and_then(|b| serde_json::to_value(b).ok()),
        after: change.after.and_then(|a| serde_json::to_value(a).ok()),
    }
}

/// Stage `event` and hand it to the audit store. Neither failure fails the
/// caller: the change it records is committed already. A failed stage is
/// logged (the system of record refused a write a moment after taking one);
/// a failed hand-over is left to [`relay`].
pub async fn record(state: &AppState, event: &AuditEvent) {
    if let Err(e) = state.store.stage_audit(event).await {
        tracing::error!(error = %e, action = %event.action, "staging an audit event failed");
        return;
    }
    hand_over(state, event).await;
}

/// Hand an event already staged (by the store, with its change) to the
/// audit store now, rather than on the relay's next pass.
pub async fn hand_over(state: &AppState, event: &AuditEvent) {
    if let Err(e) = deliver(state.store.as_ref(), state.audit.as_ref(), std::slice::from_ref(event)).await {
        tracing::warn!(error = %e, action = %event.action, "audit store refused an event; the relay will retry");
    }
}

async fn deliver(store: &dyn Store, audit: &dyn AuditRepo, events: &[AuditEvent]) -> Result<(), StoreError> {
    for e in events {
        audit.record_audit(e).await?;
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    store.audit_delivered(&ids).await
}

/// Hand staged events to the audit store every `every`, oldest first, until
/// it takes them.
pub async fn relay(store: Arc<dyn Store>, audit: Arc<dyn AuditRepo>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            let staged = match store.staged_audit(100).await {
                Ok(s) if s.is_empty() => break,
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "audit relay: cannot read staged events");
                    break;
                }
            };
            if let Err(e) = deliver(store.as_ref(), audit.as_ref(), &staged).await {
                tracing::warn!(error = %e, staged = staged.len(), "audit relay: the audit store refused; will retry");
                break;
            }
        }
    }
}

/// A security event about an account: a sign-in, a failed one, a replayed
/// refresh token, a password change or reset. `action` is `staff.…` or
/// `customer.…`; `by` is the account itself when it proved who it is,
/// [`Actor::Anonymous`] when someone failed to. A staff account's event is
/// recorded once for each business it works for, so each business's owners
/// read it in their log; a customer's is kept for the platform (no business).
pub async fn security(
    state: &AppState,
    by: Actor,
    account: Uuid,
    businesses: &[BusinessId],
    action: &str,
    detail: serde_json::Value,
) {
    let mut targets: Vec<Option<BusinessId>> = businesses.iter().copied().map(Some).collect();
    if targets.is_empty() {
        targets.push(None);
    }
    for business_id in targets {
        let change =
            Change { business_id, action, resource_id: Some(account), before: None::<&()>, after: Some(&detail) };
        record(state, &event(by, change)).await;
    }
}

/// The businesses a staff account works for, each once.
pub fn businesses_of(staff: &stampede_domain::staff::Staff) -> Vec<BusinessId> {
    let mut ids: Vec<BusinessId> = staff.memberships.iter().map(|m| m.business_id).collect();
    ids.sort_by_key(|b| b.0);
    ids.dedup();
    ids
}
