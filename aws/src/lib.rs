//! The AWS shape of Stampede: adapters behind the domain's ports, talking to
//! AWS through the official SDK.
//!
//! - [`history::DynamoHistory`]: the transaction table (history store).
//! - [`sessions::DynamoSessions`], [`audit::DynamoAudit`]: the session and audit tables.
//! - [`sqs::SqsQueue`]: the four queues, each with a dead-letter queue.
//! - [`ses::SesMailer`]: mail as SES v2 simple content, rendered by Stampede.
//! - [`s3::S3Objects`]: objects, with presigned upload and download URLs.
//! - [`cognito::CognitoPool`]: sign-up, login, refresh, sign-out, reset.
//! - [`bootstrap`]: creates every resource above, idempotently.
//!
//! Every client is built once from one [`AwsOptions`]; an optional endpoint URL
//! points all of them at a local endpoint (moto) instead of AWS.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use stampede_domain::ports::StoreError;

pub use aws_config::SdkConfig;

pub mod audit;
pub mod bootstrap;
pub mod cognito;
pub mod history;
mod paging;
pub mod s3;
pub mod ses;
pub mod sessions;
pub mod sqs;
pub mod testing;

/// Where and how to reach AWS. Resource names live with each adapter.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: String,
    /// `http://127.0.0.1:PORT` for a local endpoint; `None` for AWS itself.
    pub endpoint_url: Option<String>,
    /// Static credentials (local endpoints); `None` uses the default chain
    /// (environment, instance profile, ...).
    pub static_credentials: Option<(String, String)>,
    /// Per-attempt timeout, so an unreachable endpoint fails fast.
    pub attempt_timeout: Duration,
}

/// Build the shared SDK configuration once; every client derives from it.
pub async fn sdk_config(opts: &AwsOptions) -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(opts.attempt_timeout)
        .operation_attempt_timeout(opts.attempt_timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(opts.region.clone()))
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((id, secret)) = &opts.static_credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::from_keys(id, secret, None));
    }
    loader.load().await
}

/// The SDK's error type; the same type for every service crate.
pub(crate) type SdkError<E> = aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>;

/// Classify an SDK error: transport failures, 5xx and throttling are worth
/// retrying (`Unavailable`), the rest is not. The text is for logs only.
pub(crate) fn sdk_error<E>(what: &str, err: SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text = format!("{what}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    let retryable = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            status >= 500 || status == 429 || text.contains("Throttl")
        }
        _ => false,
    };
    if retryable { StoreError::Unavailable(text) } else { StoreError::Other(text) }
}
