//! What every admin endpoint shares: optimistic concurrency with `ETag` /
//! `If-Match`, the audit record of each change, and "is this caller a member
//! of that business".

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::Serialize;
use stampede_domain::identity::AuditEvent;
use stampede_domain::ids::BusinessId;
use stampede_domain::staff::Staff;
use uuid::Uuid;

use super::problem::{ApiError, Code};
use crate::audit::{Actor, Change};
use crate::state::AppState;

/// The entity tag of a record version.
pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The version the caller last saw, from `If-Match`. Updates require it: 428
/// without one, 412 when it is not the current version.
pub fn if_match(req: &HttpRequest, current: i64) -> Result<i64, ApiError> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(Code::PreconditionRequired).detail("send If-Match with the ETag you read"))?;
    matching(raw, current)?;
    Ok(current)
}

/// RFC 9110's If-Match: `*` (whatever is current: the client says so) or a
/// list of ETags, one of which must be the current version's.
fn matching(raw: &str, current: i64) -> Result<(), ApiError> {
    if raw.trim() == "*" {
        return Ok(());
    }
    if raw.trim().is_empty() {
        return Err(ApiError::new(Code::BadRequest).detail("If-Match is empty: send the ETag you read"));
    }
    let tags: Vec<Option<i64>> =
        raw.split(',').map(|t| t.trim().trim_start_matches("W/").trim_matches('"').parse::<i64>().ok()).collect();
    if tags.iter().all(Option::is_none) {
        return Err(ApiError::new(Code::PreconditionFailed).detail("If-Match does not name a version"));
    }
    if !tags.contains(&Some(current)) {
        return Err(ApiError::new(Code::PreconditionFailed).detail("the resource changed since you read it"));
    }
    Ok(())
}

/// Whether the staff member has any role in the business.
pub fn member_of(staff: &Staff, business_id: BusinessId) -> bool {
    staff.memberships.iter().any(|m| m.business_id == business_id)
}

/// The audit event of an admin change by `actor`, made before the change so
/// the store stages it in the change's own transaction (the store sets
/// `after` to the record it wrote, where it returns one).
pub fn audit_event<B: Serialize, A: Serialize>(
    actor: &Staff,
    business_id: Option<BusinessId>,
    action: &str,
    resource_id: Option<Uuid>,
    before: Option<&B>,
    after: Option<&A>,
) -> AuditEvent {
    crate::audit::event(Actor::Staff(actor.id), Change { business_id, action, resource_id, before, after })
}

/// Once the change committed with `event` staged (as the store staged it:
/// [`AuditEvent::written`], [`AuditEvent::created`]): hand it to the audit
/// store now rather than on the relay's next pass.
pub async fn audited(state: &AppState, event: &AuditEvent) {
    crate::audit::hand_over(state, event).await;
}

#[cfg(test)]
mod if_match_tests {
    use super::matching;

    #[test]
    fn a_star_or_a_listed_current_version_matches() {
        assert!(matching("*", 3).is_ok());
        assert!(matching("\"3\"", 3).is_ok());
        assert!(matching("\"1\", \"3\"", 3).is_ok());
        assert!(matching("W/\"3\"", 3).is_ok());
        assert!(matching("\"2\"", 3).is_err(), "stale");
        assert!(matching("\"Aq\"", 3).is_err(), "not a version");
        assert_eq!(matching("", 3).map_err(|e| e.code), Err(crate::api::problem::Code::BadRequest));
    }
}
