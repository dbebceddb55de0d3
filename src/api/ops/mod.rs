//! Operational endpoints beside `/v1`: liveness, readiness, metrics, the OpenAPI
//! document.

pub mod healthz;
pub mod metrics;
pub mod openapi;
pub mod readyz;
