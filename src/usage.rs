//! App usage for the analytics worker: sign-ins and card views, published to
//! the `analytics` queue off the request path. Best effort by design: a usage
//! event that cannot be queued is dropped (logged), never slowing or failing
//! the request it describes.

use std::sync::Arc;

use stampede_domain::ids::{BusinessId, CustomerId};
use stampede_domain::messages::UsageEvent;
use stampede_domain::ports::{Queue, QueueMessage};
use uuid::Uuid;

pub fn record(
    queue: &Arc<dyn Queue>,
    event: &'static str,
    business_id: Option<BusinessId>,
    customer_id: Option<CustomerId>,
) {
    let e = UsageEvent {
        schema_version: UsageEvent::SCHEMA_VERSION,
        event_id: Uuid::now_v7(),
        event: event.to_owned(),
        at: chrono::Utc::now(),
        business_id,
        customer_id,
    };
    let Ok(body) = serde_json::to_string(&e) else { return };
    let msg = QueueMessage {
        id: e.event_id,
        message_type: UsageEvent::MESSAGE_TYPE.into(),
        schema_version: UsageEvent::SCHEMA_VERSION,
        request_id: None,
        body,
    };
    let queue = Arc::clone(queue);
    tokio::spawn(async move {
        if let Err(err) = queue.publish("analytics", &[msg]).await {
            tracing::debug!(error = %err, event, "usage event dropped");
        }
    });
}
