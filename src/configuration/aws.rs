//! Settings of the AWS shape: where AWS is (or a local endpoint standing in for
//! it), and the names of the resources `stampede bootstrap` creates and the
//! adapters use. Only read when a backend names an AWS service.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSettings {
    pub region: String,
    /// A local endpoint (moto, LocalStack) for every service, e.g.
    /// `http://127.0.0.1:5000`; unset for AWS itself.
    pub endpoint_url: Option<String>,
    /// Static credentials, for local endpoints. Unset: the SDK's default chain
    /// (environment, profile, the EC2 instance role).
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
    /// Per-attempt timeout of every AWS call.
    pub timeout_secs: u64,
    /// DynamoDB: transaction history (GSI1 customer, GSI2 card, TTL ExpiresAt).
    pub transactions_table: String,
    /// DynamoDB: refresh-token families (TTL).
    pub sessions_table: String,
    /// DynamoDB: security and admin events (TTL).
    pub audit_table: String,
    /// Days a history item lives before its TTL lets DynamoDB delete it.
    pub history_retention_days: u32,
    /// Days an audit event is kept.
    pub audit_retention_days: u32,
    /// SQS queue names are `<prefix><topic>` and `<prefix><topic>-dlq`.
    pub queue_prefix: String,
    /// Receives before SQS moves a message to its dead-letter queue.
    pub max_receive_count: u32,
    pub visibility_timeout_secs: u32,
    /// S3 bucket for assets (`public/`), uploads, reports and exports (`private/`).
    pub bucket: String,
    /// SES configuration set for sending events, if any.
    pub ses_configuration_set: Option<String>,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            endpoint_url: None,
            access_key_id: None,
            secret_access_key: None,
            timeout_secs: 5,
            transactions_table: "stampede-transactions".into(),
            sessions_table: "stampede-sessions".into(),
            audit_table: "stampede-audit".into(),
            history_retention_days: 400,
            audit_retention_days: 730,
            queue_prefix: "stampede-".into(),
            max_receive_count: 5,
            visibility_timeout_secs: 60,
            bucket: "stampede-assets".into(),
            ses_configuration_set: None,
        }
    }
}

/// One Cognito user pool and Stampede's app client in it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CognitoPoolSettings {
    pub pool_id: String,
    pub client_id: String,
    /// Expected `iss`; default `https://cognito-idp.<region>.amazonaws.com/<pool_id>`.
    pub issuer: Option<String>,
    /// Where the pool's keys are; default `<issuer>/.well-known/jwks.json`. A
    /// local endpoint serves them at `<endpoint>/<pool_id>/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
}

impl CognitoPoolSettings {
    pub fn issuer(&self, region: &str) -> String {
        self.issuer.clone().unwrap_or_else(|| stampede_aws::cognito::issuer(region, &self.pool_id))
    }

    pub fn jwks_url(&self, region: &str) -> String {
        self.jwks_url.clone().unwrap_or_else(|| format!("{}/.well-known/jwks.json", self.issuer(region)))
    }
}

/// The pools used when `identity.backend = "cognito"`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CognitoSettings {
    pub customers: CognitoPoolSettings,
    pub staff: CognitoPoolSettings,
}

impl AwsSettings {
    pub fn options(&self) -> stampede_aws::AwsOptions {
        let credentials = match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => Some((id.expose_secret().to_owned(), secret.expose_secret().to_owned())),
            _ => None,
        };
        stampede_aws::AwsOptions {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            static_credentials: credentials,
            attempt_timeout: std::time::Duration::from_secs(self.timeout_secs),
        }
    }

    /// What `stampede bootstrap` creates; `sender` is the bare mail address.
    pub fn resources(&self, sender: &str) -> stampede_aws::bootstrap::Resources {
        stampede_aws::bootstrap::Resources {
            transactions_table: self.transactions_table.clone(),
            sessions_table: self.sessions_table.clone(),
            audit_table: self.audit_table.clone(),
            queue_prefix: self.queue_prefix.clone(),
            max_receive_count: self.max_receive_count,
            visibility_timeout_secs: self.visibility_timeout_secs,
            sender: sender.to_owned(),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
        }
    }
}
