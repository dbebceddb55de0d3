//! How a handler fails, which decides what happens to the message: a
//! retryable failure leaves it for redelivery (and, after the queue's receive
//! count, the dead-letter queue); a permanent one will never succeed (a
//! malformed body, an unknown template) and goes to the dead-letter queue at
//! once, logged.

use stampede_domain::ports::StoreError;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Failure {
    #[error("retryable: {0}")]
    Retryable(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl Failure {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Failure::Retryable(_))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::VersionMismatch => Failure::Retryable(e.to_string()),
            StoreError::Conflict(_) | StoreError::Other(_) => Failure::Permanent(e.to_string()),
        }
    }
}
