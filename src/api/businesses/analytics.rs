use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use stampede_domain::access::{Permission, Place, staff_may};
use stampede_domain::analytics::AnalyticsQuery;
use stampede_domain::ids::{BusinessId, StoreId};
use stampede_workers::analytics::{build_report, report_csv};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::problem::{ApiError, Problem};
use crate::auth::principal::StaffAuth;
use crate::state::AppState;

/// The longest period one request may cover.
const MAX_DAYS: i64 = 366;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsParams {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    pub store_id: Option<Uuid>,
    pub program_id: Option<Uuid>,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// A business's daily aggregates (stamps issued, points earned, rewards
/// redeemed, active and new customers) and app usage over a period, with
/// totals and the redemption rate. The whole business needs an owner or admin;
/// one store (`store_id`) its manager, brand manager, admin or owner. Counts
/// arrive moments after each commit (the analytics worker).
#[utoipa::path(get, path = "/v1/businesses/{business_id}/analytics", tag = "businesses",
    params(("business_id" = Uuid, Path), AnalyticsParams), security(("bearer" = [])), responses(
    (status = 200, description = "The report (JSON, or CSV with format=csv)",
        content((super::report_doc::ReportDoc = "application/json"), (String = "text/csv"))),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn analytics(
    auth: StaffAuth,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    params: web::Query<AnalyticsParams>,
) -> Result<HttpResponse, ApiError> {
    let business = BusinessId(path.into_inner());
    let p = params.into_inner();
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("format", "must be json or csv")),
    };
    if p.to < p.from {
        return Err(ApiError::field("to", "must not be before from"));
    }
    if (p.to - p.from).num_days() >= MAX_DAYS {
        return Err(ApiError::field("to", format!("a report covers at most {MAX_DAYS} days")));
    }
    // Scope: a store's figures for those who manage the store, the whole
    // business's for those who manage the business. Anything else looks absent.
    let place = match p.store_id {
        Some(id) => {
            let store = state
                .records
                .view()
                .await
                .store(StoreId(id))
                .await?
                .filter(|s| s.business_id == business)
                .ok_or_else(ApiError::not_found)?;
            (Permission::ManageStore, store.place())
        }
        None => (Permission::ManageBusiness, Place::business(business)),
    };
    if !staff_may(&auth.staff.memberships, place.0, &place.1) {
        return Err(ApiError::not_found());
    }
    let q = AnalyticsQuery {
        business_id: business,
        from: p.from,
        to: p.to,
        store_id: p.store_id.map(StoreId),
        program_id: p.program_id,
    };
    let days = state.store.daily_aggregates(&q).await?;
    let usage =
        if p.store_id.is_none() { state.store.usage_counts(Some(business), q.from, q.to).await? } else { vec![] };
    let report = build_report(&q, days, usage);
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "content-disposition",
                format!("attachment; filename=\"analytics-{}-{}.csv\"", q.from, q.to),
            ))
            .body(report_csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}
