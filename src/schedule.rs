//! Scheduled work, the same whether a timer in `stampede serve` or an
//! EventBridge schedule (Lambda) starts it:
//!
//! - loyalty: the expiry sweep (through the card engine, like POS traffic) and
//!   the "points expiring soon" notices (once per card and expiry);
//! - analytics: yesterday's report of every active business, stored as JSON
//!   and CSV (skipped when already there, so a repeated run is harmless);
//! - exports: queue again the exports that have been pending or running for
//!   too long (an SQS message that went to the dead-letter queue, a worker
//!   that died); the export worker's inbox keeps a second run from doing it
//!   twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use stampede_domain::analytics::AnalyticsQuery;
use stampede_domain::page::PageRequest;
use stampede_domain::ports::Store;
use stampede_workers::failure::Failure;

use crate::workers::Handlers;

/// Points expiring within this window get a notice.
pub const NOTICE_WINDOW_DAYS: i64 = 7;

pub struct Schedules {
    pub store: Arc<dyn Store>,
    pub records: Arc<crate::cached::Records>,
    pub engine: Arc<dyn stampede_actors::CardEngine>,
    pub handlers: Arc<Handlers>,
}

impl Schedules {
    /// Expire what is due, then queue notices for what expires soon.
    /// Returns (cards expired, notices queued).
    pub async fn loyalty(&self) -> Result<(usize, usize), Failure> {
        let expired = crate::sweeps::expire_due(self.store.as_ref(), &self.records, self.engine.as_ref(), 1000).await;
        let notices =
            self.handlers.loyalty.expiring_soon(Utc::now(), chrono::Duration::days(NOTICE_WINDOW_DAYS), 10_000).await?;
        Ok((expired, notices.len()))
    }

    /// Store yesterday's report of every active business that has none yet.
    /// Returns how many reports were written.
    pub async fn daily_reports(&self) -> Result<usize, Failure> {
        let day = Utc::now().date_naive().pred_opt().unwrap_or_else(|| Utc::now().date_naive());
        let analytics = &self.handlers.analytics;
        let mut written = 0;
        let mut after = None;
        loop {
            let page = self.store.list_businesses(PageRequest::new(after, Some(200)), true).await?;
            for b in &page.items {
                let q = AnalyticsQuery { business_id: b.id, from: day, to: day, store_id: None, program_id: None };
                let key = format!("private/reports/{}/{day}_{day}.json", b.id.0);
                if analytics.objects.exists(&key).await.map_err(Failure::from)? {
                    continue;
                }
                analytics.store_report(&q).await?;
                written += 1;
            }
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => return Ok(written),
            }
        }
    }

    /// Re-queue exports stalled for more than `after`. Returns how many.
    pub async fn stalled_exports(
        &self,
        after: chrono::Duration,
        queue: &dyn stampede_domain::ports::Queue,
    ) -> Result<usize, Failure> {
        use stampede_domain::export::ExportMessage;
        let stalled = self.store.stalled_exports(Utc::now() - after, 100).await?;
        let messages = stalled
            .iter()
            .map(|e| {
                let msg =
                    ExportMessage { schema_version: ExportMessage::SCHEMA_VERSION, export_id: e.id, request_id: None };
                Ok(stampede_domain::ports::QueueMessage {
                    id: e.id,
                    message_type: ExportMessage::MESSAGE_TYPE.into(),
                    schema_version: ExportMessage::SCHEMA_VERSION,
                    request_id: None,
                    body: serde_json::to_string(&msg).map_err(|e| Failure::Permanent(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        if !messages.is_empty() {
            queue.publish("export", &messages).await.map_err(|e| Failure::Retryable(e.to_string()))?;
        }
        Ok(messages.len())
    }

    /// The timers of `stampede serve`: loyalty hourly, reports every 6 hours
    /// (each run only writes what is missing).
    pub fn spawn(self: Arc<Self>) {
        let loyalty = Arc::clone(&self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                match loyalty.loyalty().await {
                    Ok((expired, notices)) if expired + notices > 0 => {
                        tracing::info!(expired, notices, "loyalty schedule");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "loyalty schedule failed"),
                }
            }
        });
        let exports = Arc::clone(&self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(300));
            loop {
                tick.tick().await;
                let queue = Arc::clone(&exports.handlers.export.queue);
                match exports.stalled_exports(chrono::Duration::minutes(30), queue.as_ref()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(exports = n, "stalled exports queued again"),
                    Err(e) => tracing::warn!(error = %e, "stalled exports check failed"),
                }
            }
        });
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(6 * 3600));
            loop {
                tick.tick().await;
                match self.daily_reports().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reports = n, "daily reports"),
                    Err(e) => tracing::warn!(error = %e, "daily reports failed"),
                }
            }
        });
    }
}
