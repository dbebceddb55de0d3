//! The web apps, served from the bundle embedded at build time (`build.rs`,
//! from `web/dist`): the staff console at `/staff/`, the POS terminal app at
//! `/pos/`. Files under `/assets/` carry a content hash in their names and
//! are cached for a year as immutable; an app's `index.html` is never cached,
//! so a new release reaches every device on its next load. Any other path
//! under an app (a client route such as `/staff/accept-invitation`) answers
//! the app's `index.html`. Every page carries a strict Content-Security-Policy:
//! scripts, styles and connections only from this origin.

pub mod asset;
pub mod page;

use actix_web::web;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// The apps served, by the first segment of their path.
pub const APPS: [&str; 2] = ["staff", "pos"];

/// The embedded file at `path` (relative to `web/dist`).
pub fn file(path: &str) -> Option<&'static [u8]> {
    embedded::ASSETS.binary_search_by(|(p, _)| (*p).cmp(path)).ok().map(|i| embedded::ASSETS[i].1)
}

/// The media type of a file, by its extension.
pub fn media_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/assets/{file:.+}").get(asset::asset));
    for app in APPS {
        cfg.service(web::resource(format!("/{app}")).get(page::to_app_root))
            .service(web::resource(format!("/{app}/{{tail:.*}}")).get(page::page));
    }
    cfg.service(web::resource("/").get(page::home));
}
