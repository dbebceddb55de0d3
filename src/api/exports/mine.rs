use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use stampede_domain::export::{Export, ExportKind};

use super::{ExportView, start, view};
use crate::api::observe::RequestId;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// Ask for a copy of everything Stampede keeps about you (profile, cards,
/// transactions) as JSON; a download link arrives by email.
#[utoipa::path(post, path = "/v1/me/exports", tag = "me", security(("bearer" = [])), responses(
    (status = 202, body = ExportView),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn request_my_export(
    req: HttpRequest,
    auth: CustomerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let export = Export::requested(ExportKind::MyData, None, Some(auth.id), None, None);
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let export = start(&state, export, request_id).await?;
    Ok(HttpResponse::Accepted().json(view(&state, export)))
}
