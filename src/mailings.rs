//! The mailing relay: puts each queued recipient of a marketing mailing on
//! the email queue, then marks it published. A mailing's audience is fixed
//! in the commit that creates it (`MailingRepo::create_mailing`); from there
//! this relay carries it to the email worker, who checks consent again and
//! sends. A crash between publishing and marking publishes the same
//! messages again on the next pass, with the same ids, and the email worker
//! sends each id once.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use stampede_domain::ids::{BusinessId, CustomerId};
use stampede_domain::marketing::QueuedRecipient;
use stampede_domain::messages::EmailMessage;
use stampede_domain::ports::{Queue, QueueMessage, Store, StoreError};
use stampede_workers::email::Template;
use uuid::Uuid;

/// Recipients taken per pass.
const BATCH: i64 = 500;

/// Relay queued recipients every `every` until none is left, then wait for
/// the next tick; a failure waits for the next tick too.
pub async fn relay(store: Arc<dyn Store>, queue: Arc<dyn Queue>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match pass(store.as_ref(), queue.as_ref()).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "mailing relay: will retry");
                    break;
                }
            }
        }
    }
}

/// One batch: publish, then mark. Returns how many recipients it carried.
pub async fn pass(store: &dyn Store, queue: &dyn Queue) -> Result<usize, StoreError> {
    let recipients = store.queued_recipients(BATCH).await?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let mut names: HashMap<BusinessId, String> = HashMap::new();
    let mut messages = Vec::with_capacity(recipients.len());
    for r in &recipients {
        if let Entry::Vacant(slot) = names.entry(r.business_id) {
            slot.insert(store.get_business(r.business_id).await?.map(|b| b.name.to_string()).unwrap_or_default());
        }
        messages.push(message(r, names.get(&r.business_id).map_or("", String::as_str))?);
    }
    queue.publish("email", &messages).await?;
    let mut by_mailing: BTreeMap<Uuid, Vec<CustomerId>> = BTreeMap::new();
    for r in &recipients {
        by_mailing.entry(r.mailing_id).or_default().push(r.customer_id);
    }
    for (mailing, customers) in by_mailing {
        store.recipients_published(mailing, &customers).await?;
    }
    Ok(recipients.len())
}

fn message(r: &QueuedRecipient, business: &str) -> Result<QueueMessage, StoreError> {
    let email = EmailMessage {
        schema_version: EmailMessage::SCHEMA_VERSION,
        event_id: r.event_id(),
        template: Template::Marketing.name().to_owned(),
        customer_id: Some(r.customer_id),
        to: None,
        business_id: Some(r.business_id),
        values: BTreeMap::from([
            ("subject".to_owned(), r.subject.clone()),
            ("body".to_owned(), r.body.clone()),
            ("business".to_owned(), business.to_owned()),
        ]),
        request_id: None,
        mailing_id: Some(r.mailing_id),
    };
    Ok(QueueMessage {
        id: email.event_id,
        message_type: EmailMessage::MESSAGE_TYPE.into(),
        schema_version: EmailMessage::SCHEMA_VERSION,
        request_id: None,
        body: serde_json::to_string(&email).map_err(|e| StoreError::Other(e.to_string()))?,
    })
}
