//! Scheduled work, the same whether a timer in `stampede serve` or an
//! EventBridge schedule (Lambda) starts it:
//!
//! - loyalty: the expiry sweep (through the card engine, like POS traffic) and
//!   the "points expiring soon" notices (once per card and expiry);
//! - analytics: yesterday's report of every active business, stored as JSON
//!   and CSV (skipped when already there, so a repeated run is harmless).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use stampede_domain::analytics::AnalyticsQuery;
use stampede_domain::page::PageRequest;
use stampede_domain::ports::{Cache, Store};
use stampede_workers::failure::Failure;

use crate::workers::Handlers;

/// Points expiring within this window get a notice.
pub const NOTICE_WINDOW_DAYS: i64 = 7;

pub struct Schedules {
    pub store: Arc<dyn Store>,
    pub cache: Arc<dyn Cache>,
    pub engine: Arc<dyn stampede_actors::CardEngine>,
    pub handlers: Arc<Handlers>,
}

impl Schedules {
    /// Expire what is due, then queue notices for what expires soon.
    /// Returns (cards expired, notices queued).
    pub async fn loyalty(&self) -> Result<(usize, usize), Failure> {
        let expired =
            crate::sweeps::expire_due(self.store.as_ref(), self.cache.as_ref(), self.engine.as_ref(), 1000).await;
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
