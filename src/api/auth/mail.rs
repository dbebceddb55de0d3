//! Sending the identity emails: a one-time token is stored (hashed), its link
//! rendered into a template and handed to the mail port. A failed send is logged
//! and does not fail the request: the person can ask again.

use chrono::Utc;
use serde_json::Value;
use stampede_domain::identity::{NewOneTimeToken, TokenPurpose};
use stampede_domain::ports::OutgoingMail;
use stampede_workers::email::{Template, render};
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

pub async fn send(state: &AppState, to: &str, template: Template, values: &[(&str, &str)]) {
    let rendered = match render(template, values) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, ?template, "rendering an email failed");
            return;
        }
    };
    let mail = OutgoingMail {
        to: to.to_owned(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: Uuid::now_v7(),
    };
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, ?template, "sending an email failed");
    }
}
