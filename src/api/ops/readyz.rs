use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::problem::{ApiError, Code, Problem};
use crate::metrics::Metrics;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Ready {
    pub status: &'static str,
    /// `postgres` or `sqlite`.
    pub database: &'static str,
}

/// Readiness: the system of record answers a trivial query within 2 s. Answers
/// 503 with the reason while it does not, and recovers by itself when it does
/// again (the pool reconnects on the next probe).
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, body = Ready),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> Result<HttpResponse, ApiError> {
    let probe = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    let reason = match probe {
        Ok(Ok(())) => {
            metrics.database_up.set(1);
            return Ok(HttpResponse::Ok().json(Ready { status: "ready", database: state.store.backend() }));
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            "database unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness: database did not answer within 2 s");
            "database did not answer within 2 s"
        }
    };
    metrics.database_up.set(0);
    // A readiness reason is operational, not internal: it names no host or error.
    Err(ApiError::new(Code::Unavailable).detail(reason).retry_after(1))
}
