//! Sending the identity emails: a one-time token is stored (hashed), and the
//! mail with its link is queued on the `email` queue, whose worker renders and
//! sends it (SES in the AWS shape, files in the embedded default), retrying
//! what fails. The request never waits on the mail service. A mail that
//! cannot be queued is logged and does not fail the request: the person can
//! ask again.

use chrono::Utc;
use serde_json::Value;
use stampede_domain::identity::{NewOneTimeToken, TokenPurpose};
use stampede_domain::messages::EmailMessage;
use stampede_domain::ports::QueueMessage;
use stampede_workers::email::Template;
use uuid::Uuid;

use crate::api::problem::ApiError;
use crate::auth::secret::{random_token, sha256};
use crate::state::AppState;

/// Store a one-time token and return the raw token for the link.
pub async fn one_time_token(
    state: &AppState,
    purpose: TokenPurpose,
    subject: Option<Uuid>,
    payload: Value,
    ttl: std::time::Duration,
) -> Result<String, ApiError> {
    let token = random_token();
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(24));
    state
        .sessions
        .insert_one_time_token(NewOneTimeToken {
            token_hash: sha256(token.as_bytes()),
            purpose,
            subject_id: subject,
            payload,
            expires_at,
        })
        .await?;
    Ok(token)
}

/// Store a verify-email token for `customer` and mail its link.
pub async fn send_verification(state: &AppState, customer: Uuid, to: &str, name: &str) -> Result<(), ApiError> {
    let token = one_time_token(
        state,
        TokenPurpose::VerifyEmail,
        Some(customer),
        serde_json::json!({}),
        state.policy.email_token_ttl,
    )
    .await?;
    let link = state.links.to("/verify-email", &token);
    send(state, to, Template::VerifyEmail, &[("name", name), ("link", &link)]).await;
    Ok(())
}

/// Queue `template` to `to` with `values` (the worker refuses a template
/// with a value missing, so a typo never reaches anyone).
pub async fn send(state: &AppState, to: &str, template: Template, values: &[(&str, &str)]) {
    let message = EmailMessage {
        schema_version: EmailMessage::SCHEMA_VERSION,
        event_id: Uuid::now_v7(),
        template: template.name().to_owned(),
        customer_id: None,
        to: Some(to.to_owned()),
        business_id: None,
        values: values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        request_id: None,
        mailing_id: None,
    };
    let body = match serde_json::to_string(&message) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, ?template, "encoding an email message failed");
            return;
        }
    };
    let queued = state
        .queue
        .publish(
            "email",
            &[QueueMessage {
                id: message.event_id,
                message_type: EmailMessage::MESSAGE_TYPE.into(),
                schema_version: EmailMessage::SCHEMA_VERSION,
                request_id: None,
                body,
            }],
        )
        .await;
    if let Err(e) = queued {
        tracing::error!(error = %e, ?template, "queueing an email failed");
    }
}
