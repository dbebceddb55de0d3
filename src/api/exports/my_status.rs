use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::{ExportView, view};
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::CustomerAuth;
use crate::state::AppState;

/// One of your exports: its status and, when done, a download link.
#[utoipa::path(get, path = "/v1/me/exports/{export_id}", tag = "me", params(("export_id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, body = ExportView),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn my_export(
    auth: CustomerAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let export = state
        .store
        .get_export(path.into_inner())
        .await?
        .filter(|e| e.customer_id == Some(auth.id))
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(view(&state, export)))
}
