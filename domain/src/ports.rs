//! The ports: what the application needs from storage, as traits. The adapters in
//! `stampede-store` (PostgreSQL, SQLite) implement them; one contract test suite
//! runs against every implementation.

use async_trait::async_trait;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::business::{Brand, Business, NewBusiness, NewStore, Store as StoreRecord};
use crate::card::Card;
use crate::customer::{Customer, NewCustomer};
use crate::email::Email;
use crate::identity::{
    AuditEvent, MfaFactor, NewOneTimeToken, NewRefreshToken, OneTimeToken, RefreshOutcome, SubjectKind, Terminal,
    TokenPurpose,
};
use crate::ids::{BrandId, BusinessId, CardId, CustomerId, StaffId, StoreId};
use crate::page::{Page, PageRequest};
use crate::program::{Campaign, Program, ProgramRules, Reward};
use crate::staff::{Acceptance, Invitation, Membership, NewInvitation, NewStaff, Staff};

/// Failures every storage port can report. Adapters map their driver errors onto
/// these so callers never see SQL.
#[derive(Debug, Clone, thiserror::Error)]
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

    /// Hand back memory the store keeps on this side for reuse (an embedded
    /// database's page caches), after a large drop in load, so it can go back
    /// to the system. Connections in use are left alone. Nothing by default.
    async fn release_memory(&self) {}
}

/// The audit event recording an admin write, staged in the write's own
/// transaction so the change and its record commit together or not at all.
/// Where the write returns the record, the event's `after` is that record as
/// written ([`AuditEvent::written`]). `None`: a write no one made through the
/// API (seeding, fixtures).
pub type Audit<'a> = Option<&'a AuditEvent>;

#[async_trait]
pub trait BusinessRepo: Send + Sync {
    async fn create_business(&self, new: NewBusiness, audit: Audit<'_>) -> StoreResult<Business>;
    async fn get_business(&self, id: BusinessId) -> StoreResult<Option<Business>>;
    /// Businesses ordered by id; `active_only` filters out deactivated ones.
    async fn list_businesses(&self, page: PageRequest, active_only: bool) -> StoreResult<Page<Business>>;
    /// Deactivate if `expected_version` still matches; returns the new record.
    async fn deactivate_business(&self, id: BusinessId, expected_version: i64) -> StoreResult<Option<Business>>;
    /// Write the record's fields if its version is still `expected_version`;
    /// bumps the version. `None`: no such record. `VersionMismatch`: changed since.
    async fn save_business(
        &self,
        b: &Business,
        expected_version: i64,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Business>>;
}

#[async_trait]
pub trait PlaceRepo: Send + Sync {
    async fn create_brand(&self, business_id: BusinessId, name: &str, audit: Audit<'_>) -> StoreResult<Brand>;
    async fn get_brand(&self, id: BrandId) -> StoreResult<Option<Brand>>;
    /// Fails with `Other` if the brand is not of the store's business.
    async fn create_store(&self, new: NewStore, audit: Audit<'_>) -> StoreResult<StoreRecord>;
    async fn get_store(&self, id: StoreId) -> StoreResult<Option<StoreRecord>>;
    async fn list_brands(&self, business_id: BusinessId) -> StoreResult<Vec<Brand>>;
    async fn save_brand(&self, b: &Brand, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Brand>>;
    /// Stores of a business by id, optionally of one brand and/or active only.
    async fn list_stores(
        &self,
        business_id: BusinessId,
        brand_id: Option<BrandId>,
        active_only: bool,
        page: PageRequest,
    ) -> StoreResult<Page<StoreRecord>>;
    async fn save_store(
        &self,
        s: &StoreRecord,
        expected_version: i64,
        audit: Audit<'_>,
    ) -> StoreResult<Option<StoreRecord>>;
}

#[async_trait]
pub trait ProgramRepo: Send + Sync {
    /// Stores the program at version 1 and its first rules version.
    async fn create_program(&self, p: &Program, audit: Audit<'_>) -> StoreResult<()>;
    async fn get_program(&self, id: Uuid) -> StoreResult<Option<Program>>;
    async fn list_programs(&self, business_id: BusinessId, active_only: bool) -> StoreResult<Vec<Program>>;
    /// Saves and records the rules as the new version.
    async fn save_program(&self, p: &Program, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Program>>;
    async fn program_rules_at(&self, id: Uuid, version: i64) -> StoreResult<Option<ProgramRules>>;
    /// Every version of the program's rules, newest first.
    async fn program_versions(&self, id: Uuid) -> StoreResult<Vec<crate::program::ProgramVersion>>;
    async fn create_reward(&self, r: &Reward, audit: Audit<'_>) -> StoreResult<()>;
    async fn get_reward(&self, id: Uuid) -> StoreResult<Option<Reward>>;
    async fn list_rewards(&self, program_id: Uuid) -> StoreResult<Vec<Reward>>;
    async fn save_reward(&self, r: &Reward, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Reward>>;
    async fn create_campaign(&self, business_id: BusinessId, c: &Campaign, audit: Audit<'_>) -> StoreResult<()>;
    async fn get_campaign(&self, id: Uuid) -> StoreResult<Option<Campaign>>;
    async fn list_campaigns(&self, program_id: Uuid) -> StoreResult<Vec<Campaign>>;
    async fn save_campaign(
        &self,
        c: &Campaign,
        expected_version: i64,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Campaign>>;
}

#[async_trait]
pub trait CardRepo: Send + Sync {
    /// The customer's card in the program, created if missing: `(card, created)`.
    async fn join_program(
        &self,
        program_id: Uuid,
        business_id: BusinessId,
        customer_id: CustomerId,
        code: &str,
    ) -> StoreResult<(Card, bool)>;
    async fn get_card(&self, id: CardId) -> StoreResult<Option<Card>>;
    async fn find_card_by_code(&self, code: &str) -> StoreResult<Option<Card>>;
    /// The cards among `ids` that exist, in one query, in no given order.
    async fn get_cards(&self, ids: &[CardId]) -> StoreResult<Vec<Card>>;
    /// The cards whose counter code is among `codes` (exact, as stored), in
    /// one query, in no given order.
    async fn find_cards_by_code(&self, codes: &[String]) -> StoreResult<Vec<Card>>;
    async fn list_customer_cards(&self, customer_id: CustomerId) -> StoreResult<Vec<Card>>;
}

#[async_trait]
pub trait AuditRepo: Send + Sync {
    async fn record_audit(&self, e: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(&self, business_id: BusinessId, page: PageRequest) -> StoreResult<Page<AuditEvent>>;
}

/// Profile fields a customer may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChanges {
    pub name: Option<String>,
    /// `Some(None)` clears the phone number.
    pub phone: Option<Option<String>>,
    pub preferences: Option<serde_json::Value>,
}

/// Which social identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocialProvider {
    Google,
    Apple,
}

#[async_trait]
pub trait CustomerRepo: Send + Sync {
    async fn create_customer(&self, new: NewCustomer) -> StoreResult<Customer>;
    async fn get_customer(&self, id: CustomerId) -> StoreResult<Option<Customer>>;
    async fn find_customer_by_email(&self, email: &Email) -> StoreResult<Option<Customer>>;
    /// Customers whose phone is `phone` (as [`crate::input::phone::normalize`]
    /// keeps it), at most 20: a family may share one.
    async fn find_customers_by_phone(&self, phone: &str) -> StoreResult<Vec<Customer>>;
    async fn find_customer_by_social(&self, provider: SocialProvider, subject: &str) -> StoreResult<Option<Customer>>;
    /// Link a social identity whose provider vouches for the account's email,
    /// and mark that email verified as of `at`. An account whose email was never
    /// verified is claimed in the same statement: its password is cleared, since
    /// whoever set it never proved they own the address (the caller signs its
    /// sessions out). `Conflict("social identity")` if another customer has it.
    async fn link_social(
        &self,
        id: CustomerId,
        provider: SocialProvider,
        subject: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn update_profile(&self, id: CustomerId, changes: ProfileChanges) -> StoreResult<Option<Customer>>;
    async fn set_customer_password(&self, id: CustomerId, password_hash: &str) -> StoreResult<()>;
    async fn mark_email_verified(&self, id: CustomerId, at: DateTime<Utc>) -> StoreResult<()>;
    /// Erase personal data, keep the id (cards and ledger stay, pseudonymous).
    async fn erase_customer(&self, id: CustomerId) -> StoreResult<()>;
    /// Whether the account was erased (an id with no account at all, such as
    /// a Cognito user who has not made a profile yet, was not).
    async fn customer_erased(&self, id: CustomerId) -> StoreResult<bool>;
    /// Record the customer's marketing consent to one business.
    async fn set_marketing_consent(
        &self,
        customer: CustomerId,
        business: BusinessId,
        marketing: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The customer's consents, one per business they answered, by business.
    async fn consents(&self, customer: CustomerId) -> StoreResult<Vec<crate::customer::Consent>>;
}

#[async_trait]
pub trait TerminalRepo: Send + Sync {
    async fn create_terminal(&self, terminal: &Terminal, audit: Audit<'_>) -> StoreResult<()>;
    async fn get_terminal(&self, id: Uuid) -> StoreResult<Option<Terminal>>;
    async fn list_terminals(&self, store_id: StoreId) -> StoreResult<Vec<Terminal>>;
    /// Returns false when there was no such live terminal.
    async fn revoke_terminal(&self, id: Uuid, at: DateTime<Utc>, audit: Audit<'_>) -> StoreResult<bool>;
    /// Returns false when there was no such live terminal.
    async fn rename_terminal(&self, id: Uuid, name: &str, audit: Audit<'_>) -> StoreResult<bool>;
    async fn touch_terminal(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Refresh-token families and one-time tokens. The AWS shape keeps sessions in
/// DynamoDB; the embedded default and PostgreSQL in the system of record.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()>;
    /// Rotate the token with this hash, atomically: exactly one caller wins.
    async fn rotate_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<RefreshOutcome>;
    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Revoke every session of the token's family; false if the token is unknown.
    async fn revoke_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<bool>;
    async fn revoke_all_sessions(&self, subject_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    async fn insert_one_time_token(&self, token: NewOneTimeToken) -> StoreResult<()>;
    /// Use a one-time token, atomically; `None` if unknown, used or expired.
    async fn consume_one_time_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeToken>>;
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
    async fn set_staff_password(&self, id: StaffId, password_hash: &str) -> StoreResult<()>;
    /// Add memberships to an existing account.
    async fn add_memberships(&self, id: StaffId, memberships: &[Membership]) -> StoreResult<()>;
    /// Everyone with a membership in the business.
    async fn list_staff(&self, business_id: BusinessId) -> StoreResult<Vec<Staff>>;
    /// Replace the account's memberships in one business (empty = remove).
    /// `false`: refused, nothing changed, because the business would be left
    /// without an owner. Decided in the same transaction as the change, with
    /// concurrent changes to the business's memberships serialised, so two
    /// owners removing each other cannot both succeed.
    async fn set_business_memberships(
        &self,
        id: StaffId,
        business_id: BusinessId,
        memberships: &[Membership],
        audit: Audit<'_>,
    ) -> StoreResult<bool>;
    async fn find_staff_by_email(&self, email: &Email) -> StoreResult<Option<Staff>>;
}

/// Staff invitations. Each write takes the audit event that records it and
/// stages it in the same transaction (see [`AuditOutbox`]).
#[async_trait]
pub trait InvitationRepo: Send + Sync {
    async fn create_invitation(&self, new: &NewInvitation, audit: &AuditEvent) -> StoreResult<Invitation>;
    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<Invitation>>;
    async fn find_invitation_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<Invitation>>;
    /// The business's invitations, newest first (the latest 200).
    async fn list_invitations(&self, business_id: BusinessId) -> StoreResult<Vec<Invitation>>;
    /// `None`: the invitation was not pending (accepted, revoked or expired).
    async fn revoke_invitation(
        &self,
        id: Uuid,
        by: StaffId,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Invitation>>;
    /// Use the pending invitation with this token and give its role, in one
    /// transaction: to the existing account (a role it has already is not
    /// added twice) or to a new account created with it. `None`: no pending
    /// invitation has this token any more; nothing changed.
    async fn accept_invitation(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        who: Acceptance,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Staff>>;
}

/// Second factors of customers and staff, with their recovery codes (keyed
/// hashes). Every write that must happen once is one conditional statement.
#[async_trait]
pub trait MfaRepo: Send + Sync {
    async fn get_mfa(&self, subject_id: Uuid) -> StoreResult<Option<MfaFactor>>;
    /// Start enrolment with a new sealed secret, replacing one still pending.
    /// `false`: a confirmed factor is there; nothing changed.
    async fn begin_mfa(
        &self,
        subject_id: Uuid,
        kind: SubjectKind,
        sealed_secret: &[u8],
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Turn the pending factor on, its first code's step used, with these
    /// recovery codes. `false`: nothing was pending, or the step is not later
    /// than one used.
    async fn confirm_mfa(
        &self,
        subject_id: Uuid,
        step: i64,
        recovery: &[Vec<u8>],
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Use `step` of a confirmed factor: `false` if it or a later step was
    /// used (a code counts once, whoever presents it first).
    async fn use_mfa_step(&self, subject_id: Uuid, step: i64) -> StoreResult<bool>;
    /// Use a recovery code: `false` if the account has no such unused code.
    async fn use_recovery_code(&self, subject_id: Uuid, code_hash: &[u8]) -> StoreResult<bool>;
    /// Replace every recovery code of a confirmed factor.
    async fn replace_recovery_codes(&self, subject_id: Uuid, recovery: &[Vec<u8>]) -> StoreResult<()>;
    /// Remove the factor and its codes; `false` if there was none.
    async fn remove_mfa(&self, subject_id: Uuid) -> StoreResult<bool>;
}

/// Audit events on their way to the audit store. An event is staged in the
/// system of record, with the change it records or right after it, and
/// relayed from there until the audit store (DynamoDB in the AWS shape) has
/// it; a store that is down delays the log, it never loses from it.
#[async_trait]
pub trait AuditOutbox: Send + Sync {
    async fn stage_audit(&self, e: &AuditEvent) -> StoreResult<()>;
    /// The oldest staged events, up to `limit`.
    async fn staged_audit(&self, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Forget staged events the audit store now holds.
    async fn audit_delivered(&self, ids: &[Uuid]) -> StoreResult<()>;
}

/// Marketing mailings (see [`crate::marketing`]): the audience fixed in the
/// commit that creates the mailing, the recipients relayed to the email
/// queue from there, and each recipient's outcome.
#[async_trait]
pub trait MailingRepo: Send + Sync {
    /// How many customers `audience` of `business` holds at `now`.
    async fn audience_size(
        &self,
        business: BusinessId,
        audience: &crate::marketing::Audience,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Create the mailing with one queued recipient per member of its
    /// audience, and stage `audit`, in one transaction.
    async fn create_mailing(
        &self,
        new: &crate::marketing::NewMailing,
        audit: &AuditEvent,
    ) -> StoreResult<crate::marketing::Mailing>;
    /// The business's mailings with their progress, newest first (the latest 100).
    async fn list_mailings(&self, business: BusinessId) -> StoreResult<Vec<crate::marketing::Mailing>>;
    /// Recipients not yet on the email queue, oldest mailing first, at most `limit`.
    async fn queued_recipients(&self, limit: i64) -> StoreResult<Vec<crate::marketing::QueuedRecipient>>;
    /// These recipients' messages are on the email queue (a recipient the
    /// email worker has handled already keeps its outcome).
    async fn recipients_published(&self, mailing_id: Uuid, customers: &[CustomerId]) -> StoreResult<()>;
    /// The email worker's outcome for one recipient; repeating it changes nothing.
    async fn recipient_handled(&self, mailing_id: Uuid, customer: CustomerId, sent: bool) -> StoreResult<()>;
}

/// Everything the system of record offers, as one object the application holds.
pub trait Store:
    HealthCheck
    + BusinessRepo
    + PlaceRepo
    + CustomerRepo
    + StaffRepo
    + TerminalRepo
    + SessionRepo
    + ProgramRepo
    + CardRepo
    + AuditRepo
    + AuditOutbox
    + InvitationRepo
    + MfaRepo
    + LedgerRepo
    + HistoryStore
    + InboxRepo
    + QueueRepo
    + AnalyticsRepo
    + ExportRepo
    + MailingRepo
{
    /// A short name for logs and metrics: `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
}

/// A shared cache of opaque values with a time to live. In-process (moka) in the
/// embedded default, Redis when several API hosts must agree.
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn set(&self, key: &str, value: &[u8], ttl: std::time::Duration) -> StoreResult<()>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// A rate limit: `count` requests per `period`, bursts up to `count` (GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Names the limit in keys and metrics, e.g. `login_ip`.
    pub name: &'static str,
    pub count: u32,
    pub period: std::time::Duration,
}

/// The answer of a rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused; the caller may retry after this long.
    Deny {
        retry_after: std::time::Duration,
    },
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Count one request against `limit` for `key` (an IP, an account, a terminal).
    async fn check(&self, limit: &Limit, key: &str) -> Decision;
}

/// An email ready to send: rendered text and HTML parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// De-duplication key: a mailer never sends two messages with one id.
    pub message_id: Uuid,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> StoreResult<()>;
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// When it was last written.
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// Object storage: logos, images, reports, exports. Keys are paths such as
/// `public/businesses/<id>/logo-<uuid>.png`; only `public/` is served to anyone.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> StoreResult<()>;
    /// The bytes and content type, if the object exists.
    async fn get(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>>;
    /// Remove the object; one that does not exist is already removed.
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Every object whose key starts with `prefix` (a folder: `…/`), in key order.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>>;

    /// Store a file's contents under `key`, streaming it (large exports never
    /// sit in memory whole). The default reads the file; adapters stream.
    async fn put_file(&self, key: &str, path: &std::path::Path, content_type: &str) -> StoreResult<()> {
        let bytes =
            std::fs::read(path).map_err(|e| StoreError::Unavailable(format!("reading {}: {e}", path.display())))?;
        self.put(key, &bytes, content_type).await
    }

    /// Whether the object exists.
    async fn exists(&self, key: &str) -> StoreResult<bool> {
        Ok(self.get(key).await?.is_some())
    }

    /// A URL a client may PUT exactly this object to (this content type and
    /// length) until `ttl` passes, if the backend can sign one; `None` means
    /// uploads go through the API.
    async fn presign_upload(
        &self,
        _key: &str,
        _content_type: &str,
        _content_length: u64,
        _ttl: std::time::Duration,
    ) -> StoreResult<Option<String>> {
        Ok(None)
    }

    /// A time-limited URL to download a private object, if the backend can sign
    /// one; `None` means downloads go through the API.
    async fn presign_download(&self, _key: &str, _ttl: std::time::Duration) -> StoreResult<Option<String>> {
        Ok(None)
    }
}

/// What one group-commit writer commits through, when a store gives it
/// something of its own (PostgreSQL: a connection the writer owns, opened on
/// the writer's runtime): the same contract as [`LedgerRepo::commit_batch`],
/// without asking a pool for a connection, and giving it back, every batch.
#[async_trait]
pub trait Committer: Send {
    async fn commit(&mut self, ops: &[crate::ledger::CommitOp]) -> StoreResult<Vec<crate::ledger::CommitOutcome>>;
}

/// The transaction path's storage: group commits, the naive one-transaction
/// path, idempotency records, the ledger, the outbox and the history store.
#[async_trait]
pub trait LedgerRepo: Send + Sync {
    /// One database transaction for the whole batch. Per operation: the card
    /// update with its version check (operations of one card share their fate),
    /// the ledger row, the idempotency record and the outbox row.
    async fn commit_batch(&self, ops: &[crate::ledger::CommitOp]) -> StoreResult<Vec<crate::ledger::CommitOutcome>>;
    /// A committer for one writer, if this store has a better way than
    /// `commit_batch` (`None`: the writer calls `commit_batch`).
    fn committer(&self) -> Option<Box<dyn Committer>> {
        None
    }
    async fn get_idempotency(&self, scope: &str, key: &str) -> StoreResult<Option<crate::ledger::IdempotencyRecord>>;
    async fn get_entry(&self, id: Uuid) -> StoreResult<Option<crate::ledger::LedgerEntry>>;
    /// Whether a cancellation of `id` exists.
    async fn is_cancelled(&self, id: Uuid) -> StoreResult<bool>;
    /// A card's ledger, newest first.
    async fn card_entries(&self, card: CardId, page: PageRequest) -> StoreResult<Page<crate::ledger::LedgerEntry>>;
    /// Cards with something to expire by `at`.
    async fn cards_due_for_expiry(&self, at: DateTime<Utc>, limit: i64) -> StoreResult<Vec<CardId>>;
    /// Undelivered outbox rows in order, at most `limit`.
    async fn pending_outbox(&self, limit: i64) -> StoreResult<Vec<crate::ledger::PendingEvent>>;
    /// Remove delivered rows: their events are on their way, and the ledger
    /// is the record (a delivered row kept would only grow the database).
    async fn delete_delivered(&self, seqs: &[i64]) -> StoreResult<()>;
    async fn mark_attempted(&self, seqs: &[i64]) -> StoreResult<()>;
    /// How many rows wait, at most: those between the oldest and the newest
    /// waiting (0 when none does). Read from the two ends of the key, so it
    /// is cheap whatever the backlog.
    async fn outbox_backlog(&self) -> StoreResult<i64>;
    /// The naive path: in one transaction, lock the card (`SELECT … FOR UPDATE`
    /// on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), read it and the stored
    /// answer for the idempotency key, let `decide` choose, and write what it
    /// chose exactly as a one-operation group commit would. `None`: nothing
    /// written (`decide` answered by itself).
    async fn run_locked(
        &self,
        card: CardId,
        idempotency: Option<(String, String)>,
        decide: Box<
            dyn FnOnce(Option<Card>, Option<crate::ledger::IdempotencyRecord>) -> Option<crate::ledger::CommitOp>
                + Send,
        >,
    ) -> StoreResult<Option<crate::ledger::CommitOutcome>>;
    /// The ids of the transactions of a card that were cancelled.
    async fn card_reversals(&self, card: CardId) -> StoreResult<Vec<Uuid>>;
    /// Drop idempotency records past their expiry.
    async fn purge_idempotency(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Where history queries read committed transactions: the SQL ledger itself
/// (its `put_transactions` has nothing to do), or DynamoDB in the AWS shape,
/// which the outbox relay fills. Writes are idempotent by transaction id.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    async fn put_transactions(&self, items: &[crate::ledger::TransactionMessage]) -> StoreResult<()>;
    async fn card_history(
        &self,
        card: CardId,
        page: PageRequest,
    ) -> StoreResult<Page<crate::ledger::TransactionMessage>>;
    /// A customer's transactions over all their cards, newest first.
    async fn customer_history(
        &self,
        customer: CustomerId,
        page: PageRequest,
    ) -> StoreResult<Page<crate::ledger::TransactionMessage>>;
    async fn count_history(&self) -> StoreResult<i64>;
}

/// What a consumer finds when it starts on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Nobody has handled it (or an earlier attempt's lease ran out): go.
    Fresh,
    /// Handled before: do nothing.
    Done,
    /// Another attempt holds it right now: try again later.
    Busy,
}

/// The workers' inbox: each consumer handles each message id once in effect.
#[async_trait]
pub trait InboxRepo: Send + Sync {
    /// Claim `message_id` for `consumer` for `lease`.
    async fn begin_message(
        &self,
        consumer: &str,
        message_id: Uuid,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> StoreResult<Begin>;
    /// The message was handled: later deliveries are skipped.
    async fn finish_message(&self, consumer: &str, message_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// The attempt failed: release the claim so a redelivery can try again.
    async fn abandon_message(&self, consumer: &str, message_id: Uuid) -> StoreResult<()>;
}

/// The analytics worker's aggregates. Each apply is one database transaction
/// that first records the event id, so a redelivered event changes nothing
/// (answers `false`).
#[async_trait]
pub trait AnalyticsRepo: Send + Sync {
    /// Apply a batch in one database transaction; returns how many were new.
    async fn apply_transactions(&self, events: &[crate::analytics::TransactionEvent]) -> StoreResult<usize>;
    async fn apply_transaction(
        &self,
        event_id: Uuid,
        delta: &crate::analytics::DailyDelta,
        visit: bool,
    ) -> StoreResult<bool> {
        let event = crate::analytics::TransactionEvent { event_id, delta: delta.clone(), visit };
        Ok(self.apply_transactions(std::slice::from_ref(&event)).await? == 1)
    }
    /// Apply usage events in one database transaction; returns how many were new.
    async fn apply_usages(&self, events: &[crate::analytics::UsageTally]) -> StoreResult<usize>;
    async fn apply_usage(
        &self,
        event_id: Uuid,
        day: chrono::NaiveDate,
        event: &str,
        business_id: Option<BusinessId>,
    ) -> StoreResult<bool> {
        let tally = crate::analytics::UsageTally { event_id, day, event: event.to_owned(), business_id };
        Ok(self.apply_usages(std::slice::from_ref(&tally)).await? == 1)
    }
    /// Add usage counted in memory (no event ids: whoever counted them adds
    /// them once), in one database transaction.
    async fn add_usage(&self, counts: &[crate::analytics::UsageDelta]) -> StoreResult<()>;
    /// Day by day, store by store, program by program, oldest first.
    async fn daily_aggregates(
        &self,
        q: &crate::analytics::AnalyticsQuery,
    ) -> StoreResult<Vec<crate::analytics::DailyAggregate>>;
    /// Usage events of a business (and, with `None`, those of no business).
    async fn usage_counts(
        &self,
        business_id: Option<BusinessId>,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<crate::analytics::UsageCount>>;
}

/// Exports and the reads they page through (bounded pages, oldest first, so a
/// large export never sits in memory whole).
#[async_trait]
pub trait ExportRepo: Send + Sync {
    async fn create_export(&self, e: &crate::export::Export) -> StoreResult<()>;
    async fn get_export(&self, id: Uuid) -> StoreResult<Option<crate::export::Export>>;
    async fn save_export(&self, e: &crate::export::Export) -> StoreResult<()>;
    /// A business's exports, newest first (the latest 50).
    async fn list_business_exports(&self, business_id: BusinessId) -> StoreResult<Vec<crate::export::Export>>;
    /// Exports still pending or running that were asked for before `before`
    /// (their queue message was lost, or their worker died), oldest first.
    async fn stalled_exports(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<crate::export::Export>>;
    /// A business's ledger entries created in `[from, until)`, after the entry `after`.
    async fn business_entries(
        &self,
        business_id: BusinessId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<crate::ledger::LedgerEntry>>;
    /// Customers holding a card of the business who agreed to hear from it, by id.
    async fn consenting_customers(
        &self,
        business_id: BusinessId,
        after: Option<CustomerId>,
        limit: i64,
    ) -> StoreResult<Vec<Customer>>;
    /// A customer's ledger entries over all cards, oldest first.
    async fn customer_entries(
        &self,
        customer_id: CustomerId,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<crate::ledger::LedgerEntry>>;
}

/// A message for a queue, with the attributes every message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub id: Uuid,
    pub message_type: String,
    pub schema_version: u32,
    pub request_id: Option<String>,
    pub body: String,
}

/// The queues (email, transaction, analytics, export): in process in the
/// embedded default, SQS in the AWS shape.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn publish(&self, topic: &str, messages: &[QueueMessage]) -> StoreResult<()>;

    /// The same messages on several topics (the outbox relay's two), at once
    /// where the backend can.
    async fn publish_to(&self, topics: &[&str], messages: &[QueueMessage]) -> StoreResult<()> {
        for topic in topics {
            self.publish(topic, messages).await?;
        }
        Ok(())
    }
}

/// A message taken from a queue kept in the database, under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedMessage {
    /// The message's place in the queue: what `delete_messages`,
    /// `release_message` and `bury_message` name.
    pub seq: i64,
    pub topic: String,
    /// How many times it has been taken, this time included.
    pub receives: u32,
    pub message: QueueMessage,
}

/// The embedded default's queues, kept in the system of record so that a
/// published message outlives the process that published it, as SQS's do: a
/// consumer takes messages under a lease (hidden from other takers until it
/// runs out, so a consumer that dies mid-message only delays it), deletes what
/// it handled, puts back what failed, and buries what it gives up on (kept,
/// never taken again).
#[async_trait]
pub trait QueueRepo: Send + Sync {
    /// Each message on each of `topics`, in one database transaction.
    async fn enqueue(&self, topics: &[&str], messages: &[QueueMessage]) -> StoreResult<()>;
    /// Up to `max` messages visible at `now`, of any topic, oldest first;
    /// each is hidden until `now + lease` and its receive count raised.
    async fn lease_messages(
        &self,
        max: i64,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> StoreResult<Vec<LeasedMessage>>;
    /// Handled: gone from the queue.
    async fn delete_messages(&self, seqs: &[i64]) -> StoreResult<()>;
    /// Failed, to be tried again from `at`.
    async fn release_message(&self, seq: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Given up on: kept with the reason, never taken again.
    async fn bury_message(&self, seq: i64, reason: &str) -> StoreResult<()>;
    /// `(waiting, buried)` messages over all topics.
    async fn queue_depth(&self) -> StoreResult<(i64, i64)>;
}
