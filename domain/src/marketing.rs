//! Marketing mailings: a business writes to the members of one of its
//! programs who consent to hear from it, optionally only those whose card
//! was used lately (or, to win them back, not lately).
//!
//! The audience is fixed when the mailing is created, one recipient row per
//! customer; consent is checked again when each mail is sent (the email
//! worker), so a customer who withdrew it in between hears nothing. A
//! recipient is `queued` until its message is on the email queue, then
//! `published`, then `sent` or `skipped`: what the business sees as progress,
//! and what a restart publishes again (the email worker sends once per
//! message id, so a second publication sends nothing twice).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{BusinessId, CustomerId, StaffId};
use crate::messages::derived_id;
use crate::text::{Name, Prose};

/// The longest look back (or away) an activity filter may take.
pub const MAX_ACTIVITY_DAYS: u32 = 3650;

/// Who a mailing goes to: a program's members who consent to its business
/// and have a verified address, filtered by when their card was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Audience {
    pub program_id: Uuid,
    /// Only cards used within this many days.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub active_within_days: Option<u32>,
    /// Only cards not used for this many days (not with `active_within_days`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub inactive_for_days: Option<u32>,
}

impl Audience {
    /// `(used since, unused since)` at `now`: a card qualifies if it was
    /// last used at or after the first and before the second.
    pub fn window(&self, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let ago = |d: u32| now - Duration::days(i64::from(d));
        (self.active_within_days.map(ago), self.inactive_for_days.map(ago))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    #[error("must be between 1 and {MAX_ACTIVITY_DAYS}")]
    Days,
    #[error("cannot be combined with active_within_days")]
    Both,
}

impl Audience {
    /// The filter checked: each number in range, and at most one of them.
    /// The error names the field at fault.
    pub fn check(&self) -> Result<(), (&'static str, AudienceError)> {
        let in_range = |d: Option<u32>| d.is_none_or(|d| (1..=MAX_ACTIVITY_DAYS).contains(&d));
        if !in_range(self.active_within_days) {
            return Err(("active_within_days", AudienceError::Days));
        }
        if !in_range(self.inactive_for_days) {
            return Err(("inactive_for_days", AudienceError::Days));
        }
        if self.active_within_days.is_some() && self.inactive_for_days.is_some() {
            return Err(("inactive_for_days", AudienceError::Both));
        }
        Ok(())
    }
}

/// A mailing as written, before its audience is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMailing {
    pub id: Uuid,
    pub business_id: BusinessId,
    pub audience: Audience,
    pub subject: Name,
    pub body: Prose,
    pub created_by: StaffId,
    pub created_at: DateTime<Utc>,
}

/// A mailing and how far it has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mailing {
    pub id: Uuid,
    pub business_id: BusinessId,
    pub audience: Audience,
    pub subject: String,
    pub body: String,
    pub created_by: StaffId,
    pub created_at: DateTime<Utc>,
    /// Recipients when it was created.
    pub recipients: i64,
    /// Not yet handed to the email worker, or handed and not yet handled.
    pub pending: i64,
    pub sent: i64,
    /// Not sent: consent withdrawn or account erased since.
    pub skipped: i64,
}

/// One mail still to put on the email queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRecipient {
    pub mailing_id: Uuid,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    pub subject: String,
    pub body: String,
}

impl QueuedRecipient {
    /// The email message's id: the same however often it is published.
    pub fn event_id(&self) -> Uuid {
        derived_id(&["mailing", &self.mailing_id.to_string(), &self.customer_id.0.to_string()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audience(active: Option<u32>, inactive: Option<u32>) -> Audience {
        Audience { program_id: Uuid::nil(), active_within_days: active, inactive_for_days: inactive }
    }

    #[test]
    fn an_activity_filter_is_one_bounded_number() {
        assert_eq!(audience(None, None).check(), Ok(()));
        assert_eq!(audience(Some(30), None).check(), Ok(()));
        assert_eq!(audience(None, Some(90)).check(), Ok(()));
        assert_eq!(audience(Some(0), None).check(), Err(("active_within_days", AudienceError::Days)));
        assert_eq!(audience(None, Some(3651)).check(), Err(("inactive_for_days", AudienceError::Days)));
        assert_eq!(audience(Some(30), Some(90)).check(), Err(("inactive_for_days", AudienceError::Both)));
    }

    #[test]
    fn the_window_looks_back_from_now() {
        let now = DateTime::parse_from_rfc3339("2026-03-31T12:00:00Z").expect("a time").with_timezone(&Utc);
        let (since, before) = audience(Some(30), None).window(now);
        assert_eq!(since.expect("a start").to_rfc3339(), "2026-03-01T12:00:00+00:00");
        assert_eq!(before, None);
    }

    #[test]
    fn a_recipients_message_id_is_stable() {
        let r = QueuedRecipient {
            mailing_id: Uuid::now_v7(),
            business_id: BusinessId(Uuid::now_v7()),
            customer_id: CustomerId(Uuid::now_v7()),
            subject: "s".into(),
            body: "b".into(),
        };
        assert_eq!(r.event_id(), r.clone().event_id());
        let other = QueuedRecipient { customer_id: CustomerId(Uuid::now_v7()), ..r.clone() };
        assert_ne!(r.event_id(), other.event_id());
    }
}
