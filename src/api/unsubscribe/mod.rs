//! `/v1/unsubscribe`: the link in every marketing email. `GET` shows a page
//! with one button (so a mail scanner that follows links changes nothing);
//! `POST` (the button, or a mail client's RFC 8058 one-click request) turns the
//! customer's marketing consent to the sending business off. The token is the
//! signed customer and business ids (`auth::links`); repeating it is harmless.

pub mod confirm;
pub mod page;

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeToken {
    pub token: String,
}

pub fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family: sans-serif\"><h1>{title}</h1>{body}</body></html>"
    )
}
