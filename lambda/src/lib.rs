//! The workers as AWS Lambda functions. Each binary (`stampede-email`,
//! `stampede-loyalty`, `stampede-analytics`, `stampede-export`) is a thin
//! `main` over [`run`]: at cold start it loads the settings from `STAMPEDE_*`
//! environment variables (the same keys as the server) and builds the store,
//! AWS clients and handlers once; then each invocation is either
//!
//! - an SQS batch: every record gets its own tracing span and its own panic
//!   guard, and the failures are reported as `batchItemFailures`, so only they
//!   are retried (and, after the queue's receive count, moved to its
//!   dead-letter queue); retryable and permanent failures are logged apart;
//! - or an EventBridge scheduled event, for the functions with a schedule
//!   (loyalty: expiry sweep and expiry notices; analytics: daily reports;
//!   export: stalled exports queued again).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::FutureExt;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use stampede::configuration::Settings;
use stampede::schedule::Schedules;
use stampede::workers::Handlers;
use stampede_domain::ports::QueueMessage;
use stampede_workers::failure::Failure;
use tracing::Instrument;

/// Which function a binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Email,
    Loyalty,
    Analytics,
    Export,
}

impl Function {
    /// The queue topic it consumes.
    pub fn topic(self) -> &'static str {
        match self {
            Function::Email => "email",
            Function::Loyalty => "transaction",
            Function::Analytics => "analytics",
            Function::Export => "export",
        }
    }
}

/// What a cold start builds once.
pub struct Worker {
    pub function: Function,
    pub handlers: Arc<Handlers>,
    pub schedules: Arc<Schedules>,
}

impl Worker {
    /// Build everything from settings: store, adapters, handlers, schedules.
    pub async fn from_settings(function: Function, settings: &Settings) -> anyhow::Result<Self> {
        let store = stampede_store::open(&settings.database_options()).await?;
        let adapters = stampede::startup::build_adapters(settings, &store).await;
        let links = Arc::new(stampede::auth::links::LinkKey::from_settings(settings).map_err(anyhow::Error::msg)?);
        let handlers = Arc::new(Handlers::new(
            settings,
            Arc::clone(&store),
            adapters.mailer,
            adapters.objects,
            adapters.queue,
            links,
        ));
        // Schedules change cards through the naive engine: the same rules and
        // versioned commit as the API's card runtime, without actors.
        let engine = stampede_actors::NaiveEngine::new(Arc::clone(&store), stampede_actors::RuntimeMetrics::new());
        let cache = Arc::new(stampede_store::cache::MemoryCache::new(16 * 1024 * 1024));
        let records = stampede::cached::Records::new(cache, Arc::clone(&store));
        let schedules = Arc::new(Schedules { store, records, engine, handlers: Arc::clone(&handlers) });
        Ok(Self { function, handlers, schedules })
    }

    /// One invocation: an SQS batch or a scheduled event.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let payload = event.payload;
        if payload.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(payload)?;
            let topic = self.function.topic();
            let handlers = &self.handlers;
            let response = process_batch(batch, |msg| async move { handlers.handle(topic, &msg).await }).await;
            return Ok(serde_json::to_value(response)?);
        }
        if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            let outcome = match self.function {
                Function::Loyalty => {
                    let (expired, notices) = self.schedules.loyalty().await.map_err(|e| Error::from(e.to_string()))?;
                    serde_json::json!({ "expired_cards": expired, "notices": notices })
                }
                Function::Analytics => {
                    let reports = self.schedules.daily_reports().await.map_err(|e| Error::from(e.to_string()))?;
                    serde_json::json!({ "reports": reports })
                }
                Function::Export => {
                    let queue = Arc::clone(&self.handlers.export.queue);
                    let requeued = self
                        .schedules
                        .stalled_exports(chrono::Duration::minutes(30), queue.as_ref())
                        .await
                        .map_err(|e| Error::from(e.to_string()))?;
                    serde_json::json!({ "requeued_exports": requeued })
                }
                Function::Email => serde_json::json!({ "ignored": "no schedule" }),
            };
            tracing::info!(%outcome, "scheduled run");
            return Ok(outcome);
        }
        Err(Error::from("neither an SQS batch nor a scheduled event"))
    }
}

/// The domain message an SQS record carries (attributes as the outbox relay
/// sets them; SQS's own message id when ours is missing).
pub fn queue_message(record: &SqsMessage) -> QueueMessage {
    let attr = |k: &str| record.message_attributes.get(k).and_then(|a| a.string_value.clone());
    QueueMessage {
        id: attr("id")
            .or_else(|| record.message_id.clone())
            .and_then(|v| uuid::Uuid::parse_str(&v).ok())
            .unwrap_or_else(uuid::Uuid::nil),
        message_type: attr("type").unwrap_or_default(),
        schema_version: attr("schema_version").and_then(|v| v.parse().ok()).unwrap_or(0),
        request_id: attr("request_id"),
        body: record.body.clone().unwrap_or_default(),
    }
}

/// Handle every record of a batch; report the ones that failed (or
/// panicked) so that only they come back.
pub async fn process_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(QueueMessage) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        let msg = queue_message(record);
        let sqs_id = record.message_id.clone().unwrap_or_default();
        let receives = record.attributes.get("ApproximateReceiveCount").cloned().unwrap_or_default();
        let span = tracing::info_span!("message", sqs_id = %sqs_id, message_id = %msg.id,
            request_id = msg.request_id.as_deref(), receives = %receives);
        let outcome = AssertUnwindSafe(handle(msg)).catch_unwind().instrument(span.clone()).await;
        let _entered = span.enter();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(Failure::Retryable(why))) => {
                tracing::warn!(%why, "retryable failure; left for redelivery");
                response.add_failure(sqs_id);
            }
            Ok(Err(Failure::Permanent(why))) => {
                // It will fail again: it goes round until the receive count
                // moves it to the dead-letter queue, where it is kept for a look.
                tracing::error!(%why, "permanent failure; bound for the dead-letter queue");
                response.add_failure(sqs_id);
            }
            Err(_) => {
                tracing::error!("the handler panicked; only this message fails");
                response.add_failure(sqs_id);
            }
        }
    }
    response
}

/// A binary's `main`: logs, settings, cold start, then the runtime loop.
pub async fn run(function: Function) -> Result<(), Error> {
    let settings = Settings::load(None).map_err(|e| Error::from(e.to_string()))?;
    stampede::telemetry::init(&settings.log).map_err(|e| Error::from(e.to_string()))?;
    let worker = Arc::new(Worker::from_settings(function, &settings).await.map_err(|e| Error::from(format!("{e:#}")))?);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<Value>| {
        let worker = Arc::clone(&worker);
        async move { worker.invoke(event).await }
    }))
    .await
}
