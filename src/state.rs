//! What every handler can reach, built once at start-up (outside
//! `HttpServer::new`) and shared.

use std::sync::Arc;
use std::time::Duration;

use stampede_domain::ports::{
    AuditRepo, Cache, HistoryStore, Limit, ObjectStore, Queue, RateLimiter, SessionRepo, Store,
};

use crate::auth::tokens::LocalIssuer;
use crate::auth::verify::TokenVerifier;
use crate::configuration::{LimitSettings, RateLimitSettings};
use crate::password::PasswordHasher;

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Refresh tokens and one-time tokens: the store, or DynamoDB.
    pub sessions: Arc<dyn SessionRepo>,
    /// Security and admin events: the store, or DynamoDB.
    pub audit: Arc<dyn AuditRepo>,
    pub passwords: PasswordHasher,
    pub verifier: TokenVerifier,
    pub issuer: LocalIssuer,
    pub cache: Arc<dyn Cache>,
    /// Business, store, program and terminal records, kept decoded and
    /// checked against the cache's generations.
    pub records: Arc<crate::cached::Records>,
    pub limiter: Arc<dyn RateLimiter>,
    pub limits: Limits,
    pub objects: Arc<dyn ObjectStore>,
    /// Where committed transactions are copied (SQL or DynamoDB).
    pub history: Arc<dyn HistoryStore>,
    /// With DynamoDB, card history is read from there; with SQL, from the ledger.
    pub history_reads: crate::configuration::HistoryBackend,
    /// Serves POS operations: card actors or the naive baseline.
    pub engine: Arc<dyn stampede_actors::CardEngine>,
    pub runtime_metrics: stampede_actors::RuntimeMetrics,
    pub directory: crate::directory::Directory,
    pub pos: PosPolicy,
    /// What customers may keep in their uploads.
    pub uploads: crate::configuration::UploadSettings,
    /// The queues: in process (the embedded default) or SQS.
    pub queue: Arc<dyn Queue>,
    /// App usage (sign-ins, card views) for the analytics, published in batches.
    pub usage: crate::usage::Usage,
    /// Terminals whose last-used time was written in the last minute.
    pub touched: moka::future::Cache<uuid::Uuid, ()>,
    pub links: Links,
    pub policy: Policy,
    /// A real argon2id hash of a random password, verified against when an
    /// account does not exist so that answers take comparable time.
    pub dummy_hash: String,
    /// With `identity.backend = "cognito"`: the customer and staff pools that
    /// sign people up and in (their tokens are verified by `verifier`).
    pub cognito: Option<CognitoPools>,
    /// Signs and checks the links in emails (unsubscribe, export downloads).
    pub link_key: Arc<crate::auth::links::LinkKey>,
    /// Seals second factors' secrets and keys their recovery codes.
    pub mfa: Arc<crate::auth::totp::Sealer>,
}

pub struct CognitoPools {
    pub customers: stampede_aws::cognito::CognitoPool,
    pub staff: stampede_aws::cognito::CognitoPool,
}

/// POS rules from settings.
pub struct PosPolicy {
    pub idempotency_ttl: Duration,
    pub cancel_window: chrono::Duration,
}

/// Account rules from settings.
pub struct Policy {
    pub min_password_length: usize,
    pub email_token_ttl: Duration,
    pub invitation_ttl: Duration,
}

/// Builds the links that go out in emails.
pub struct Links {
    pub public_url: String,
}

impl Links {
    pub fn to(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url.trim_end_matches('/'))
    }
}

/// The rate limits, from settings.
pub struct Limits {
    pub login_per_ip: Limit,
    pub login_per_account: Limit,
    pub register_per_ip: Limit,
    pub register_per_email: Limit,
    pub reset_per_ip: Limit,
    pub reset_per_account: Limit,
    pub pos_per_terminal: Limit,
    pub uploads_per_customer: Limit,
    pub invitations_per_staff: Limit,
    pub password_change_per_account: Limit,
}

impl Limits {
    pub fn from_settings(s: &RateLimitSettings) -> Self {
        let l = |name, v: LimitSettings| Limit { name, count: v.count, period: Duration::from_secs(v.period_secs) };
        Self {
            login_per_ip: l("login_ip", s.login_per_ip),
            login_per_account: l("login_account", s.login_per_account),
            register_per_ip: l("register_ip", s.register_per_ip),
            register_per_email: l("register_email", s.register_per_email),
            reset_per_ip: l("reset_ip", s.reset_per_ip),
            reset_per_account: l("reset_account", s.reset_per_account),
            pos_per_terminal: l("pos_terminal", s.pos_per_terminal),
            uploads_per_customer: l("uploads_customer", s.uploads_per_customer),
            invitations_per_staff: l("invitations_staff", s.invitations_per_staff),
            password_change_per_account: l("password_change_account", s.password_change_per_account),
        }
    }
}
