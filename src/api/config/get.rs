use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::verify::Social;
use crate::state::AppState;

/// How people sign in here.
#[derive(Serialize, ToSchema)]
pub struct PublicConfig {
    /// `local` (this server keeps accounts) or `cognito` (the pools do; the
    /// first owner, made at first start, stays local).
    pub identity: String,
    /// Social sign-in offered to customers: `google`, `apple`.
    pub social: Vec<String>,
    /// The shortest password accepted.
    pub min_password_length: usize,
}

/// Sign-in options, for the apps' first screen. Public; cacheable for a minute.
#[utoipa::path(get, path = "/v1/config", tag = "auth", responses(
    (status = 200, description = "How people sign in here", body = PublicConfig),
))]
pub async fn config(state: web::Data<AppState>) -> HttpResponse {
    let identity = if state.cognito.is_some() { "cognito" } else { "local" };
    let social = [(Social::Google, "google"), (Social::Apple, "apple")]
        .into_iter()
        .filter(|(p, _)| state.verifier.offers(*p))
        .map(|(_, name)| name.to_owned())
        .collect();
    HttpResponse::Ok().insert_header(("cache-control", "public, max-age=60")).json(PublicConfig {
        identity: identity.into(),
        social,
        min_password_length: state.policy.min_password_length,
    })
}
