//! The email handler (`email` queue): render the named template with the
//! message's values and send it through the mail port, at most once per event
//! id (the inbox), whatever the backend (SES does not de-duplicate).
//!
//! The recipient is looked up at send time: an erased customer gets nothing,
//! and marketing goes only to customers whose consent is on now, always with a
//! working unsubscribe link.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use stampede_domain::ids::{BusinessId, CustomerId};
use stampede_domain::messages::EmailMessage;
use stampede_domain::ports::{Begin, Mailer, OutgoingMail, Store};

use crate::email::{Template, render};
use crate::failure::Failure;

pub const CONSUMER: &str = "email";

/// Builds the link that withdraws a customer's marketing consent to a
/// business (signed by the API's keys).
pub type UnsubscribeLink = Arc<dyn Fn(CustomerId, BusinessId) -> Result<String, String> + Send + Sync>;

pub struct EmailWorker {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub unsubscribe_link: UnsubscribeLink,
    /// How long one attempt holds a message before another may take it over.
    pub lease: Duration,
}

/// What happened to a message, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Sent,
    /// Sent before (a redelivery).
    Duplicate,
    /// Deliberately not sent: no consent, erased customer, no address.
    Skipped(&'static str),
}

impl EmailWorker {
    pub async fn handle(&self, body: &str) -> Result<Sent, Failure> {
        let msg: EmailMessage =
            serde_json::from_str(body).map_err(|e| Failure::Permanent(format!("not an email message: {e}")))?;
        if msg.schema_version != EmailMessage::SCHEMA_VERSION {
            return Err(Failure::Permanent(format!("unknown schema version {}", msg.schema_version)));
        }
        let template = Template::from_name(&msg.template)
            .ok_or_else(|| Failure::Permanent(format!("unknown template {:?}", msg.template)))?;
        match self.store.begin_message(CONSUMER, msg.event_id, Utc::now(), self.lease).await? {
            Begin::Done => return Ok(Sent::Duplicate),
            Begin::Busy => return Err(Failure::Retryable("another attempt is sending this email".into())),
            Begin::Fresh => {}
        }
        let result = self.send(&msg, template).await;
        match &result {
            Ok(_) => self.store.finish_message(CONSUMER, msg.event_id, Utc::now()).await?,
            // Release the claim so a redelivery (or a redrive from the DLQ) can try again.
            Err(_) => self.store.abandon_message(CONSUMER, msg.event_id).await?,
        }
        if let Ok(outcome) = &result {
            self.count_for_mailing(&msg, outcome).await;
        }
        result
    }

    /// A mailing's progress. Recorded after the send is marked done, so a
    /// failure here can only leave a count behind, never send a mail twice.
    async fn count_for_mailing(&self, msg: &EmailMessage, outcome: &Sent) {
        let (Some(mailing), Some(customer)) = (msg.mailing_id, msg.customer_id) else { return };
        if let Err(e) = self.store.recipient_handled(mailing, customer, *outcome == Sent::Sent).await {
            tracing::warn!(error = %e, %mailing, "a mailing's progress was not recorded");
        }
    }

    async fn send(&self, msg: &EmailMessage, template: Template) -> Result<Sent, Failure> {
        let mut values: Vec<(String, String)> = msg.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let to = match msg.customer_id {
            Some(id) => {
                let Some(customer) = self.store.get_customer(id).await? else {
                    return Ok(Sent::Skipped("the customer is gone"));
                };
                if template == Template::Marketing {
                    let business = msg.business_id.ok_or_else(|| {
                        Failure::Permanent("marketing comes from a business: business_id is missing".into())
                    })?;
                    let consents = self.store.consents(id).await?;
                    if !consents.iter().any(|c| c.business_id == business && c.marketing) {
                        return Ok(Sent::Skipped("no marketing consent to this business"));
                    }
                    let link = (self.unsubscribe_link)(id, business).map_err(Failure::Permanent)?;
                    values.push(("unsubscribe_link".into(), link));
                }
                if !msg.values.contains_key("name") {
                    values.push(("name".into(), customer.name.clone()));
                }
                customer.email
            }
            None if template == Template::Marketing => {
                return Err(Failure::Permanent("marketing goes to customers only".into()));
            }
            None => match &msg.to {
                Some(to) => to.clone(),
                None => return Ok(Sent::Skipped("no recipient")),
            },
        };
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let rendered = render(template, &pairs).map_err(|e| Failure::Permanent(e.to_string()))?;
        let mail = OutgoingMail {
            to,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            message_id: msg.event_id,
        };
        self.mailer.send(&mail).await.map_err(|e| Failure::Retryable(e.to_string()))?;
        tracing::info!(event_id = %msg.event_id, template = %msg.template, "email sent");
        Ok(Sent::Sent)
    }
}
