use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{file, media_type};
use crate::api::problem::ApiError;

/// Scripts, styles, connections and frames only from this origin; images
/// also from HTTPS (logos and reward images may live on the object store's
/// domain) and from data/blob URLs (QR codes drawn in the page).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob: https:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'; manifest-src 'self'; worker-src 'self'";

/// A path under an app: the file, if the bundle has one there (an icon, a
/// manifest), else the app's page, whose router shows the route.
pub async fn page(req: HttpRequest, tail: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let app = req.path().trim_start_matches('/').split('/').next().unwrap_or_default();
    let wanted = format!("{app}/{}", tail.into_inner());
    if let Some(bytes) = file(&wanted).filter(|_| !wanted.ends_with('/')) {
        return Ok(document(&wanted, bytes));
    }
    let index = format!("{app}/index.html");
    let bytes = file(&index).ok_or_else(ApiError::not_found)?;
    Ok(document(&index, bytes))
}

/// `/staff` → `/staff/`: the apps' relative links resolve under the slash.
pub async fn to_app_root(req: HttpRequest) -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, format!("{}/", req.path()))).finish()
}

/// The root: the staff console, until the customer app takes `/`.
pub async fn home() -> HttpResponse {
    HttpResponse::TemporaryRedirect().insert_header((header::LOCATION, "/staff/")).finish()
}

fn document(path: &str, bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(media_type(path))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("permissions-policy", "camera=(self), microphone=(), geolocation=()"))
        .body(bytes)
}
