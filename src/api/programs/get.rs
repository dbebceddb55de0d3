use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::visible;
use crate::api::admin::etag;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// A program with its rewards and campaigns (members).
#[utoipa::path(get, path = "/v1/programs/{program_id}", tag = "programs", params(("program_id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, description = "The program, rewards and campaigns", body = super::rules_doc::ProgramBundleDoc),
    (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_program(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let bundle = visible(&state, &auth, path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().insert_header(etag(bundle.program.version)).json(bundle))
}
