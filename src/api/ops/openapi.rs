use actix_web::HttpResponse;
use utoipa::OpenApi;

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "Stampede API", description = "Loyalty platform: stamp and points cards, POS transactions, programs."),
    paths(super::healthz::healthz, super::readyz::readyz, super::metrics::metrics, openapi),
    components(schemas(crate::api::problem::Problem, crate::api::problem::Code, crate::api::problem::FieldError)),
    tags((name = "ops", description = "Liveness, readiness, metrics, this document"))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
