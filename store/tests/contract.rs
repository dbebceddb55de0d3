//! One contract, every storage backend: each test below runs against a fresh
//! SQLite file and a fresh PostgreSQL database.

use std::sync::Arc;

use chrono::{Duration, Utc};
use stampede_domain::business::{NewBusiness, NewStore};
use stampede_domain::customer::NewCustomer;
use stampede_domain::email::Email;
use stampede_domain::identity::Terminal;
use stampede_domain::ids::{BusinessId, CustomerId, StaffId, StoreId};
use stampede_domain::page::PageRequest;
use stampede_domain::ports::{ProfileChanges, SocialProvider};
use stampede_domain::ports::{Store, StoreError};
use stampede_domain::staff::{Acceptance, Membership, NewInvitation, NewStaff, Role, Scope};
use stampede_domain::text::Name;
use stampede_store::DatabaseBackend;
use stampede_store::contracts;
use stampede_store::testing::TestDatabase;
use uuid::Uuid;

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = stampede_store::testing::TestDatabase::sqlite();
                    super::$test(db.open().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = stampede_store::testing::TestDatabase::postgres().await;
                    super::$test(db.open().await).await;
                }
            )*
        }
    };
}

contract!(
    ping_answers,
    releasing_memory_keeps_the_store_working,
    business_round_trip,
    businesses_page_by_id,
    deactivate_checks_version,
    customer_email_is_unique_and_normalised,
    missing_records_are_none,
    first_owner_is_created_once,
    staff_memberships_round_trip,
    staff_email_is_unique,
    stores_belong_to_their_business,
    terminals_round_trip_and_revoke,
    refresh_tokens_rotate_once_and_reuse_revokes_the_family,
    a_revoked_family_takes_no_new_tokens,
    logout_revokes_the_family,
    one_time_tokens_are_used_once,
    profile_updates_and_erasure,
    social_identities_link_once,
    linking_claims_only_unverified_accounts,
    saves_check_versions,
    stores_list_with_filters,
    programs_keep_every_rules_version,
    rewards_and_campaigns_round_trip,
    joining_a_program_is_idempotent,
    cards_are_read_many_at_once,
    audit_events_list_newest_first,
    inbox_handles_each_message_once,
    queued_messages_are_leased_once_and_outlive_their_taker,
    analytics_count_each_event_once,
    exports_round_trip,
    business_memberships_are_replaced,
    a_business_keeps_an_owner_whatever_races,
    invitations_are_used_once_with_their_audit_event,
    a_revoked_or_expired_invitation_gives_nothing,
    staged_audit_events_wait_until_delivered,
    admin_writes_stage_their_audit_event_with_the_change,
    group_commit_writes_everything_or_nothing_per_card,
    duplicates_are_dropped_with_their_dependants,
    a_queued_operation_never_lands_on_another_writers_state,
    a_batch_takes_stock_in_order_and_drops_what_finds_none,
    the_naive_path_writes_one_operation_under_the_lock,
    outbox_and_history,
    a_commit_counts_what_it_commits_in_the_analytics,
    usage_counted_in_memory_adds_up,
    second_factors_count_each_code_once,
    a_mailing_fixes_its_audience_and_counts_each_recipient_once,
);

fn name(s: &str) -> Name {
    Name::parse(s).expect("valid name")
}

fn email(s: &str) -> Email {
    Email::parse(s).expect("valid email")
}

fn new_business(n: &str) -> NewBusiness {
    NewBusiness {
        name: name(n),
        description: Some("Coffee and cake".into()),
        tax_id: Some("DE123".into()),
        website: Some("https://example.com".into()),
    }
}

fn new_customer(e: &str) -> NewCustomer {
    NewCustomer { id: None, email: email(e), name: name("Ada"), phone: None, password_hash: None }
}

fn new_staff(e: &str) -> NewStaff {
    NewStaff {
        id: None,
        email: email(e),
        name: name("Sam"),
        password_hash: Some("$argon2id$x".into()),
        must_change_password: false,
    }
}

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

/// Releasing memory mid-traffic (the card runtime does it after a large
/// passivation) neither loses data nor waits for connections in use.
async fn releasing_memory_keeps_the_store_working(store: Arc<dyn Store>) {
    let created = store.create_business(new_business("Warm Cache"), None).await.expect("create");
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..20 {
                    store.get_business(created.id).await.expect("read").expect("exists");
                }
            })
        })
        .collect();
    store.release_memory().await;
    store.release_memory().await;
    for r in readers {
        r.await.expect("reader");
    }
    let read = store.get_business(created.id).await.expect("read after").expect("exists");
    assert_eq!(read.name, "Warm Cache");
    let second = store.create_business(new_business("After"), None).await.expect("write after");
    assert!(store.get_business(second.id).await.expect("read").is_some());
}

async fn business_round_trip(store: Arc<dyn Store>) {
    let created = store.create_business(new_business("Café Uno"), None).await.expect("create");
    assert_eq!(created.name, "Café Uno");
    assert!(created.is_active);
    assert_eq!(created.version, 1);
    let read = store.get_business(created.id).await.expect("get").expect("exists");
    assert_eq!(read.id, created.id);
    assert_eq!(read.name, created.name);
    assert_eq!(read.description.as_deref(), Some("Coffee and cake"));
    assert_eq!(read.tax_id.as_deref(), Some("DE123"));
    assert_eq!(read.website.as_deref(), Some("https://example.com"));
    // Timestamps survive the round trip to the microsecond (PostgreSQL's precision).
    assert_eq!(read.created_at.timestamp_micros(), created.created_at.timestamp_micros());
}

async fn businesses_page_by_id(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(store.create_business(new_business(&format!("B{i}")), None).await.expect("create").id);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_businesses(PageRequest::new(after, Some(2)), false).await.expect("list");
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|b| b.id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every business once, in creation order");

    let first = store.get_business(ids[0]).await.expect("get").expect("exists");
    store.deactivate_business(first.id, first.version).await.expect("deactivate");
    let active = store.list_businesses(PageRequest::new(None, Some(50)), true).await.expect("list");
    assert_eq!(active.items.len(), 4);
    assert!(active.items.iter().all(|b| b.id != ids[0]));
}

async fn deactivate_checks_version(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Versioned"), None).await.expect("create");
    let stale = b.version;
    let done = store.deactivate_business(b.id, b.version).await.expect("deactivate").expect("exists");
    assert!(!done.is_active);
    assert_eq!(done.version, stale + 1);
    match store.deactivate_business(b.id, stale).await {
        Err(StoreError::VersionMismatch) => {}
        other => panic!("a stale version must be refused, got {other:?}"),
    }
    assert!(store.deactivate_business(BusinessId::new(), 1).await.expect("missing").is_none());
}

async fn customer_email_is_unique_and_normalised(store: Arc<dyn Store>) {
    let c = store.create_customer(new_customer("Ada@Example.com")).await.expect("create");
    assert_eq!(c.email, "ada@example.com");
    assert_eq!(c.preferences, serde_json::json!({}));
    let found = store.find_customer_by_email(&email("ADA@example.COM")).await.expect("find").expect("exists");
    assert_eq!(found.id, c.id);
    match store.create_customer(new_customer("ada@example.com")).await {
        Err(StoreError::Conflict("email")) => {}
        other => panic!("duplicate email must conflict, got {other:?}"),
    }
}

async fn missing_records_are_none(store: Arc<dyn Store>) {
    assert!(store.get_business(BusinessId::new()).await.expect("get").is_none());
    assert!(store.get_customer(CustomerId::new()).await.expect("get").is_none());
    assert!(store.get_staff(StaffId::new()).await.expect("get").is_none());
    assert!(store.find_customer_by_email(&email("nobody@example.com")).await.expect("find").is_none());
    assert!(store.find_staff_by_email(&email("nobody@example.com")).await.expect("find").is_none());
}

async fn first_owner_is_created_once(store: Arc<dyn Store>) {
    assert_eq!(store.count_staff().await.expect("count"), 0);
    let (business, owner) = store
        .create_first_owner(new_business("First"), new_staff("owner@example.com"))
        .await
        .expect("create")
        .expect("first time creates");
    assert_eq!(
        owner.memberships,
        vec![Membership { business_id: business.id, role: Role::Owner, scope: Scope::Business }]
    );
    let again = store.create_first_owner(new_business("Second"), new_staff("other@example.com")).await.expect("run");
    assert!(again.is_none(), "a second call creates nothing");
    assert_eq!(store.count_staff().await.expect("count"), 1);
    let page = store.list_businesses(PageRequest::new(None, None), false).await.expect("list");
    assert_eq!(page.items.len(), 1, "no business created by the second call");
}

async fn staff_memberships_round_trip(store: Arc<dyn Store>) {
    let (business, _) = store
        .create_first_owner(new_business("Shop"), new_staff("owner@shop.com"))
        .await
        .expect("create")
        .expect("first");
    let admin = Membership::new(business.id, Role::Admin, Scope::Business).expect("valid");
    let staff = store.create_staff(new_staff("admin@shop.com"), &[admin]).await.expect("create");
    let found = store.find_staff_by_email(&email("ADMIN@shop.com")).await.expect("find").expect("exists");
    assert_eq!(found.id, staff.id);
    assert_eq!(found.memberships, vec![admin]);
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$x"));
    assert!(found.is_active);
    let by_id = store.get_staff(staff.id).await.expect("get").expect("exists");
    assert_eq!(by_id.email, "admin@shop.com");

    // A store-scoped membership needs a real store: the foreign key holds.
    let cashier =
        Membership::new(business.id, Role::Cashier, Scope::Store { store_id: StoreId::new() }).expect("valid");
    let err = store.create_staff(new_staff("cashier@shop.com"), &[cashier]).await.expect_err("no such store");
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    assert!(store.find_staff_by_email(&email("cashier@shop.com")).await.expect("find").is_none(), "rolled back");
}

async fn staff_email_is_unique(store: Arc<dyn Store>) {
    store.create_staff(new_staff("sam@shop.com"), &[]).await.expect("create");
    match store.create_staff(new_staff("Sam@Shop.com"), &[]).await {
        Err(StoreError::Conflict("email")) => {}
        other => panic!("duplicate email must conflict, got {other:?}"),
    }
}

/// Opening an already-migrated database again applies nothing and loses nothing.
#[tokio::test]
async fn reopening_keeps_data_on_both_backends() {
    for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
        let db = TestDatabase::fresh(backend).await;
        let id = db.open().await.create_business(new_business("Kept"), None).await.expect("create").id;
        let again = db.open().await;
        assert!(again.get_business(id).await.expect("get").is_some(), "{backend:?}");
    }
}

/// The PostgreSQL pool's connections have Nagle's algorithm off
/// (`postgres::nodelay`): PostgreSQL names each of this database's client
/// ports, and the process's socket on each port is checked.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn postgres_pool_connections_have_nodelay() {
    use sqlx::Connection;
    let db = TestDatabase::postgres().await;
    let store = db.open().await;
    store.ping().await.expect("ping");
    let name = db.options.url.rsplit('/').next().expect("database name").to_owned();
    let mut admin = sqlx::PgConnection::connect(&stampede_store::testing::pg_admin_url()).await.expect("admin");
    let ports: Vec<i32> =
        sqlx::query_scalar("SELECT client_port FROM pg_stat_activity WHERE datname = $1 AND client_port > 0")
            .bind(&name)
            .fetch_all(&mut admin)
            .await
            .expect("client ports");
    assert!(!ports.is_empty(), "the pool holds a connection");
    for port in ports {
        let port = u16::try_from(port).expect("a port");
        assert_eq!(stampede_store::postgres::nodelay::is_set_on_local_port(port), Some(true), "client port {port}");
    }
}

/// Pooled connections used in the last 500 ms are not pinged before use
/// (`open.rs`), so one the server dropped can fail its next statement; it is
/// then discarded (sqlx pings on release), and the pool opens a fresh one: the
/// store recovers, after at most one failure per pooled connection. (Here
/// there are usually two; none, if the steps took over 500 ms.)
#[tokio::test]
async fn postgres_store_recovers_when_the_server_drops_its_connections() {
    use sqlx::Connection;
    let db = TestDatabase::postgres().await;
    let store = db.open().await;
    let b = store.create_business(new_business("Before"), None).await.expect("business");
    let name = db.options.url.rsplit('/').next().expect("database name").to_owned();
    let mut admin = sqlx::PgConnection::connect(&stampede_store::testing::pg_admin_url()).await.expect("admin");
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .expect("terminate");
    assert!(killed >= 1, "the pool held a connection");
    let mut failures = 0;
    let found = loop {
        match store.get_business(b.id).await {
            Ok(found) => break found,
            Err(e) => {
                failures += 1;
                assert!(failures <= 5, "still failing after {failures} tries (pool of 5): {e}");
                // The failed connection goes back to the pool in a spawned task.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(found.map(|f| f.id), Some(b.id));
    store.create_business(new_business("After"), None).await.expect("writes work again");
}

async fn stores_belong_to_their_business(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Chain"), None).await.expect("business");
    let other = store.create_business(new_business("Other"), None).await.expect("business");
    let brand = store.create_brand(b.id, "Uno Express", None).await.expect("brand");
    assert_eq!(store.get_brand(brand.id).await.expect("get").expect("exists").business_id, b.id);
    let s = store
        .create_store(
            NewStore {
                business_id: b.id,
                brand_id: Some(brand.id),
                name: name("Main St"),
                timezone: "Europe/Berlin".into(),
                address: serde_json::json!({}),
            },
            None,
        )
        .await
        .expect("store");
    let read = store.get_store(s.id).await.expect("get").expect("exists");
    assert_eq!(read.brand_id, Some(brand.id));
    assert_eq!(read.timezone, "Europe/Berlin");
    // A store cannot hang under another business's brand.
    let err = store
        .create_store(
            NewStore {
                business_id: other.id,
                brand_id: Some(brand.id),
                name: name("Sneaky"),
                timezone: "UTC".into(),
                address: serde_json::json!({}),
            },
            None,
        )
        .await;
    assert!(err.is_err());
}

async fn terminals_round_trip_and_revoke(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Shop"), None).await.expect("business");
    let s = store
        .create_store(
            NewStore {
                business_id: b.id,
                brand_id: None,
                name: name("One"),
                timezone: "UTC".into(),
                address: serde_json::json!({}),
            },
            None,
        )
        .await
        .expect("store");
    let t = Terminal {
        id: Uuid::now_v7(),
        business_id: b.id,
        brand_id: None,
        store_id: s.id,
        name: "Till 1".into(),
        key_prefix: "stp_abcd".into(),
        key_hash: vec![1, 2, 3],
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    store.create_terminal(&t, None).await.expect("create");
    let read = store.get_terminal(t.id).await.expect("get").expect("exists");
    assert_eq!(read.key_hash, vec![1, 2, 3]);
    assert_eq!(read.name, "Till 1");
    store.touch_terminal(t.id, Utc::now()).await.expect("touch");
    assert!(store.get_terminal(t.id).await.expect("get").expect("exists").last_used_at.is_some());
    assert_eq!(store.list_terminals(s.id).await.expect("list").len(), 1);
    assert!(store.revoke_terminal(t.id, Utc::now(), None).await.expect("revoke"));
    assert!(!store.revoke_terminal(t.id, Utc::now(), None).await.expect("revoke twice"), "already revoked");
    assert!(store.get_terminal(t.id).await.expect("get").expect("exists").revoked_at.is_some());
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(store: Arc<dyn Store>) {
    contracts::refresh_tokens_rotate_once_and_reuse_revokes_the_family(store.as_ref()).await;
}

async fn a_revoked_family_takes_no_new_tokens(store: Arc<dyn Store>) {
    contracts::a_revoked_family_takes_no_new_tokens(store.as_ref()).await;
}

async fn logout_revokes_the_family(store: Arc<dyn Store>) {
    contracts::logout_revokes_the_family(store.as_ref()).await;
}

async fn one_time_tokens_are_used_once(store: Arc<dyn Store>) {
    contracts::one_time_tokens_are_used_once(store.as_ref()).await;
}

async fn profile_updates_and_erasure(store: Arc<dyn Store>) {
    let c = store.create_customer(new_customer("eve@example.com")).await.expect("create");
    let changes = ProfileChanges {
        name: Some("Eve Ng".into()),
        phone: Some(Some("+49 30 1234".into())),
        preferences: Some(serde_json::json!({"language": "de"})),
    };
    let updated = store.update_profile(c.id, changes).await.expect("update").expect("exists");
    assert_eq!(updated.name, "Eve Ng");
    assert_eq!(updated.phone.as_deref(), Some("+49 30 1234"));
    assert_eq!(updated.preferences, serde_json::json!({"language": "de"}));
    // Leaving fields out leaves them alone; Some(None) clears the phone.
    let updated = store
        .update_profile(c.id, ProfileChanges { phone: Some(None), ..Default::default() })
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(updated.name, "Eve Ng");
    assert_eq!(updated.phone, None);
    store.set_customer_password(c.id, "$argon2id$new").await.expect("password");
    store.mark_email_verified(c.id, Utc::now()).await.expect("verify");
    let read = store.get_customer(c.id).await.expect("get").expect("exists");
    assert_eq!(read.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(read.email_verified_at.is_some());

    // Consent is per business, one answer each, the latest standing.
    let (shop, other) = (
        store.create_business(new_business("Shop"), None).await.expect("business").id,
        store.create_business(new_business("Other"), None).await.expect("business").id,
    );
    store.set_marketing_consent(c.id, shop, true, Utc::now()).await.expect("consent");
    store.set_marketing_consent(c.id, other, true, Utc::now()).await.expect("consent");
    store.set_marketing_consent(c.id, other, false, Utc::now()).await.expect("withdrawn");
    let mut answers: Vec<_> =
        store.consents(c.id).await.expect("consents").into_iter().map(|a| (a.business_id, a.marketing)).collect();
    answers.sort_by_key(|(b, _)| (*b != shop, b.0));
    assert_eq!(answers, [(shop, true), (other, false)]);

    assert!(!store.customer_erased(c.id).await.expect("erased?"));
    assert!(!store.customer_erased(CustomerId(Uuid::now_v7())).await.expect("erased?"), "no account: not erased");
    store.erase_customer(c.id).await.expect("erase");
    assert!(store.get_customer(c.id).await.expect("get").is_none(), "erased customers are gone");
    assert!(store.customer_erased(c.id).await.expect("erased?"));
    assert!(store.consents(c.id).await.expect("consents").is_empty(), "erasure takes the consents");
    assert!(store.find_customer_by_email(&email("eve@example.com")).await.expect("find").is_none());
    // The address is free again.
    store.create_customer(new_customer("eve@example.com")).await.expect("the email can be reused");
}

async fn social_identities_link_once(store: Arc<dyn Store>) {
    let a = store.create_customer(new_customer("a@example.com")).await.expect("create");
    let b = store.create_customer(new_customer("b@example.com")).await.expect("create");
    store.link_social(a.id, SocialProvider::Google, "google-sub-1", Utc::now()).await.expect("link");
    let found = store.find_customer_by_social(SocialProvider::Google, "google-sub-1").await.expect("find");
    assert_eq!(found.map(|c| c.id), Some(a.id));
    assert!(store.find_customer_by_social(SocialProvider::Apple, "google-sub-1").await.expect("find").is_none());
    match store.link_social(b.id, SocialProvider::Google, "google-sub-1", Utc::now()).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("one social identity, one customer: {other:?}"),
    }
}

/// A password set on an address nobody proved is dropped when a provider
/// vouches for the address; a verified account keeps its password and its
/// verification time.
async fn linking_claims_only_unverified_accounts(store: Arc<dyn Store>) {
    let with_password =
        |e: &str| NewCustomer { password_hash: Some("$argon2id$set-by-someone".into()), ..new_customer(e) };
    let unverified = store.create_customer(with_password("squat@example.com")).await.expect("create");
    let verified = store.create_customer(with_password("owner@example.com")).await.expect("create");
    let earlier = Utc::now() - Duration::days(3);
    store.mark_email_verified(verified.id, earlier).await.expect("verify");

    let now = Utc::now();
    store.link_social(unverified.id, SocialProvider::Apple, "apple-1", now).await.expect("link");
    store.link_social(verified.id, SocialProvider::Google, "google-1", now).await.expect("link");

    let claimed = store.get_customer(unverified.id).await.expect("get").expect("customer");
    assert_eq!(claimed.password_hash, None, "the unproven password is gone");
    assert_eq!(claimed.email_verified_at.map(|t| t.timestamp_millis()), Some(now.timestamp_millis()));
    let kept = store.get_customer(verified.id).await.expect("get").expect("customer");
    assert_eq!(kept.password_hash.as_deref(), Some("$argon2id$set-by-someone"));
    assert_eq!(kept.email_verified_at.map(|t| t.timestamp_millis()), Some(earlier.timestamp_millis()));
}

fn stamp_rules(n: u32) -> stampede_domain::program::ProgramRules {
    stampede_domain::program::ProgramRules::Stamps(stampede_domain::program::StampRules {
        stamps_per_reward: n,
        max_stamps_per_visit: 2,
        min_purchase_minor: None,
        currency: None,
        min_interval_secs: 0,
        daily_cap: None,
        expiry_days: None,
    })
}

async fn program(store: &Arc<dyn Store>, business: BusinessId) -> stampede_domain::program::Program {
    let now = Utc::now();
    let p = stampede_domain::program::Program {
        id: Uuid::now_v7(),
        business_id: business,
        name: "Coffee card".into(),
        description: None,
        rules: stamp_rules(10),
        availability: Default::default(),
        version: 1,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    store.create_program(&p, None).await.expect("program");
    p
}

async fn saves_check_versions(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Saver"), None).await.expect("business");
    let mut changed = b.clone();
    changed.name = "Saver & Co".into();
    changed.logo_url = Some("http://x/logo.png".into());
    let saved = store.save_business(&changed, b.version, None).await.expect("save").expect("exists");
    assert_eq!((saved.name.as_str(), saved.version), ("Saver & Co", b.version + 1));
    assert_eq!(saved.logo_url.as_deref(), Some("http://x/logo.png"));
    match store.save_business(&changed, b.version, None).await {
        Err(StoreError::VersionMismatch) => {}
        other => panic!("stale save must be refused: {other:?}"),
    }
    let mut ghost = changed.clone();
    ghost.id = BusinessId::new();
    assert!(store.save_business(&ghost, 1, None).await.expect("save").is_none());

    let brand = store.create_brand(b.id, "Old", None).await.expect("brand");
    let mut renamed = brand.clone();
    renamed.name = "New".into();
    renamed.is_active = false;
    let saved = store.save_brand(&renamed, brand.version, None).await.expect("save").expect("exists");
    assert_eq!((saved.name.as_str(), saved.is_active, saved.version), ("New", false, 2));
    assert!(matches!(store.save_brand(&renamed, 1, None).await, Err(StoreError::VersionMismatch)));
}

async fn stores_list_with_filters(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Lister"), None).await.expect("business");
    let brand = store.create_brand(b.id, "One", None).await.expect("brand");
    let mk = |brand_id, n: &str| NewStore {
        business_id: b.id,
        brand_id,
        name: name(n),
        timezone: "UTC".into(),
        address: serde_json::json!({"city": n}),
    };
    let s1 = store.create_store(mk(Some(brand.id), "A"), None).await.expect("s");
    let s2 = store.create_store(mk(None, "B"), None).await.expect("s");
    let s3 = store.create_store(mk(Some(brand.id), "C"), None).await.expect("s");
    assert_eq!(s1.address, serde_json::json!({"city": "A"}));
    let all = store.list_stores(b.id, None, false, PageRequest::new(None, Some(2))).await.expect("list");
    assert_eq!(all.items.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s1.id, s2.id]);
    let rest = store.list_stores(b.id, None, false, PageRequest::new(all.next_cursor, Some(2))).await.expect("list");
    assert_eq!(rest.items.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s3.id]);
    let of_brand = store.list_stores(b.id, Some(brand.id), false, PageRequest::new(None, None)).await.expect("list");
    assert_eq!(of_brand.items.len(), 2);
    let mut closed = s3.clone();
    closed.is_active = false;
    closed.address = serde_json::json!({"city": "Gone"});
    let saved = store.save_store(&closed, s3.version, None).await.expect("save").expect("exists");
    assert_eq!(saved.address["city"], "Gone");
    let active = store.list_stores(b.id, Some(brand.id), true, PageRequest::new(None, None)).await.expect("list");
    assert_eq!(active.items.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s1.id]);
    let other = store.create_business(new_business("Other"), None).await.expect("b");
    let foreign = store.create_brand(other.id, "Foreign", None).await.expect("brand");
    let mut moved = saved.clone();
    moved.brand_id = Some(foreign.id);
    assert!(store.save_store(&moved, saved.version, None).await.is_err(), "no brand of another business");
}

async fn programs_keep_every_rules_version(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Programs"), None).await.expect("business");
    let p = program(&store, b.id).await;
    let read = store.get_program(p.id).await.expect("get").expect("exists");
    assert_eq!(read.rules, stamp_rules(10));
    let mut changed = read.clone();
    changed.rules = stamp_rules(8);
    let saved = store.save_program(&changed, 1, None).await.expect("save").expect("exists");
    assert_eq!(saved.version, 2);
    assert_eq!(store.program_rules_at(p.id, 1).await.expect("v1"), Some(stamp_rules(10)), "history is kept");
    assert_eq!(store.program_rules_at(p.id, 2).await.expect("v2"), Some(stamp_rules(8)));
    let versions: Vec<_> =
        store.program_versions(p.id).await.expect("versions").into_iter().map(|v| (v.version, v.rules)).collect();
    assert_eq!(versions, [(2, stamp_rules(8)), (1, stamp_rules(10))], "newest first");
    assert!(matches!(store.save_program(&changed, 1, None).await, Err(StoreError::VersionMismatch)));
    let mut inactive = saved.clone();
    inactive.is_active = false;
    store.save_program(&inactive, 2, None).await.expect("save");
    assert_eq!(store.list_programs(b.id, false).await.expect("list").len(), 1);
    assert!(store.list_programs(b.id, true).await.expect("list").is_empty());
}

async fn rewards_and_campaigns_round_trip(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Rewards"), None).await.expect("business");
    let p = program(&store, b.id).await;
    let r = stampede_domain::program::Reward {
        id: Uuid::now_v7(),
        program_id: p.id,
        name: "Free coffee".into(),
        description: Some("Any size".into()),
        image_url: None,
        cost: 10,
        stock: Some(5),
        active_from: None,
        active_until: None,
        is_active: true,
        version: 1,
    };
    store.create_reward(&r, None).await.expect("reward");
    assert_eq!(store.get_reward(r.id).await.expect("get"), Some(r.clone()));
    let mut cheaper = r.clone();
    cheaper.cost = 8;
    let saved = store.save_reward(&cheaper, 1, None).await.expect("save").expect("exists");
    assert_eq!((saved.cost, saved.version), (8, 2));
    assert_eq!(store.list_rewards(p.id).await.expect("list").len(), 1);

    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).expect("d");
    let c = stampede_domain::program::Campaign {
        id: Uuid::now_v7(),
        program_id: p.id,
        name: "Double Saturday".into(),
        starts_local: day.and_hms_opt(9, 0, 0).expect("t"),
        ends_local: day.and_hms_opt(18, 0, 0).expect("t"),
        brand_ids: vec![],
        store_ids: vec![],
        multiplier_pct: 100,
        bonus_stamps: 1,
        max_per_card: Some(1),
        is_active: true,
        version: 1,
    };
    store.create_campaign(b.id, &c, None).await.expect("campaign");
    assert_eq!(store.get_campaign(c.id).await.expect("get"), Some(c.clone()));
    let mut off = c.clone();
    off.is_active = false;
    let saved = store.save_campaign(&off, 1, None).await.expect("save").expect("exists");
    assert_eq!((saved.is_active, saved.version), (false, 2));
    assert!(matches!(store.save_campaign(&off, 1, None).await, Err(StoreError::VersionMismatch)));
    assert_eq!(store.list_campaigns(p.id).await.expect("list"), vec![saved]);
}

async fn joining_a_program_is_idempotent(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Joins"), None).await.expect("business");
    let p = program(&store, b.id).await;
    let c = store.create_customer(new_customer("joe@example.com")).await.expect("customer");
    let (card, created) = store.join_program(p.id, b.id, c.id, "CODE-ONE").await.expect("join");
    assert!(created);
    assert_eq!((card.balance, card.version, card.code.as_str()), (0, 0, "CODE-ONE"));
    let (again, created) = store.join_program(p.id, b.id, c.id, "CODE-TWO").await.expect("join again");
    assert!(!created);
    assert_eq!(again.id, card.id, "the same card");
    assert_eq!(again.code, "CODE-ONE");
    assert_eq!(store.find_card_by_code("CODE-ONE").await.expect("find").map(|c| c.id), Some(card.id));
    assert_eq!(store.list_customer_cards(c.id).await.expect("list").len(), 1);
    assert_eq!(store.get_card(card.id).await.expect("get").map(|c| c.customer_id), Some(c.id));
    let other = store.create_customer(new_customer("kim@example.com")).await.expect("customer");
    assert!(
        matches!(store.join_program(p.id, b.id, other.id, "CODE-ONE").await, Err(StoreError::Conflict(_))),
        "codes are unique"
    );
}

/// The card runtime reads cold cards together: by id and by code, one query
/// for many, the missing ones simply absent.
async fn cards_are_read_many_at_once(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Many Cards"), None).await.expect("business");
    let p = program(&store, b.id).await;
    let mut cards = Vec::new();
    for i in 0..40 {
        let c = store.create_customer(new_customer(&format!("many{i}@example.com"))).await.expect("customer");
        cards.push(store.join_program(p.id, b.id, c.id, &format!("MANY-{i:02}")).await.expect("join").0);
    }
    let missing = stampede_domain::ids::CardId::new();
    let mut wanted: Vec<_> = cards.iter().step_by(3).map(|c| c.id).collect();
    wanted.push(missing);
    wanted.push(cards[0].id);
    let mut got: Vec<_> = store.get_cards(&wanted).await.expect("by ids").into_iter().map(|c| c.id).collect();
    got.sort();
    let mut expected: Vec<_> = cards.iter().step_by(3).map(|c| c.id).collect();
    expected.sort();
    assert_eq!(got, expected, "each existing card once, the missing one absent");
    let one = store.get_cards(&[cards[7].id]).await.expect("one");
    assert_eq!(one, vec![store.get_card(cards[7].id).await.expect("get").expect("card")], "the whole card");
    assert!(store.get_cards(&[]).await.expect("none").is_empty());
    let codes = vec!["MANY-05".to_owned(), "MANY-39".to_owned(), "NOPE".to_owned(), "many-06".to_owned()];
    let mut found: Vec<_> =
        store.find_cards_by_code(&codes).await.expect("by codes").into_iter().map(|c| c.code).collect();
    found.sort();
    assert_eq!(found, vec!["MANY-05", "MANY-39"], "codes match exactly");
}

async fn analytics_count_each_event_once(store: Arc<dyn Store>) {
    contracts::analytics_count_each_event_once(store.as_ref()).await;
}

async fn exports_round_trip(store: Arc<dyn Store>) {
    contracts::exports_round_trip(store.as_ref()).await;
}

async fn inbox_handles_each_message_once(store: Arc<dyn Store>) {
    contracts::inbox_handles_each_message_once(store).await;
}

async fn queued_messages_are_leased_once_and_outlive_their_taker(store: Arc<dyn Store>) {
    contracts::queued_messages_are_leased_once_and_outlive_their_taker(store).await;
}

async fn audit_events_list_newest_first(store: Arc<dyn Store>) {
    let b = store.create_business(new_business("Audited"), None).await.expect("business");
    contracts::audit_events_list_newest_first(store.as_ref(), b.id).await;
}

async fn business_memberships_are_replaced(store: Arc<dyn Store>) {
    let (b, _) =
        store.create_first_owner(new_business("Team"), new_staff("o@team.com")).await.expect("c").expect("first");
    let s = store
        .create_store(
            NewStore {
                business_id: b.id,
                brand_id: None,
                name: name("S"),
                timezone: "UTC".into(),
                address: serde_json::json!({}),
            },
            None,
        )
        .await
        .expect("store");
    let cashier = Membership::new(b.id, Role::Cashier, Scope::Store { store_id: s.id }).expect("m");
    let staff = store.create_staff(new_staff("c@team.com"), &[cashier]).await.expect("staff");
    assert_eq!(store.list_staff(b.id).await.expect("list").len(), 2);
    let manager = Membership::new(b.id, Role::StoreManager, Scope::Store { store_id: s.id }).expect("m");
    assert!(store.set_business_memberships(staff.id, b.id, &[manager], None).await.expect("replace"));
    assert_eq!(store.get_staff(staff.id).await.expect("get").expect("e").memberships, vec![manager]);
    assert!(store.set_business_memberships(staff.id, b.id, &[], None).await.expect("remove"));
    assert_eq!(store.list_staff(b.id).await.expect("list").len(), 1);
}

/// A business never loses its last owner, also when two owners remove each
/// other at the same moment: exactly one of them goes.
async fn a_business_keeps_an_owner_whatever_races(store: Arc<dyn Store>) {
    for round in 0..5 {
        let b = store.create_business(new_business(&format!("Pair {round}")), None).await.expect("business");
        let owner = Membership::new(b.id, Role::Owner, Scope::Business).expect("m");
        let first = store.create_staff(new_staff(&format!("a{round}@pair.com")), &[owner]).await.expect("staff");
        if round == 0 {
            assert!(
                !store.set_business_memberships(first.id, b.id, &[], None).await.expect("alone"),
                "the last owner stays"
            );
            let admin = Membership::new(b.id, Role::Admin, Scope::Business).expect("m");
            assert!(!store.set_business_memberships(first.id, b.id, &[admin], None).await.expect("demote"));
            let kept = store.get_staff(first.id).await.expect("get").expect("s").memberships;
            assert_eq!(kept, vec![owner], "nothing changed");
        }
        let second = store.create_staff(new_staff(&format!("b{round}@pair.com")), &[owner]).await.expect("staff");
        let (x, y) = tokio::join!(
            store.set_business_memberships(first.id, b.id, &[], None),
            store.set_business_memberships(second.id, b.id, &[], None),
        );
        let (x, y) = (x.expect("first"), y.expect("second"));
        assert!(x ^ y, "round {round}: exactly one removal goes through ({x}, {y})");
        assert_eq!(store.list_staff(b.id).await.expect("list").len(), 1, "round {round}");
    }
}

fn audit_event(action: &str) -> stampede_domain::identity::AuditEvent {
    stampede_domain::identity::AuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        business_id: None,
        actor_kind: "staff".into(),
        actor_id: None,
        action: action.into(),
        resource_type: "invitation".into(),
        resource_id: None,
        before: None,
        after: None,
    }
}

fn invitation(business: BusinessId, to: &str, by: StaffId, token: &[u8]) -> NewInvitation {
    NewInvitation {
        id: Uuid::now_v7(),
        membership: Membership::new(business, Role::Admin, Scope::Business).expect("m"),
        email: email(to),
        invited_by: by,
        token_hash: token.to_vec(),
        created_at: Utc::now(),
        expires_at: Utc::now() + Duration::days(7),
    }
}

/// Two acceptances of one invitation at once: exactly one gives the role;
/// each write stages its audit event with it.
async fn invitations_are_used_once_with_their_audit_event(store: Arc<dyn Store>) {
    let (b, owner) =
        store.create_first_owner(new_business("Inv"), new_staff("o@inv.com")).await.expect("c").expect("f");
    let created = store
        .create_invitation(&invitation(b.id, "new@inv.com", owner.id, b"t1"), &audit_event("invitation.create"))
        .await
        .expect("create");
    assert_eq!(store.find_invitation_by_token(b"t1").await.expect("find").expect("some").id, created.id);
    assert_eq!(store.list_invitations(b.id).await.expect("list").len(), 1);
    let now = Utc::now();
    let (e1, e2) = (audit_event("invitation.accept"), audit_event("invitation.accept"));
    let (x, y) = tokio::join!(
        store.accept_invitation(b"t1", now, Acceptance::New(new_staff("new@inv.com")), &e1),
        store.accept_invitation(b"t1", now, Acceptance::Existing(owner.id), &e2),
    );
    let (x, y) = (x.expect("x"), y.expect("y"));
    assert!(x.is_some() ^ y.is_some(), "exactly one acceptance wins");
    let taken = store.get_invitation(created.id).await.expect("get").expect("some");
    assert!(taken.accepted_at.is_some());
    let staged: Vec<String> = store.staged_audit(10).await.expect("staged").into_iter().map(|e| e.action).collect();
    assert_eq!(staged, ["invitation.create", "invitation.accept"], "one event per committed write");

    // An account that has the role already does not get it twice.
    let admin = Membership::new(b.id, Role::Admin, Scope::Business).expect("m");
    let staff = match (x, y) {
        (Some(s), _) | (_, Some(s)) => s,
        _ => unreachable!(),
    };
    store
        .create_invitation(&invitation(b.id, &staff.email, owner.id, b"t3"), &audit_event("invitation.create"))
        .await
        .expect("create");
    let again = store
        .accept_invitation(b"t3", Utc::now(), Acceptance::Existing(staff.id), &audit_event("a"))
        .await
        .expect("a")
        .expect("some");
    assert_eq!(again.memberships.iter().filter(|m| **m == admin).count(), 1);
}

async fn a_revoked_or_expired_invitation_gives_nothing(store: Arc<dyn Store>) {
    let (b, owner) =
        store.create_first_owner(new_business("Inv"), new_staff("o@inv.com")).await.expect("c").expect("f");
    let new = invitation(b.id, "x@inv.com", owner.id, b"r1");
    store.create_invitation(&new, &audit_event("invitation.create")).await.expect("create");
    let revoked =
        store.revoke_invitation(new.id, owner.id, Utc::now(), &audit_event("invitation.revoke")).await.expect("r");
    assert!(revoked.expect("pending").revoked_at.is_some());
    assert!(
        store.revoke_invitation(new.id, owner.id, Utc::now(), &audit_event("r")).await.expect("r").is_none(),
        "once"
    );
    let taken =
        store.accept_invitation(b"r1", Utc::now(), Acceptance::New(new_staff("x@inv.com")), &audit_event("a")).await;
    assert!(taken.expect("accept").is_none());
    assert!(store.find_staff_by_email(&email("x@inv.com")).await.expect("find").is_none(), "no account was made");

    let late = NewInvitation {
        expires_at: Utc::now() - Duration::seconds(1),
        ..invitation(b.id, "y@inv.com", owner.id, b"r2")
    };
    store.create_invitation(&late, &audit_event("invitation.create")).await.expect("create");
    let taken = store.accept_invitation(b"r2", Utc::now(), Acceptance::Existing(owner.id), &audit_event("a")).await;
    assert!(taken.expect("accept").is_none());
    let staged: Vec<String> = store.staged_audit(10).await.expect("staged").into_iter().map(|e| e.action).collect();
    assert_eq!(staged, ["invitation.create", "invitation.revoke", "invitation.create"], "refused writes stage nothing");
}

/// An admin write and its audit event commit together: the event is staged
/// by the write itself, its `after` the record as written (new ids, new
/// version); a write refused (a stale version, the last owner) stages none.
async fn admin_writes_stage_their_audit_event_with_the_change(store: Arc<dyn Store>) {
    let staged = |store: Arc<dyn Store>| async move { store.staged_audit(100).await.expect("staged") };
    let created = audit_event("business.create");
    let b = store.create_business(new_business("Logged"), Some(&created)).await.expect("business");
    let logged = staged(store.clone()).await;
    assert_eq!(logged.len(), 1);
    assert_eq!((logged[0].id, logged[0].business_id, logged[0].resource_id), (created.id, Some(b.id), Some(b.id.0)));
    assert_eq!(logged[0].after.as_ref().and_then(|a| a["name"].as_str()), Some("Logged"));

    let mut renamed = b.clone();
    renamed.name = "Logged & Co".into();
    let update = audit_event("business.update");
    let saved = store.save_business(&renamed, b.version, Some(&update)).await.expect("save").expect("exists");
    let stale = audit_event("business.update");
    assert!(matches!(store.save_business(&renamed, b.version, Some(&stale)).await, Err(StoreError::VersionMismatch)));
    let logged = staged(store.clone()).await;
    assert_eq!(
        logged.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![created.id, update.id],
        "the stale save logs nothing"
    );
    assert_eq!(logged[1].after.as_ref().and_then(|a| a["version"].as_i64()), Some(saved.version));

    let owner = Membership::new(b.id, Role::Owner, Scope::Business).expect("m");
    let only = store.create_staff(new_staff("only@logged.com"), &[owner]).await.expect("staff");
    let refused = audit_event("staff.remove");
    assert!(!store.set_business_memberships(only.id, b.id, &[], Some(&refused)).await.expect("last owner"));
    let revoke = audit_event("terminal.revoke");
    assert!(!store.revoke_terminal(Uuid::now_v7(), Utc::now(), Some(&revoke)).await.expect("no terminal"));
    assert_eq!(staged(store.clone()).await.len(), 2, "refused writes log nothing");
}

async fn staged_audit_events_wait_until_delivered(store: Arc<dyn Store>) {
    let events: Vec<_> = (0..3).map(|i| audit_event(&format!("thing.{i}"))).collect();
    for e in &events {
        store.stage_audit(e).await.expect("stage");
    }
    let staged = store.staged_audit(2).await.expect("staged");
    assert_eq!(staged, events[..2], "oldest first, whole");
    store.audit_delivered(&[events[0].id, events[1].id]).await.expect("delivered");
    assert_eq!(store.staged_audit(10).await.expect("staged"), events[2..]);
    // The audit store keeps one event per id: a repeated hand-over adds nothing.
    store.record_audit(&events[2]).await.expect("record");
    store.record_audit(&events[2]).await.expect("again");
}

mod ledger_fixtures {
    use super::*;
    use stampede_domain::card::{CardBook, Lot, TxKind};
    use stampede_domain::ids::CardId;
    use stampede_domain::ledger::{CardUpdate, CommitOp, IdempotencyRecord, LedgerEntry, OutboxEvent};

    pub struct World {
        pub cards: Vec<stampede_domain::card::Card>,
        pub program: Uuid,
    }

    pub async fn world(store: &Arc<dyn Store>, n: usize) -> World {
        let b = store.create_business(new_business("Ledger"), None).await.expect("business");
        let p = program(store, b.id).await;
        let mut cards = Vec::new();
        for i in 0..n {
            let c = store.create_customer(new_customer(&format!("l{i}@example.com"))).await.expect("customer");
            cards.push(store.join_program(p.id, b.id, c.id, &format!("CODE{i}")).await.expect("join").0);
        }
        World { cards, program: p.id }
    }

    /// Stamp `card` from `version` to `version + 1`, with a balance of `balance`,
    /// computed on the card as given (expecting the entry that made it).
    pub fn op(card: &stampede_domain::card::Card, version: i64, balance: i64, key: Option<&str>) -> CommitOp {
        op_after(card, card.last_entry, version, balance, key)
    }

    /// Operations that each build on the one made before on the same card,
    /// as a writer queues them: each expects the entry of its predecessor.
    #[derive(Default)]
    pub struct Chain(std::sync::Mutex<std::collections::HashMap<CardId, Uuid>>);

    impl Chain {
        pub fn op(
            &self,
            card: &stampede_domain::card::Card,
            version: i64,
            balance: i64,
            key: Option<&str>,
        ) -> CommitOp {
            let mut last = self.0.lock().expect("chain");
            let expected = last.get(&card.id).copied().or(card.last_entry);
            let op = op_after(card, expected, version, balance, key);
            last.insert(card.id, op.entry.id);
            op
        }
    }

    fn op_after(
        card: &stampede_domain::card::Card,
        expected_entry: Option<Uuid>,
        version: i64,
        balance: i64,
        key: Option<&str>,
    ) -> CommitOp {
        let id = Uuid::now_v7();
        let now = stampede_domain::ledger::now();
        let book = CardBook {
            lots: vec![Lot { earned_at: now, expires_at: Some(now + Duration::days(30)), remaining: balance }],
            ..Default::default()
        };
        CommitOp {
            card: CardUpdate {
                card_id: card.id,
                expected_version: version,
                expected_entry,
                new_version: version + 1,
                balance,
                points: false,
                book,
                next_expiry_at: Some(now + Duration::days(30)),
            },
            entry: LedgerEntry {
                id,
                card_id: card.id,
                customer_id: card.customer_id,
                business_id: card.business_id,
                store_id: None,
                program_id: card.program_id,
                program_version: 1,
                kind: TxKind::StampIssuance,
                delta: 1,
                points: false,
                balance_after: balance,
                amount_minor: None,
                currency: None,
                reward_id: None,
                reverses_id: None,
                terminal_id: None,
                staff_id: None,
                campaigns: vec![Uuid::nil()],
                metadata: serde_json::json!({"request_id": "r1"}),
                created_at: now,
            },
            idempotency: key.map(|k| IdempotencyRecord {
                scope: "t:test".into(),
                key: k.into(),
                fingerprint: vec![1, 2, 3],
                status: 201,
                body: format!("{{\"id\":\"{id}\"}}").into_bytes(),
                expires_at: now + Duration::hours(24),
            }),
            outbox: Some(OutboxEvent {
                event_id: id,
                card_id: Some(card.id),
                topic: "transaction".into(),
                payload: serde_json::json!({"transaction_id": id}),
            }),
            counted: false,
            stock: None,
        }
    }
}

async fn group_commit_writes_everything_or_nothing_per_card(store: Arc<dyn Store>) {
    use stampede_domain::ledger::CommitOutcome::*;
    let w = ledger_fixtures::world(&store, 3).await;
    let (a, b, c) = (&w.cards[0], &w.cards[1], &w.cards[2]);
    // Card a: two operations in one batch (v0 -> v1 -> v2). Card b: one. Card c:
    // a stale version: nothing of it may be written.
    let chain = ledger_fixtures::Chain::default();
    let ops = vec![
        chain.op(a, 0, 1, Some("a1")),
        chain.op(b, 0, 1, Some("b1")),
        chain.op(a, 1, 2, Some("a2")),
        chain.op(c, 7, 1, Some("c1")),
    ];
    let outcomes = store.commit_batch(&ops).await.expect("commit");
    assert_eq!(outcomes, vec![Committed, Committed, Committed, Conflict]);
    let a_now = store.get_card(a.id).await.expect("get").expect("card");
    assert_eq!((a_now.balance, a_now.version), (2, 2));
    assert_eq!(a_now.book.lots.len(), 1);
    assert_eq!(store.get_card(c.id).await.expect("get").expect("card").version, 0);
    assert!(store.get_idempotency("t:test", "c1").await.expect("get").is_none(), "no record for the conflict");
    let rec = store.get_idempotency("t:test", "a2").await.expect("get").expect("record");
    assert_eq!((rec.status, rec.fingerprint.as_slice()), (201, &[1u8, 2, 3][..]));
    let entry = store.get_entry(ops[2].entry.id).await.expect("get").expect("entry");
    assert_eq!(entry, ops[2].entry, "the ledger row reads back whole");
    assert!(store.get_entry(ops[3].entry.id).await.expect("get").is_none());
    let page = store.card_entries(a.id, PageRequest::new(None, None)).await.expect("entries");
    assert_eq!(page.items.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ops[2].entry.id, ops[0].entry.id]);
    assert_eq!(store.outbox_backlog().await.expect("backlog"), 3);
    let due = store.cards_due_for_expiry(Utc::now() + Duration::days(31), 10).await.expect("due");
    assert_eq!(due.len(), 2);
    assert!(store.cards_due_for_expiry(Utc::now(), 10).await.expect("due").is_empty());
}

async fn duplicates_are_dropped_with_their_dependants(store: Arc<dyn Store>) {
    use stampede_domain::ledger::CommitOutcome::*;
    let w = ledger_fixtures::world(&store, 2).await;
    let (a, b) = (&w.cards[0], &w.cards[1]);
    let chain = ledger_fixtures::Chain::default();
    let first = vec![chain.op(a, 0, 1, Some("k1"))];
    assert_eq!(store.commit_batch(&first).await.expect("commit"), vec![Committed]);
    // A retry of k1 (computed on top of v1), then an op on a that builds on it,
    // and an unrelated op on b: the duplicate and its dependant are dropped, b commits.
    let batch = vec![chain.op(a, 1, 2, Some("k1")), chain.op(a, 2, 3, Some("k2")), chain.op(b, 0, 1, Some("k3"))];
    assert_eq!(store.commit_batch(&batch).await.expect("commit"), vec![Duplicate, Conflict, Committed]);
    let a_now = store.get_card(a.id).await.expect("get").expect("card");
    assert_eq!((a_now.balance, a_now.version), (1, 1), "nothing of the retry was applied");
    assert!(store.get_idempotency("t:test", "k2").await.expect("get").is_none());
    assert_eq!(store.card_entries(a.id, PageRequest::new(None, None)).await.expect("e").items.len(), 1);
}

/// Two writers on one card. Writer 1 queues A (v0 -> v1) and B on top of A
/// (v1 -> v2); writer 2's X (v0 -> v1) commits first. A conflicts; B expects
/// version 1 as X made it, but it was computed on A's effect, which never
/// committed: it must conflict too, alone or in one batch with A. Before the
/// card row named the entry that made it, B committed a balance counting A,
/// with no ledger row for A, and A's rerun counted it again.
async fn a_queued_operation_never_lands_on_another_writers_state(store: Arc<dyn Store>) {
    use stampede_domain::ledger::CommitOutcome::*;
    let w = ledger_fixtures::world(&store, 2).await;
    for (card, together) in [(&w.cards[0], false), (&w.cards[1], true)] {
        let writer_1 = ledger_fixtures::Chain::default();
        let a = writer_1.op(card, 0, 1, Some(&format!("a{together}")));
        let b = writer_1.op(card, 1, 2, Some(&format!("b{together}")));
        let x = ledger_fixtures::op(card, 0, 1, Some(&format!("x{together}")));
        assert_eq!(store.commit_batch(std::slice::from_ref(&x)).await.expect("x"), vec![Committed]);
        if together {
            assert_eq!(store.commit_batch(&[a, b]).await.expect("a, b"), vec![Conflict, Conflict]);
        } else {
            assert_eq!(store.commit_batch(&[a]).await.expect("a"), vec![Conflict]);
            assert_eq!(store.commit_batch(&[b]).await.expect("b"), vec![Conflict], "b landed on x's state");
        }
        let now = store.get_card(card.id).await.expect("get").expect("card");
        assert_eq!((now.balance, now.version, now.last_entry), (1, 1, Some(x.entry.id)), "only x is counted");
        let entries = store.card_entries(card.id, PageRequest::new(None, None)).await.expect("entries").items;
        assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), vec![x.entry.id]);
        assert!(store.get_idempotency("t:test", &format!("b{together}")).await.expect("get").is_none());
        // Computed again on the card as it is now, writer 1's operation commits.
        let again = ledger_fixtures::op(&now, 1, 2, Some(&format!("a{together}")));
        assert_eq!(store.commit_batch(&[again]).await.expect("again"), vec![Committed]);
    }
}

/// Two redemptions of a reward with one unit left, on two cards, and one
/// more operation behind the second: the first takes the unit, the second
/// finds none and is dropped with its dependant, and the other card's
/// operations commit. Nothing of the dropped ones is written, and the unit
/// is taken once although the batch was tried twice.
async fn a_batch_takes_stock_in_order_and_drops_what_finds_none(store: Arc<dyn Store>) {
    use stampede_domain::ledger::CommitOutcome::*;
    let w = ledger_fixtures::world(&store, 3).await;
    let (a, b, c) = (&w.cards[0], &w.cards[1], &w.cards[2]);
    let reward = stampede_domain::program::Reward {
        id: Uuid::now_v7(),
        program_id: w.program,
        name: "Last muffin".into(),
        description: None,
        image_url: None,
        cost: 1,
        stock: Some(1),
        active_from: None,
        active_until: None,
        is_active: true,
        version: 1,
    };
    store.create_reward(&reward, None).await.expect("reward");
    let stocked = |mut op: stampede_domain::ledger::CommitOp| {
        op.stock = Some(stampede_domain::ledger::Stock::Take(reward.id));
        op
    };
    let chain = ledger_fixtures::Chain::default();
    let batch = vec![
        chain.op(c, 0, 1, Some("s0")),
        stocked(chain.op(a, 0, 1, Some("s1"))),
        stocked(chain.op(b, 0, 1, Some("s2"))),
        chain.op(b, 1, 2, Some("s3")),
        chain.op(a, 1, 2, Some("s4")),
    ];
    assert_eq!(
        store.commit_batch(&batch).await.expect("commit"),
        vec![Committed, Committed, OutOfStock, Conflict, Committed]
    );
    assert_eq!(store.get_reward(reward.id).await.expect("get").expect("reward").stock, Some(0));
    let b_now = store.get_card(b.id).await.expect("get").expect("card");
    assert_eq!((b_now.balance, b_now.version), (0, 0), "nothing of b was written");
    for key in ["s2", "s3"] {
        assert!(store.get_idempotency("t:test", key).await.expect("get").is_none(), "no record for {key}");
    }
    let a_now = store.get_card(a.id).await.expect("get").expect("card");
    assert_eq!((a_now.balance, a_now.version), (2, 2));
    assert!(store.get_idempotency("t:test", "s4").await.expect("get").is_some());
    assert_eq!(store.outbox_backlog().await.expect("backlog"), 3);
    assert!(store.card_entries(b.id, PageRequest::new(None, None)).await.expect("e").items.is_empty());

    // A cancelled redemption gives its unit back in the same commit, in
    // batch order: the redemption after it in the batch takes it again.
    let given_back = |mut op: stampede_domain::ledger::CommitOp, reward: Uuid| {
        op.stock = Some(stampede_domain::ledger::Stock::Return(reward));
        op
    };
    let batch = vec![given_back(chain.op(c, 1, 2, Some("r1")), reward.id), stocked(chain.op(a, 2, 3, Some("r2")))];
    assert_eq!(store.commit_batch(&batch).await.expect("commit"), vec![Committed, Committed]);
    assert_eq!(store.get_reward(reward.id).await.expect("get").expect("reward").stock, Some(0));
    let batch = vec![given_back(chain.op(c, 2, 3, Some("r3")), reward.id)];
    assert_eq!(store.commit_batch(&batch).await.expect("commit"), vec![Committed]);
    assert_eq!(store.get_reward(reward.id).await.expect("get").expect("reward").stock, Some(1));
    // A reward without a stock stays without one.
    let unlimited = stampede_domain::program::Reward { id: Uuid::now_v7(), stock: None, ..reward.clone() };
    store.create_reward(&unlimited, None).await.expect("reward");
    let batch = vec![given_back(chain.op(c, 3, 4, Some("r4")), unlimited.id)];
    assert_eq!(store.commit_batch(&batch).await.expect("commit"), vec![Committed]);
    assert_eq!(store.get_reward(unlimited.id).await.expect("get").expect("reward").stock, None);
}

/// `run_locked`, the naive engine's path: `decide` sees the card and the
/// stored answer under the lock, and what it returns is written as a
/// one-operation group commit would be, or not at all.
async fn the_naive_path_writes_one_operation_under_the_lock(store: Arc<dyn Store>) {
    use stampede_domain::ledger::CommitOutcome::*;
    let w = ledger_fixtures::world(&store, 1).await;
    let a = w.cards[0].clone();
    let key = |k: &str| Some(("t:test".to_owned(), k.to_owned()));

    // A fresh key: decide sees the card at v0 and no stored answer.
    let chain = ledger_fixtures::Chain::default();
    let first = chain.op(&a, 0, 1, Some("n1"));
    let outcome = store
        .run_locked(
            a.id,
            key("n1"),
            Box::new(move |current, stored| {
                assert_eq!(current.map(|c| c.version), Some(0));
                assert!(stored.is_none());
                Some(first)
            }),
        )
        .await
        .expect("run");
    assert_eq!(outcome, Some(Committed));

    // The same key again: decide sees the stored answer. Had it written anyway,
    // the key's record refuses it and nothing of it is written.
    let again = chain.op(&a, 1, 2, Some("n1"));
    let outcome = store
        .run_locked(
            a.id,
            key("n1"),
            Box::new(move |_, stored| {
                assert_eq!(stored.map(|r| r.status), Some(201));
                Some(again)
            }),
        )
        .await
        .expect("run");
    assert_eq!(outcome, Some(Duplicate));

    // An operation computed on a stale version conflicts; one decide answers
    // itself writes nothing.
    let card = a.clone();
    let stale = store
        .run_locked(a.id, key("n2"), Box::new(move |_, _| Some(ledger_fixtures::op(&card, 0, 1, Some("n2")))))
        .await
        .expect("run");
    assert_eq!(stale, Some(Conflict));
    assert_eq!(store.run_locked(a.id, key("n3"), Box::new(|_, _| None)).await.expect("run"), None);

    let now = store.get_card(a.id).await.expect("get").expect("card");
    assert_eq!((now.balance, now.version), (1, 1), "only the first operation was written");
    assert!(store.get_idempotency("t:test", "n2").await.expect("get").is_none());
    assert_eq!(store.card_entries(a.id, PageRequest::new(None, None)).await.expect("e").items.len(), 1);
    assert_eq!(store.outbox_backlog().await.expect("backlog"), 1);
}

async fn outbox_and_history(store: Arc<dyn Store>) {
    use stampede_domain::ledger::TransactionMessage;
    let w = ledger_fixtures::world(&store, 1).await;
    let a = &w.cards[0];
    let chain = ledger_fixtures::Chain::default();
    let ops: Vec<_> = (0..3).map(|v| chain.op(a, v, v + 1, None)).collect();
    for op in &ops {
        store.commit_batch(std::slice::from_ref(op)).await.expect("commit");
    }
    let pending = store.pending_outbox(10).await.expect("pending");
    assert_eq!(
        pending.iter().map(|p| p.event.event_id).collect::<Vec<_>>(),
        ops.iter().filter_map(|o| o.outbox.as_ref().map(|o| o.event_id)).collect::<Vec<_>>(),
        "in commit order"
    );
    store.mark_attempted(&[pending[0].seq]).await.expect("attempted");
    store.delete_delivered(&[pending[0].seq, pending[1].seq]).await.expect("delivered");
    let rest = store.pending_outbox(10).await.expect("pending");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].seq, pending[2].seq, "the one not marked is still pending");
    assert_eq!(store.outbox_backlog().await.expect("backlog"), 1);

    // The SQL history is the ledger: what the relay would publish for each
    // committed entry reads back, newest first, by card and by customer;
    // putting the messages again changes nothing.
    // (Built from the entries as read back: the database keeps its own
    // timestamp precision.)
    let mut entries = store.card_entries(a.id, PageRequest::new(None, None)).await.expect("entries").items;
    entries.reverse();
    assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), ops.iter().map(|o| o.entry.id).collect::<Vec<_>>());
    let messages: Vec<_> = entries.iter().map(|e| TransactionMessage::from_entry(e, Some("r1".into()))).collect();
    store.put_transactions(&messages).await.expect("put");
    store.put_transactions(&messages[..2]).await.expect("put again: idempotent");
    assert_eq!(store.count_history().await.expect("count"), 3);
    let page = store.card_history(a.id, PageRequest::new(None, Some(2))).await.expect("history");
    assert_eq!(page.items, vec![messages[2].clone(), messages[1].clone()]);
    let rest = store.card_history(a.id, PageRequest::new(page.next_cursor, Some(2))).await.expect("history");
    assert_eq!((rest.items, rest.next_cursor), (vec![messages[0].clone()], None));
    let mine = store.customer_history(a.customer_id, PageRequest::new(None, Some(2))).await.expect("customer");
    assert_eq!(mine.items, page.items);
    let mine = store.customer_history(a.customer_id, PageRequest::new(mine.next_cursor, None)).await.expect("customer");
    assert_eq!(mine.items, vec![messages[0].clone()]);
    let nobody = store.customer_history(CustomerId(Uuid::now_v7()), PageRequest::new(None, None)).await.expect("none");
    assert!(nobody.items.is_empty());
    assert_eq!(store.purge_idempotency(Utc::now()).await.expect("purge"), 0);
    assert_eq!(w.program, a.program_id);
}

/// SQLite's writer runs without auto-checkpoints; the checkpointer beside it
/// copies the WAL into the database file, so after a pass the file alone
/// (opened without its WAL) holds what was committed.
#[tokio::test]
async fn sqlite_wal_is_checkpointed_beside_the_writer() {
    use sqlx::Connection;
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    store
        .create_business(
            NewBusiness { name: name("Checkpointed"), description: None, tax_id: None, website: None },
            None,
        )
        .await
        .expect("business");
    let main = std::path::PathBuf::from(&db.options.url);
    let copy = main.with_file_name("copy.db");
    let mut found = 0;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::fs::copy(&main, &copy).expect("copy the database file");
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.expect("open the copy");
        found = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM businesses WHERE name = 'Checkpointed'")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
        conn.close().await.expect("close");
        let _ = std::fs::remove_file(main.with_file_name("copy.db-wal"));
        if found == 1 {
            break;
        }
    }
    assert_eq!(found, 1, "the committed row reached the database file");
}

/// A WAL that grew (here a 40 MiB bulk write from another connection) is
/// truncated by the checkpointer once the database is idle; before, it kept
/// its largest size for good. The store keeps working on it.
#[tokio::test]
async fn sqlite_wal_is_truncated_when_idle() {
    use sqlx::Connection;
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    let main = std::path::PathBuf::from(&db.options.url);
    let wal = main.with_file_name("stampede.db-wal");
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&main).pragma("wal_autocheckpoint", "0");
    let mut bulk = sqlx::SqliteConnection::connect_with(&opts).await.expect("open");
    sqlx::query("CREATE TABLE scratch (b BLOB)").execute(&mut bulk).await.expect("create");
    let mut tx = bulk.begin().await.expect("begin");
    for _ in 0..40 {
        sqlx::query("INSERT INTO scratch VALUES (zeroblob(1048576))").execute(&mut *tx).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    bulk.close().await.expect("close");
    let grown = std::fs::metadata(&wal).expect("wal").len();
    assert!(grown > stampede_store::sqlite::WAL_KEEP, "the WAL grew to {grown} bytes");
    let mut now = grown;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        now = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if now <= stampede_store::sqlite::WAL_KEEP {
            break;
        }
    }
    assert!(now <= stampede_store::sqlite::WAL_KEEP, "the idle WAL is still {now} bytes");
    let b = store
        .create_business(
            NewBusiness { name: name("After the import"), description: None, tax_id: None, website: None },
            None,
        )
        .await
        .expect("business");
    assert!(store.get_business(b.id).await.expect("read").is_some());
}

/// Operations marked counted are added to the daily analytics by their
/// commit, in the same transaction: what committed counts once, what was
/// dropped not at all; an operation without an outbox row writes none.
async fn a_commit_counts_what_it_commits_in_the_analytics(store: Arc<dyn Store>) {
    use stampede_domain::analytics::AnalyticsQuery;
    let w = ledger_fixtures::world(&store, 3).await;
    let chain = ledger_fixtures::Chain::default();
    let counted = |card, version, balance, relayed: bool| {
        let mut op = chain.op(card, version, balance, None);
        op.counted = true;
        if let Some(o) = op.outbox.as_mut().filter(|_| relayed) {
            o.topic = stampede_domain::ledger::TRANSACTION_COUNTED.into();
        } else {
            op.outbox = None;
        }
        op
    };
    let (a, b, c) = (&w.cards[0], &w.cards[1], &w.cards[2]);
    let batch = [
        counted(a, 0, 1, false),
        counted(a, 1, 2, false),
        counted(b, 0, 1, true),
        // A stale version: dropped, so neither written nor counted.
        {
            let mut stale = ledger_fixtures::op(c, 5, 6, None);
            (stale.counted, stale.outbox) = (true, None);
            stale
        },
    ];
    let outcomes = store.commit_batch(&batch).await.expect("commit");
    assert_eq!(outcomes.iter().filter(|o| **o == stampede_domain::ledger::CommitOutcome::Committed).count(), 3);
    let day = batch[0].entry.created_at.date_naive();
    let q = AnalyticsQuery { business_id: a.business_id, from: day, to: day, store_id: None, program_id: None };
    let rows = store.daily_aggregates(&q).await.expect("read");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].stamps_issued, rows[0].active_customers, rows[0].new_customers), (3, 2, 2));
    assert_eq!(rows[0].store_id, None);
    let pending = store.pending_outbox(10).await.expect("pending");
    assert_eq!(pending.len(), 1, "only the operation that must leave the process has an outbox row");
    assert_eq!(pending[0].event.event_id, batch[2].entry.id);

    // The same customers again that day: more stamps, nobody newly active or new.
    store.commit_batch(&[counted(a, 2, 3, false), counted(c, 0, 1, false)]).await.expect("commit");
    let rows = store.daily_aggregates(&q).await.expect("read");
    assert_eq!((rows[0].stamps_issued, rows[0].active_customers, rows[0].new_customers), (5, 3, 3));
    store.commit_batch(&[counted(a, 3, 4, false)]).await.expect("commit");
    let rows = store.daily_aggregates(&q).await.expect("read");
    assert_eq!((rows[0].stamps_issued, rows[0].active_customers, rows[0].new_customers), (6, 3, 3));

    // Not counted (the naive engine's operations): the analytics processor's.
    store.commit_batch(&[chain.op(a, 4, 5, None)]).await.expect("commit");
    assert_eq!(store.daily_aggregates(&q).await.expect("read")[0].stamps_issued, 6);
}

/// Usage counted in memory is added to what is there, per day, kind and
/// business (none: the nil business).
async fn usage_counted_in_memory_adds_up(store: Arc<dyn Store>) {
    use stampede_domain::analytics::UsageDelta;
    let business = BusinessId(Uuid::now_v7());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    let delta = |event: &str, business_id, count| UsageDelta { day, event: event.into(), business_id, count };
    store.add_usage(&[delta("card_view", Some(business), 3), delta("login", None, 2)]).await.expect("add");
    store.add_usage(&[delta("card_view", Some(business), 4)]).await.expect("add again");
    store.add_usage(&[]).await.expect("nothing");
    let counts = store.usage_counts(Some(business), day, day).await.expect("read");
    assert_eq!(counts.iter().map(|c| (c.event.as_str(), c.count)).collect::<Vec<_>>(), [("card_view", 7)]);
    let none = store.usage_counts(None, day, day).await.expect("read");
    assert!(none.iter().any(|c| c.event == "login" && c.count >= 2), "{none:?}");
}

/// A second factor: pending until confirmed, then each step and each
/// recovery code counts once, whichever of two racing requests comes first.
async fn second_factors_count_each_code_once(store: Arc<dyn Store>) {
    use stampede_domain::identity::SubjectKind;
    let who = Uuid::now_v7();
    let at = Utc::now();
    assert!(store.get_mfa(who).await.expect("get").is_none());
    assert!(store.begin_mfa(who, SubjectKind::Staff, b"first", at).await.expect("begin"));
    assert!(store.begin_mfa(who, SubjectKind::Staff, b"second", at).await.expect("begin again"), "still pending");
    let pending = store.get_mfa(who).await.expect("get").expect("factor");
    assert_eq!((pending.sealed_secret.as_slice(), pending.is_on()), (&b"second"[..], false));
    assert!(!store.use_mfa_step(who, 5).await.expect("use"), "a pending factor signs nobody in");
    let codes: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 32]).collect();
    assert!(store.confirm_mfa(who, 100, &codes, at).await.expect("confirm"));
    assert!(!store.confirm_mfa(who, 101, &codes, at).await.expect("confirm twice"));
    assert!(!store.begin_mfa(who, SubjectKind::Staff, b"third", at).await.expect("begin"), "on: not replaced");
    let on = store.get_mfa(who).await.expect("get").expect("factor");
    assert_eq!((on.is_on(), on.last_step, on.recovery_codes_left, on.subject_kind), (true, 100, 3, SubjectKind::Staff));

    assert!(!store.use_mfa_step(who, 100).await.expect("use"), "the confirming code's step is used");
    let s = &store;
    let racing = tokio::join!(s.use_mfa_step(who, 101), s.use_mfa_step(who, 101), s.use_mfa_step(who, 101));
    let wins = [racing.0, racing.1, racing.2].into_iter().filter(|r| *r.as_ref().expect("use")).count();
    assert_eq!(wins, 1, "one winner");
    assert!(!store.use_mfa_step(who, 99).await.expect("use"), "an older step");

    let c = &codes[0];
    let racing = tokio::join!(s.use_recovery_code(who, c), s.use_recovery_code(who, c), s.use_recovery_code(who, c));
    let wins = [racing.0, racing.1, racing.2].into_iter().filter(|r| *r.as_ref().expect("use")).count();
    assert_eq!(wins, 1, "one winner");
    assert!(!store.use_recovery_code(who, &[9u8; 32]).await.expect("use"));
    assert!(!store.use_recovery_code(Uuid::now_v7(), &codes[1]).await.expect("use"), "another account's code");
    store.replace_recovery_codes(who, &[vec![7u8; 32]]).await.expect("replace");
    assert!(!store.use_recovery_code(who, &codes[1]).await.expect("use"), "replaced");
    assert_eq!(store.get_mfa(who).await.expect("get").expect("factor").recovery_codes_left, 1);

    assert!(store.remove_mfa(who).await.expect("remove"));
    assert!(!store.remove_mfa(who).await.expect("remove"));
    assert!(store.get_mfa(who).await.expect("get").is_none());
    assert!(!store.use_recovery_code(who, &[7u8; 32]).await.expect("use"), "gone with the factor");
}

/// A mailing goes to the program's members who consent to the business and
/// have a verified address, filtered by card activity; its recipients move
/// from queued to published to sent or skipped, each step once.
async fn a_mailing_fixes_its_audience_and_counts_each_recipient_once(store: Arc<dyn Store>) {
    use stampede_domain::marketing::{Audience, NewMailing};
    use stampede_domain::text::Prose;

    let b = store.create_business(new_business("Mailer"), None).await.expect("business");
    let other = store.create_business(new_business("Elsewhere"), None).await.expect("business");
    let p = program(&store, b.id).await;
    let now = Utc::now();
    let member = |e: &'static str, consent: Option<BusinessId>, verified: bool| {
        let store = Arc::clone(&store);
        async move {
            let c = store.create_customer(new_customer(e)).await.expect("customer");
            if verified {
                store.mark_email_verified(c.id, now).await.expect("verify");
            }
            if let Some(business) = consent {
                store.set_marketing_consent(c.id, business, true, now).await.expect("consent");
            }
            store.join_program(p.id, b.id, c.id, &format!("CODE-{e}")).await.expect("join");
            c.id
        }
    };
    let yes = member("yes@example.com", Some(b.id), true).await;
    let also = member("also@example.com", Some(b.id), true).await;
    member("no-consent@example.com", None, true).await;
    member("other-business@example.com", Some(other.id), true).await;
    member("unverified@example.com", Some(b.id), false).await;
    let erased = member("erased@example.com", Some(b.id), true).await;
    store.erase_customer(erased).await.expect("erase");

    let everyone = Audience { program_id: p.id, active_within_days: None, inactive_for_days: None };
    assert_eq!(store.audience_size(b.id, &everyone, now).await.expect("size"), 2);
    let lately = Audience { active_within_days: Some(7), ..everyone };
    assert_eq!(
        store.audience_size(b.id, &lately, now).await.expect("size"),
        2,
        "cards joined just now were used lately"
    );
    let lapsed = Audience { inactive_for_days: Some(7), ..everyone };
    assert_eq!(store.audience_size(b.id, &lapsed, now).await.expect("size"), 0);
    assert_eq!(store.audience_size(other.id, &everyone, now).await.expect("size"), 0, "another business's program");

    let new = NewMailing {
        id: Uuid::now_v7(),
        business_id: b.id,
        audience: everyone,
        subject: name("Double stamps on Friday"),
        body: Prose::parse("Come by!\nAll day.").expect("body"),
        created_by: StaffId(Uuid::now_v7()),
        created_at: now,
    };
    let mailing = store.create_mailing(&new, &audit_event("mailing.create")).await.expect("create");
    assert_eq!((mailing.recipients, mailing.pending, mailing.sent), (2, 2, 0));
    let staged: Vec<String> = store.staged_audit(10).await.expect("staged").into_iter().map(|e| e.action).collect();
    assert_eq!(staged, ["mailing.create"]);

    let queued = store.queued_recipients(10).await.expect("queued");
    let mut customers: Vec<CustomerId> = queued.iter().map(|r| r.customer_id).collect();
    customers.sort_by_key(|c| c.0);
    let mut expected = vec![yes, also];
    expected.sort_by_key(|c| c.0);
    assert_eq!(customers, expected);
    assert!(queued.iter().all(|r| r.mailing_id == mailing.id && r.business_id == b.id));
    assert_eq!(queued[0].body, "Come by!\nAll day.");

    // The email worker can be quicker than the relay's bookkeeping: an
    // outcome recorded first is kept when the relay marks the batch published.
    store.recipient_handled(mailing.id, yes, true).await.expect("handled");
    store.recipients_published(mailing.id, &customers).await.expect("published");
    assert!(store.queued_recipients(10).await.expect("queued").is_empty());
    store.recipient_handled(mailing.id, also, false).await.expect("handled");
    store.recipient_handled(mailing.id, also, true).await.expect("a repeat changes nothing");
    let listed = store.list_mailings(b.id).await.expect("list");
    assert_eq!(listed.len(), 1);
    let m = &listed[0];
    assert_eq!((m.recipients, m.pending, m.sent, m.skipped), (2, 0, 1, 1));
    assert_eq!((m.subject.as_str(), m.audience), ("Double stamps on Friday", everyone));
    assert!(store.list_mailings(other.id).await.expect("list").is_empty());
}
