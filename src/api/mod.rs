//! The HTTP API. [`routes`] is the one route table; each resource has a folder and
//! each handler a file. Extractor and framework errors are rendered as problems
//! (see [`problem`] and [`rejections`]).

pub mod observe;
pub mod ops;
pub mod problem;
pub mod rejections;

use actix_web::web;

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Resources (not bare routes) so a wrong method answers 405, not 404.
    cfg.service(web::resource("/healthz").get(ops::healthz::healthz))
        .service(web::resource("/readyz").get(ops::readyz::readyz))
        .service(web::resource("/metrics").get(ops::metrics::metrics))
        .service(web::resource("/openapi.json").get(ops::openapi::openapi));
}
