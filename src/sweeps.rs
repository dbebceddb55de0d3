//! Background sweeps: expiry (through the same engine and path as POS traffic,
//! so expiry and sales never race), purging idempotency records past their
//! time, and deleting customer uploads past their retention.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use stampede_actors::{CardEngine, CardReply, CardRequest, EntryMeta};
use stampede_domain::card::Command;
use stampede_domain::ports::{ObjectStore, Store};

use crate::api::pos::render_transaction;
use crate::cached::Records;

/// Expire what is due on up to `limit` cards. Returns how many expired something.
pub async fn expire_due(store: &dyn Store, records: &Arc<Records>, engine: &dyn CardEngine, limit: i64) -> usize {
    let now = stampede_domain::ledger::now();
    let Ok(due) = store.cards_due_for_expiry(now, limit).await else { return 0 };
    let mut expired = 0;
    for card_id in due {
        let Ok(Some(card)) = store.get_card(card_id).await else { continue };
        let Ok(Some(bundle)) = records.view().await.program(card.program_id).await else { continue };
        let program = bundle.context(false);
        let request = CardRequest {
            card_id,
            program,
            command: Command::Expire { at: now },
            meta: EntryMeta { metadata: serde_json::json!({"by": "expiry_sweep"}), ..Default::default() },
            idempotency: None,
            render: render_transaction,
            at: now,
            card_hint: Some(Box::new(card)),
        };
        if let Ok(CardReply::Done { .. }) = engine.execute(request).await {
            expired += 1;
        }
    }
    expired
}

/// Delete customer uploads written `keep` or longer before `now`. Returns how
/// many were deleted.
pub async fn expire_uploads(objects: &dyn ObjectStore, now: chrono::DateTime<Utc>, keep: chrono::Duration) -> usize {
    let all = match objects.list("private/customers/").await {
        Ok(all) => all,
        Err(e) => {
            tracing::warn!(error = %e, "upload retention: cannot list uploads");
            return 0;
        }
    };
    let mut deleted = 0;
    for o in all.iter().filter(|o| o.key.contains("/uploads/") && o.modified + keep <= now) {
        match objects.delete(&o.key).await {
            Ok(()) => deleted += 1,
            Err(e) => tracing::warn!(error = %e, key = o.key, "upload retention: cannot delete"),
        }
    }
    deleted
}

/// Upload retention, hourly.
pub fn spawn_upload_retention(objects: Arc<dyn ObjectStore>, keep: chrono::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let n = expire_uploads(objects.as_ref(), Utc::now(), keep).await;
            if n > 0 {
                tracing::info!(uploads = n, "deleted uploads past their retention");
            }
        }
    });
}

pub fn spawn(store: Arc<dyn Store>, records: Arc<Records>, engine: Arc<dyn CardEngine>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let n = expire_due(store.as_ref(), &records, engine.as_ref(), 1000).await;
            if n > 0 {
                tracing::info!(cards = n, "expiry sweep");
            }
            if let Ok(purged) = store.purge_idempotency(Utc::now()).await
                && purged > 0
            {
                tracing::info!(records = purged, "purged expired idempotency records");
            }
        }
    });
}
