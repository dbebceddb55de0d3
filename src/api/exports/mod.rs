//! Exports: a business's transactions or consenting customers as CSV for a
//! date range (owners and admins), a customer's own data as JSON (GDPR). A
//! request answers 202 at once; the export worker produces the file into
//! private object storage and emails a download link valid for 24 hours. The
//! status endpoints show progress and, when done, the same kind of link.

pub mod business;
pub mod business_list;
pub mod business_status;
pub mod download;
pub mod mine;
pub mod my_status;

use serde::Serialize;
use stampede_domain::export::{Export, ExportMessage, ExportStatus};
use stampede_domain::ids::CustomerId;
use stampede_domain::ports::QueueMessage;
use utoipa::ToSchema;

use crate::api::problem::ApiError;
use crate::state::AppState;

/// How long a download link works.
pub const LINK_TTL_HOURS: i64 = 24;

#[derive(Serialize, ToSchema)]
pub struct ExportView {
    pub export: Export,
    /// When done: a link that works without signing in, for 24 hours.
    pub download_url: Option<String>,
}

pub fn download_url(state: &AppState, id: uuid::Uuid) -> String {
    let expires = chrono::Utc::now() + chrono::Duration::hours(LINK_TTL_HOURS);
    format!(
        "{}/v1/exports/{id}/download?token={}",
        state.links.public_url.trim_end_matches('/'),
        state.link_key.download_token(id, expires)
    )
}

pub fn view(state: &AppState, export: Export) -> ExportView {
    let download_url = (export.status == ExportStatus::Done).then(|| download_url(state, export.id));
    ExportView { export, download_url }
}

/// Delete every data export file of the customer.
pub async fn delete_customer_files(state: &AppState, customer: CustomerId) -> Result<usize, ApiError> {
    let held = state.objects.list(&stampede_workers::export::customer_folder(customer)).await?;
    for o in &held {
        state.objects.delete(&o.key).await?;
    }
    Ok(held.len())
}

/// Record the export and queue it; if it cannot be queued it is marked failed
/// and the caller gets 503 (ask again later).
pub async fn start(state: &AppState, mut export: Export, request_id: Option<String>) -> Result<Export, ApiError> {
    state.store.create_export(&export).await?;
    let msg = ExportMessage { schema_version: ExportMessage::SCHEMA_VERSION, export_id: export.id, request_id };
    let body = serde_json::to_string(&msg).map_err(ApiError::internal)?;
    let queued = state
        .queue
        .publish(
            "export",
            &[QueueMessage {
                id: export.id,
                message_type: ExportMessage::MESSAGE_TYPE.into(),
                schema_version: ExportMessage::SCHEMA_VERSION,
                request_id: msg.request_id.clone(),
                body,
            }],
        )
        .await;
    if let Err(e) = queued {
        export.status = ExportStatus::Failed;
        export.error = Some("could not be queued".into());
        export.finished_at = Some(chrono::Utc::now());
        state.store.save_export(&export).await?;
        return Err(ApiError::unavailable(e));
    }
    Ok(export)
}
