use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The local issuer's public keys (JWKS). Cached by clients for 5 minutes.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", responses(
    (status = 200, description = "JSON Web Key Set (ES256 keys)", body = Object, content_type = "application/json")
))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("cache-control", "public, max-age=300")).json(state.issuer.ring.jwks())
}
