//! Typed settings: defaults, then an optional `stampede.toml`, then `STAMPEDE_*`
//! environment variables (nested keys joined with `__`, e.g.
//! `STAMPEDE_DATABASE__URL`). The result is one [`Settings`] value passed
//! explicitly to whatever needs it; there are no global statics.
//!
//! Every section refuses unknown keys, and [`Settings::validate`] checks what the
//! types cannot, so a mistake stops start-up with one line naming the key.
//! `stampede.example.toml` documents every key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use stampede_store::{DatabaseBackend, DatabaseOptions, SqliteSync};

mod aws;
pub use aws::{AwsSettings, CognitoPoolSettings, CognitoSettings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where the embedded default keeps its files (SQLite, keys, mail, objects).
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub history: HistorySettings,
    pub sessions: RecordSettings,
    pub audit: RecordSettings,
    pub queue: QueueSettings,
    pub mail: MailSettings,
    pub objects: ObjectSettings,
    pub uploads: UploadSettings,
    pub cache: CacheSettings,
    pub identity: IdentitySettings,
    pub rate_limits: RateLimitSettings,
    pub runtime: RuntimeSettings,
    pub log: LogSettings,
    pub bootstrap: BootstrapSettings,
    pub aws: AwsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            history: HistorySettings::default(),
            sessions: RecordSettings::default(),
            audit: RecordSettings::default(),
            queue: QueueSettings::default(),
            mail: MailSettings::default(),
            objects: ObjectSettings::default(),
            uploads: UploadSettings::default(),
            cache: CacheSettings::default(),
            identity: IdentitySettings::default(),
            rate_limits: RateLimitSettings::default(),
            runtime: RuntimeSettings::default(),
            log: LogSettings::default(),
            bootstrap: BootstrapSettings::default(),
            aws: AwsSettings::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// How long in-flight requests get to finish on SIGTERM / SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Worker threads of the HTTP server; 0 means one per core.
    pub workers: usize,
    /// Where people reach this server (or the web app in front of it): the base
    /// of links in emails.
    pub public_url: String,
    /// Proxies in front of this server (CIDRs such as `10.0.0.0/8`): when
    /// the peer is one of them, the client address for rate limits is the
    /// right-most `X-Forwarded-For` entry that is not. Empty: the peer address.
    pub trusted_proxies: Vec<String>,
    /// Other origins whose pages may call the API from a browser
    /// (`https://shop.example.com`, exactly as the browser sends `Origin`).
    /// Empty, the default: no CORS headers, so only pages served by this
    /// server (the web apps) can.
    pub cors_origins: Vec<String>,
}

impl ServerSettings {
    /// `trusted_proxies`, parsed (a bare address counts as its own /32 or /128).
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, String> {
        let parse = |raw: &String| {
            let raw = raw.trim();
            raw.parse::<ipnet::IpNet>()
                .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| raw.to_owned())
        };
        self.trusted_proxies.iter().map(parse).collect()
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 30,
            workers: 0,
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub backend: DatabaseBackend,
    /// `postgres://user:password@host:port/db`, or a SQLite file path. For SQLite
    /// it defaults to `<data_dir>/stampede.db`; for PostgreSQL it is required.
    pub url: Option<SecretString>,
    pub max_connections: u32,
    /// PostgreSQL connections opened at start-up and kept open, so that no
    /// request waits while a new one is set up (~100 ms measured here, which
    /// held a group commit and every write behind it). Default: all of
    /// `max_connections`.
    pub min_connections: Option<u32>,
    pub connect_timeout_secs: u64,
    /// Apply pending migrations at start-up (else run `stampede migrate`).
    pub auto_migrate: bool,
    pub sqlite_synchronous: SqliteSync,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            backend: DatabaseBackend::Sqlite,
            url: None,
            max_connections: 10,
            min_connections: None,
            connect_timeout_secs: 5,
            auto_migrate: true,
            sqlite_synchronous: SqliteSync::Full,
        }
    }
}

/// Where history queries read committed transactions: the SQL ledger itself,
/// or DynamoDB, which the outbox relay fills moments after each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HistoryBackend {
    #[default]
    Sql,
    Dynamodb,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySettings {
    pub backend: HistoryBackend,
}

/// Where refresh-token families and one-time tokens (`[sessions]`), or
/// security and admin events (`[audit]`), are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RecordBackend {
    /// Tables in the system of record.
    #[default]
    Sql,
    /// The `[aws]` sessions or audit table.
    Dynamodb,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RecordSettings {
    pub backend: RecordBackend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QueueBackend {
    #[default]
    InProcess,
    Sqs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueSettings {
    pub backend: QueueBackend,
    /// In process: how long a message the workers took stays hidden from
    /// other takers. Only a process that died while holding it makes anyone
    /// wait this long (its messages are handled this much after a restart).
    pub lease_secs: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self { backend: QueueBackend::InProcess, lease_secs: 30 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MailBackend {
    /// One `.eml` file per message under `<data_dir>/mail`.
    #[default]
    Files,
    Ses,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    pub backend: MailBackend,
    pub from: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self { backend: MailBackend::Files, from: "Stampede <no-reply@stampede.local>".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ObjectBackend {
    /// Files under `<data_dir>/objects`.
    #[default]
    Files,
    S3,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectSettings {
    pub backend: ObjectBackend,
}

/// What customers may keep in `/v1/me/uploads`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadSettings {
    /// Uploads one customer may hold at once.
    pub max_per_customer: u32,
    /// Bytes one customer may hold at once.
    pub max_bytes_per_customer: u64,
    /// Days an upload is kept; then it is deleted.
    pub retention_days: u32,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self { max_per_customer: 20, max_bytes_per_customer: 50 * 1024 * 1024, retention_days: 30 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CacheBackend {
    #[default]
    InProcess,
    Redis,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Serves the cache and the rate limiter.
    pub backend: CacheBackend,
    /// `redis://127.0.0.1:6379/0`; required when the backend is `redis`.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key, so one Redis can serve several deployments.
    pub key_prefix: String,
    /// Bytes the in-process cache may hold.
    pub memory_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            backend: CacheBackend::InProcess,
            redis_url: None,
            key_prefix: "stampede:".into(),
            memory_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IdentityBackend {
    /// The built-in issuer: argon2id passwords, signed JWTs, JWKS.
    #[default]
    Local,
    Cognito,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    pub backend: IdentityBackend,
    /// The `iss` of tokens the local issuer signs.
    pub local_issuer: String,
    /// Lifetime of access tokens (short: they cannot be revoked).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh-token family's members.
    pub refresh_token_ttl_days: u64,
    /// How long verification, reset and invitation links stay valid.
    pub email_token_ttl_hours: u64,
    pub invitation_ttl_days: u64,
    /// Passwords: minimum length (NIST SP 800-63B asks for at least 8).
    pub min_password_length: usize,
    /// Concurrent argon2id hashes (each ~19 MiB and one core for ~50 ms).
    pub max_concurrent_hashes: usize,
    pub google: SocialSettings,
    pub apple: SocialSettings,
    /// The pools, when `backend = "cognito"`.
    pub cognito: CognitoSettings,
    /// The key of signed links in emails (unsubscribe, export downloads), 32
    /// bytes in base64: required where `<data_dir>/keys` is not shared (Lambda,
    /// several API hosts); unset, a key file in `<data_dir>/keys` is used.
    pub link_secret: Option<SecretString>,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            backend: IdentityBackend::Local,
            local_issuer: "urn:stampede:local".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            email_token_ttl_hours: 24,
            invitation_ttl_days: 7,
            min_password_length: 10,
            max_concurrent_hashes: 2,
            google: SocialSettings {
                issuers: vec!["https://accounts.google.com".into(), "accounts.google.com".into()],
                jwks_url: "https://www.googleapis.com/oauth2/v3/certs".into(),
                client_ids: Vec::new(),
            },
            apple: SocialSettings {
                issuers: vec!["https://appleid.apple.com".into()],
                jwks_url: "https://appleid.apple.com/auth/keys".into(),
                client_ids: Vec::new(),
            },
            cognito: CognitoSettings::default(),
            link_secret: None,
        }
    }
}

/// A social identity provider whose ID tokens customers may sign in with. Empty
/// `client_ids` turns the provider off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialSettings {
    /// Accepted `iss` values.
    pub issuers: Vec<String>,
    pub jwks_url: String,
    /// Accepted `aud` values: your OAuth client ids at the provider.
    pub client_ids: Vec<String>,
}

/// Rate limits: `count` requests per `period_secs`, bursts up to `count`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub count: u32,
    pub period_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    pub login_per_ip: LimitSettings,
    pub login_per_account: LimitSettings,
    pub register_per_ip: LimitSettings,
    /// Registrations naming one email address: each sends that inbox a mail.
    pub register_per_email: LimitSettings,
    pub reset_per_ip: LimitSettings,
    pub reset_per_account: LimitSettings,
    pub pos_per_terminal: LimitSettings,
    /// Upload slots a customer may ask for.
    pub uploads_per_customer: LimitSettings,
    /// Invitations one staff member may send (each is a mail).
    pub invitations_per_staff: LimitSettings,
    /// Password changes of one staff account (each checks a password).
    pub password_change_per_account: LimitSettings,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        let l = |count, period_secs| LimitSettings { count, period_secs };
        Self {
            login_per_ip: l(30, 60),
            login_per_account: l(10, 900),
            register_per_ip: l(10, 3600),
            register_per_email: l(3, 3600),
            reset_per_ip: l(10, 3600),
            reset_per_account: l(3, 3600),
            pos_per_terminal: l(600, 60),
            uploads_per_customer: l(20, 3600),
            invitations_per_staff: l(30, 3600),
            password_change_per_account: l(5, 900),
        }
    }
}

/// Which engine serves the POS endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Card actors and group commit.
    #[default]
    Actors,
    /// One database transaction per request (the baseline).
    Naive,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    pub engine: Engine,
    /// Group-commit writers; a card always uses the same one.
    pub writers: usize,
    /// Largest group commit.
    pub max_batch: usize,
    /// How long (µs) a writer under load holds a group commit open for more
    /// operations; 0 commits what is there at once.
    pub commit_window_us: u64,
    /// Operations waiting per writer before POS calls get 503.
    pub writer_queue: usize,
    /// Commands a card actor holds while it loads its card, before POS calls
    /// get 503.
    pub mailbox: usize,
    /// An idle card actor is passivated after this long.
    pub idle_timeout_secs: u64,
    /// At most this many card actors in memory (least recently used go first).
    pub max_actors: usize,
    /// How long an idempotent answer is kept for replays.
    pub idempotency_ttl_hours: u64,
    /// How long after a transaction it may still be cancelled.
    pub cancel_window_secs: u64,
    /// How often the expiry sweep runs.
    pub expiry_sweep_secs: u64,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            engine: Engine::Actors,
            writers: 1,
            max_batch: 500,
            commit_window_us: 1_000,
            writer_queue: 20_000,
            mailbox: 256,
            idle_timeout_secs: 300,
            max_actors: 1_000_000,
            idempotency_ttl_hours: 24,
            cancel_window_secs: 1800,
            expiry_sweep_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `stampede=debug,sqlx=warn`.
    /// `RUST_LOG`, when set, wins.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Json, level: "info,sqlx=warn".into() }
    }
}

/// The account created at first start, when no staff account exists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapSettings {
    pub owner_email: String,
    pub owner_name: String,
    pub business_name: String,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self {
            owner_email: "owner@stampede.local".into(),
            owner_name: "Owner".into(),
            business_name: "My Business".into(),
        }
    }
}

/// A configuration mistake, phrased as one line that names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Defaults, then `file` (if given it must exist; else `./stampede.toml` if
    /// present), then `STAMPEDE_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("stampede.toml").exists() => figment = figment.merge(Toml::file_exact("stampede.toml")),
            None => {}
        }
        figment = figment.merge(Env::prefixed("STAMPEDE_").split("__").ignore(&["config"]));
        Self::extract(figment)
    }

    /// Settings from one TOML string, then validation; used by tests and tools.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::extract(Figment::from(Toml::string(text)))
    }

    fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(describe)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Rules the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty");
        }
        if self.server.host.trim().is_empty() {
            return bad("server.host", "must not be empty");
        }
        if self.server.body_limit_bytes == 0 {
            return bad("server.body_limit_bytes", "must be greater than 0");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be greater than 0");
        }
        if self.database.min_connections.is_some_and(|m| m > self.database.max_connections) {
            return bad("database.min_connections", "must not exceed database.max_connections");
        }
        if self.database.connect_timeout_secs == 0 {
            return bad("database.connect_timeout_secs", "must be greater than 0");
        }
        if self.database.backend == DatabaseBackend::Postgres && self.database.url.is_none() {
            return bad("database.url", "is required when database.backend = \"postgres\"");
        }
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            let pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
            match self.database.backend {
                DatabaseBackend::Postgres if !pg => {
                    return bad("database.url", "must start with postgres:// when database.backend = \"postgres\"");
                }
                DatabaseBackend::Sqlite if pg => {
                    return bad("database.url", "is a PostgreSQL URL but database.backend = \"sqlite\"");
                }
                _ => {}
            }
        }
        let up = &self.uploads;
        if up.max_per_customer == 0 || up.max_bytes_per_customer == 0 || up.retention_days == 0 {
            return bad(
                "uploads",
                "max_per_customer, max_bytes_per_customer and retention_days must be greater than 0",
            );
        }
        if self.server.trusted_proxy_nets().is_err() {
            return bad("server.trusted_proxies", "each entry must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32");
        }
        if !self.server.cors_origins.iter().all(|o| is_origin(o)) {
            return bad(
                "server.cors_origins",
                "each entry must be an origin such as https://shop.example.com (no path)",
            );
        }
        if !(self.server.public_url.starts_with("http://") || self.server.public_url.starts_with("https://")) {
            return bad("server.public_url", "must start with http:// or https://");
        }
        let id = &self.identity;
        if id.local_issuer.trim().is_empty() {
            return bad("identity.local_issuer", "must not be empty");
        }
        if !(60..=3600).contains(&id.access_token_ttl_secs) {
            return bad("identity.access_token_ttl_secs", "must be between 60 and 3600");
        }
        if id.refresh_token_ttl_days == 0 || id.email_token_ttl_hours == 0 || id.invitation_ttl_days == 0 {
            return bad("identity", "token lifetimes must be greater than 0");
        }
        if id.min_password_length < 8 {
            return bad("identity.min_password_length", "must be at least 8");
        }
        if id.max_concurrent_hashes == 0 {
            return bad("identity.max_concurrent_hashes", "must be greater than 0");
        }
        let limits = &self.rate_limits;
        for (key, l) in [
            ("rate_limits.login_per_ip", limits.login_per_ip),
            ("rate_limits.login_per_account", limits.login_per_account),
            ("rate_limits.register_per_ip", limits.register_per_ip),
            ("rate_limits.register_per_email", limits.register_per_email),
            ("rate_limits.reset_per_ip", limits.reset_per_ip),
            ("rate_limits.reset_per_account", limits.reset_per_account),
            ("rate_limits.pos_per_terminal", limits.pos_per_terminal),
            ("rate_limits.uploads_per_customer", limits.uploads_per_customer),
            ("rate_limits.invitations_per_staff", limits.invitations_per_staff),
            ("rate_limits.password_change_per_account", limits.password_change_per_account),
        ] {
            if l.count == 0 || l.period_secs == 0 {
                return bad(key, "count and period_secs must be greater than 0");
            }
        }
        let rt = &self.runtime;
        for (key, v) in [
            ("runtime.writers", rt.writers),
            ("runtime.max_batch", rt.max_batch),
            ("runtime.writer_queue", rt.writer_queue),
            ("runtime.mailbox", rt.mailbox),
            ("runtime.max_actors", rt.max_actors),
        ] {
            if v == 0 {
                return bad(key, "must be greater than 0");
            }
        }
        if rt.commit_window_us > 100_000 {
            return bad("runtime.commit_window_us", "must be at most 100000 (a tenth of a second)");
        }
        if self.queue.lease_secs == 0 {
            return bad("queue.lease_secs", "must be greater than 0");
        }
        if rt.idempotency_ttl_hours < 24 {
            return bad("runtime.idempotency_ttl_hours", "must be at least 24");
        }
        if rt.idle_timeout_secs == 0 || rt.expiry_sweep_secs == 0 {
            return bad("runtime", "idle_timeout_secs and expiry_sweep_secs must be greater than 0");
        }
        if self.cache.backend == CacheBackend::Redis && self.cache.redis_url.is_none() {
            return bad("cache.redis_url", "is required when cache.backend = \"redis\"");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return bad("log.level", "is not a valid tracing filter (e.g. \"info\" or \"stampede=debug\")");
        }
        if stampede_domain::email::Email::parse(&self.bootstrap.owner_email).is_err() {
            return bad("bootstrap.owner_email", "is not a valid email address");
        }
        if stampede_domain::text::Name::parse(&self.bootstrap.business_name).is_err() {
            return bad("bootstrap.business_name", "must be 1 to 200 characters");
        }
        if stampede_domain::text::Name::parse(&self.bootstrap.owner_name).is_err() {
            return bad("bootstrap.owner_name", "must be 1 to 200 characters");
        }
        self.validate_aws()?;
        Ok(())
    }

    /// The database options the store crate needs.
    pub fn database_options(&self) -> DatabaseOptions {
        let url = match &self.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => self.data_dir().join("stampede.db").display().to_string(),
        };
        DatabaseOptions {
            backend: self.database.backend,
            url,
            max_connections: self.database.max_connections,
            min_connections: self.database.min_connections.unwrap_or(self.database.max_connections),
            connect_timeout: Duration::from_secs(self.database.connect_timeout_secs),
            migrate: self.database.auto_migrate,
            sqlite_sync: self.database.sqlite_synchronous,
        }
    }

    /// Whether any backend is an AWS service (then `[aws]` is used).
    pub fn uses_aws(&self) -> bool {
        self.history.backend == HistoryBackend::Dynamodb
            || self.sessions.backend == RecordBackend::Dynamodb
            || self.audit.backend == RecordBackend::Dynamodb
            || self.queue.backend == QueueBackend::Sqs
            || self.mail.backend == MailBackend::Ses
            || self.objects.backend == ObjectBackend::S3
            || self.identity.backend == IdentityBackend::Cognito
    }

    /// The bare address of `mail.from` (`Name <a@b>` gives `a@b`).
    pub fn sender_address(&self) -> String {
        let from = self.mail.from.trim();
        match (from.rfind('<'), from.rfind('>')) {
            (Some(a), Some(b)) if a < b => from[a + 1..b].trim().to_owned(),
            _ => from.to_owned(),
        }
    }

    fn validate_aws(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if !self.uses_aws() {
            return Ok(());
        }
        let aws = &self.aws;
        if aws.region.trim().is_empty() {
            return bad("aws.region", "is required when a backend is an AWS service");
        }
        if let Some(url) = &aws.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad("aws.endpoint_url", "must be an http:// or https:// URL");
        }
        if aws.access_key_id.is_some() != aws.secret_access_key.is_some() {
            return bad("aws.access_key_id", "and aws.secret_access_key must be given together");
        }
        if aws.timeout_secs == 0 {
            return bad("aws.timeout_secs", "must be greater than 0");
        }
        if !(1..=1000).contains(&aws.max_receive_count) {
            return bad("aws.max_receive_count", "must be between 1 and 1000");
        }
        if aws.visibility_timeout_secs > 43_200 {
            return bad("aws.visibility_timeout_secs", "must be at most 43200 (12 hours)");
        }
        for (key, name) in [
            ("aws.transactions_table", &aws.transactions_table),
            ("aws.sessions_table", &aws.sessions_table),
            ("aws.audit_table", &aws.audit_table),
            ("aws.bucket", &aws.bucket),
        ] {
            if name.trim().is_empty() {
                return bad(key, "must not be empty");
            }
        }
        if self.mail.backend == MailBackend::Ses
            && stampede_domain::email::Email::parse(&self.sender_address()).is_err()
        {
            return bad("mail.from", "must hold a valid address (the verified SES sender)");
        }
        if self.identity.backend == IdentityBackend::Cognito {
            let pools = [("customers", &self.identity.cognito.customers), ("staff", &self.identity.cognito.staff)];
            for (which, pool) in pools {
                if pool.pool_id.trim().is_empty() {
                    return bad(
                        &format!("identity.cognito.{which}.pool_id"),
                        "is required when identity.backend = \"cognito\"",
                    );
                }
                if pool.client_id.trim().is_empty() {
                    return bad(
                        &format!("identity.cognito.{which}.client_id"),
                        "is required when identity.backend = \"cognito\"",
                    );
                }
            }
        }
        Ok(())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }
}

/// Turn figment's error into one line: the dotted key, what was wrong, and where
/// the value came from (file or environment variable).
fn describe(err: figment::Error) -> ConfigError {
    let mut path = err.path.clone();
    // Figment puts the unknown key in the path for some providers, not others.
    if let figment::error::Kind::UnknownField(field, _) = &err.kind
        && path.last() != Some(field)
    {
        path.push(field.clone());
    }
    let key = if path.is_empty() { "(top level)".to_owned() } else { path.join(".") };
    let what = match &err.kind {
        figment::error::Kind::UnknownField(..) => "unknown key".to_owned(),
        other => other.to_string(),
    };
    let source = err
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(src) => format!(" (from {src})"),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    ConfigError(format!("{key}: {what}{source}"))
}

/// `scheme://host[:port]` and nothing more: what a browser sends as `Origin`.
fn is_origin(raw: &str) -> bool {
    let Some(rest) = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://")) else { return false };
    !rest.is_empty() && !rest.contains(['/', '?', '#', ' ', '*']) && !raw.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_shape() {
        let s = Settings::from_toml("").expect("defaults validate");
        assert_eq!(s.database.backend, DatabaseBackend::Sqlite);
        assert_eq!(s.server.port, 8080);
        assert!(s.database_options().url.ends_with("stampede.db"));
    }

    #[test]
    fn cors_origins_are_bare_origins() {
        let ok =
            Settings::from_toml("[server]\ncors_origins = [\"https://shop.example.com\", \"http://127.0.0.1:5173\"]\n");
        assert_eq!(ok.expect("origins").server.cors_origins.len(), 2);
        for bad in ["https://shop.example.com/", "*", "shop.example.com", "https://"] {
            let err = Settings::from_toml(&format!("[server]\ncors_origins = [\"{bad}\"]\n")).expect_err(bad);
            assert!(err.to_string().contains("server.cors_origins"), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Settings::from_toml("[server]\nprot = 1\n").expect_err("unknown key");
        assert!(err.0.starts_with("server.prot: unknown key"), "{}", err.0);
        let err = Settings::from_toml("colour = \"red\"\n").expect_err("unknown key");
        assert!(err.0.starts_with("colour: unknown key"), "{}", err.0);
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::from_toml("[server]\nport = \"eighty\"\n").expect_err("bad type");
        assert!(err.0.starts_with("server.port:"), "{}", err.0);
        let err = Settings::from_toml("[database]\nbackend = \"oracle\"\n").expect_err("bad variant");
        assert!(err.0.starts_with("database.backend:"), "{}", err.0);
        let err = Settings::from_toml("[database]\nbackend = \"postgres\"\n").expect_err("missing url");
        assert!(err.0.starts_with("database.url:"), "{}", err.0);
        let err = Settings::from_toml("[database]\nmax_connections = 4\nmin_connections = 5\n").expect_err("min > max");
        assert!(err.0.starts_with("database.min_connections:"), "{}", err.0);
        let err = Settings::from_toml("[queue]\nlease_secs = 0\n").expect_err("no lease");
        assert!(err.0.starts_with("queue.lease_secs:"), "{}", err.0);
        let err = Settings::from_toml("[log]\nlevel = \"=][\"\n").expect_err("bad filter");
        assert!(err.0.starts_with("log.level:"), "{}", err.0);
        let err = Settings::from_toml("[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n").expect_err("bad cidr");
        assert!(err.0.starts_with("server.trusted_proxies:"), "{}", err.0);
        let ok =
            Settings::from_toml("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.1\"]\n");
        assert_eq!(ok.expect("valid").server.trusted_proxy_nets().map(|n| n.len()), Ok(3));
    }

    #[test]
    fn the_example_file_is_valid_and_documents_the_defaults() {
        let example = include_str!("../stampede.example.toml");
        let s = Settings::from_toml(example).expect("stampede.example.toml is valid");
        let d = Settings::from_toml("").expect("defaults");
        assert_eq!(format!("{s:?}"), format!("{d:?}"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::from_toml("[database]\nbackend = \"postgres\"\nurl = \"postgres://u:hunter2@h/db\"\n")
            .expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
