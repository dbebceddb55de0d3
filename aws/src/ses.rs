//! The mail port over SES v2: the message is rendered by Stampede (the same
//! templates as the embedded `.eml` files) and sent as simple content with a
//! text and an HTML part from a configured, verified sender. SES templates are
//! not used: the repository's templates are the only copy.
//!
//! SES itself does not de-duplicate; the message id travels as the
//! `X-Stampede-Message-Id` header and an email tag, and callers that must not
//! send twice (the email worker) record what they sent.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, MessageHeader, MessageTag};
use stampede_domain::ports::{Mailer, OutgoingMail, StoreError, StoreResult};

use crate::sdk_error;

pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn from_conf(conf: &aws_config::SdkConfig, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self::new(Client::new(conf), from, configuration_set)
    }

    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self { client, from: from.into(), configuration_set }
    }
}

fn content(data: &str) -> StoreResult<Content> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| StoreError::Other(format!("ses content: {e}")))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> StoreResult<()> {
        let header = MessageHeader::builder()
            .name("X-Stampede-Message-Id")
            .value(mail.message_id.to_string())
            .build()
            .map_err(|e| StoreError::Other(format!("ses header: {e}")))?;
        let message = aws_sdk_sesv2::types::Message::builder()
            .subject(content(&mail.subject)?)
            .body(Body::builder().text(content(&mail.text)?).html(content(&mail.html)?).build())
            .headers(header)
            .build();
        let tag = MessageTag::builder()
            .name("message_id")
            .value(mail.message_id.simple().to_string())
            .build()
            .map_err(|e| StoreError::Other(format!("ses tag: {e}")))?;
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| sdk_error("ses send", e))?;
        Ok(())
    }
}
