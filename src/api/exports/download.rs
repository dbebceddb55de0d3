use actix_web::{HttpResponse, web};
use serde::Deserialize;
use stampede_domain::export::ExportStatus;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DownloadToken {
    pub token: String,
}

/// Download a finished export with the signed link from the email or the status
/// endpoint (valid 24 hours, no sign-in needed): 302 to a short-lived S3 URL, or
/// the file itself with the files backend.
#[utoipa::path(get, path = "/v1/exports/{export_id}/download", tag = "me",
    params(("export_id" = Uuid, Path), DownloadToken), responses(
    (status = 200, description = "The file: a customer's data as JSON, a business's as CSV",
        content((Object = "application/json"), (String = "text/csv"))),
    (status = 302, description = "Redirect to a signed download URL"),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn download(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<DownloadToken>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    // A bad, expired or foreign token looks like a missing export.
    if state.link_key.verify_download(&query.token, chrono::Utc::now()) != Some(id) {
        return Err(ApiError::not_found());
    }
    let export = state.store.get_export(id).await?.ok_or_else(ApiError::not_found)?;
    let key = match (&export.status, &export.object_key) {
        (ExportStatus::Done, Some(key)) => key.clone(),
        _ => return Err(ApiError::not_found()),
    };
    crate::api::objects::serve_private(&state, &key, std::time::Duration::from_secs(300)).await
}
