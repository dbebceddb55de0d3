use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::export::{Export, ExportKind};
use stampede_domain::ids::BusinessId;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ExportView, start, view};
use crate::api::json::Json;
use crate::api::observe::RequestId;
use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessExportRequest {
    /// `transactions` or `customers` (those who agreed to hear from the business).
    #[schema(pattern = "^(transactions|customers)$")]
    pub kind: String,
    /// For transactions: first and last day (UTC), at most 366 days.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Ask for an export of the business's transactions or consenting customers.
/// Owners and admins only.
#[utoipa::path(post, path = "/v1/businesses/{business_id}/exports", tag = "businesses",
    params(("business_id" = Uuid, Path)), request_body = BusinessExportRequest, security(("bearer" = [])), responses(
    (status = 202, body = ExportView),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn request_business_export(
    req: HttpRequest,
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<BusinessExportRequest>,
) -> Result<HttpResponse, ApiError> {
    let business = BusinessId(path.into_inner());
    if !staff_may(&auth.staff.memberships, Permission::ManageBusiness, &Place::business(business)) {
        return Err(ApiError::not_found());
    }
    let kind = match ExportKind::parse(&body.kind) {
        Some(k @ (ExportKind::Transactions | ExportKind::Customers)) => k,
        _ => return Err(ApiError::field("kind", "must be transactions or customers")),
    };
    let (from, to) = match kind {
        ExportKind::Transactions => {
            let (Some(from), Some(to)) = (body.from, body.to) else {
                return Err(ApiError::field("from", "give from and to (YYYY-MM-DD) for a transactions export"));
            };
            if to < from {
                return Err(ApiError::field("to", "must not be before from"));
            }
            if (to - from).num_days() >= 366 {
                return Err(ApiError::field("to", "an export covers at most 366 days"));
            }
            (Some(from), Some(to))
        }
        _ => (None, None),
    };
    let period = from.zip(to);
    let export = Export::requested(kind, Some(business), None, Some(auth.staff.id), period);
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let export = start(&state, export, request_id).await?;
    Ok(HttpResponse::Accepted().json(view(&state, export)))
}
