//! The ports: what the application needs from storage, as traits. The adapters in
//! `stampede-store` (PostgreSQL, SQLite) implement them; one contract test suite
//! runs against every implementation.

use async_trait::async_trait;

use crate::business::{Business, NewBusiness};
use crate::customer::{Customer, NewCustomer};
use crate::email::Email;
use crate::ids::{BusinessId, CustomerId, StaffId};
use crate::page::{Page, PageRequest};
use crate::staff::{Membership, NewStaff, Staff};

/// Failures every storage port can report. Adapters map their driver errors onto
/// these so callers never see SQL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit; the payload names it (e.g. `email`).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// Expected version did not match: somebody else changed the record.
    #[error("the record was changed by someone else")]
    VersionMismatch,
    /// The backend could not be reached or timed out; worth retrying.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else; not worth retrying. The message is for logs, not clients.
    #[error("storage failure: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Answers when the backing store accepts a trivial query.
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait BusinessRepo: Send + Sync {
    async fn create_business(&self, new: NewBusiness) -> StoreResult<Business>;
    async fn get_business(&self, id: BusinessId) -> StoreResult<Option<Business>>;
    /// Businesses ordered by id; `active_only` filters out deactivated ones.
    async fn list_businesses(&self, page: PageRequest, active_only: bool) -> StoreResult<Page<Business>>;
    /// Deactivate if `expected_version` still matches; returns the new record.
    async fn deactivate_business(&self, id: BusinessId, expected_version: i64) -> StoreResult<Option<Business>>;
}

#[async_trait]
pub trait CustomerRepo: Send + Sync {
    async fn create_customer(&self, new: NewCustomer) -> StoreResult<Customer>;
    async fn get_customer(&self, id: CustomerId) -> StoreResult<Option<Customer>>;
    async fn find_customer_by_email(&self, email: &Email) -> StoreResult<Option<Customer>>;
}

#[async_trait]
pub trait StaffRepo: Send + Sync {
    async fn count_staff(&self) -> StoreResult<i64>;
    /// Create the account and its memberships in one transaction.
    async fn create_staff(&self, new: NewStaff, memberships: &[Membership]) -> StoreResult<Staff>;
    /// Create a business and its first owner in one transaction, unless any staff
    /// account exists already (then `None`). Safe when two processes start at once.
    async fn create_first_owner(
        &self,
        business: NewBusiness,
        owner: NewStaff,
    ) -> StoreResult<Option<(Business, Staff)>>;
    async fn get_staff(&self, id: StaffId) -> StoreResult<Option<Staff>>;
    async fn find_staff_by_email(&self, email: &Email) -> StoreResult<Option<Staff>>;
}

/// Everything the system of record offers, as one object the application holds.
pub trait Store: HealthCheck + BusinessRepo + CustomerRepo + StaffRepo {
    /// A short name for logs and metrics: `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
}
