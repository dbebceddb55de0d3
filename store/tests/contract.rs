//! One contract, every storage backend: each test below runs against a fresh
//! SQLite file and a fresh PostgreSQL database.

use std::sync::Arc;

use stampede_domain::business::NewBusiness;
use stampede_domain::customer::NewCustomer;
use stampede_domain::email::Email;
use stampede_domain::ids::{BusinessId, CustomerId, StaffId, StoreId};
use stampede_domain::page::PageRequest;
use stampede_domain::ports::{Store, StoreError};
use stampede_domain::staff::{Membership, NewStaff, Role, Scope};
use stampede_domain::text::Name;
use stampede_store::DatabaseBackend;
use stampede_store::testing::TestDatabase;

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
    business_round_trip,
    businesses_page_by_id,
    deactivate_checks_version,
    customer_email_is_unique_and_normalised,
    missing_records_are_none,
    first_owner_is_created_once,
    staff_memberships_round_trip,
    staff_email_is_unique,
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
    NewCustomer { email: email(e), name: name("Ada"), phone: None, marketing_consent: true, password_hash: None }
}

fn new_staff(e: &str) -> NewStaff {
    NewStaff {
        email: email(e),
        name: name("Sam"),
        password_hash: Some("$argon2id$x".into()),
        must_change_password: false,
    }
}

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

async fn business_round_trip(store: Arc<dyn Store>) {
    let created = store.create_business(new_business("Café Uno")).await.expect("create");
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
        ids.push(store.create_business(new_business(&format!("B{i}"))).await.expect("create").id);
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
    let b = store.create_business(new_business("Versioned")).await.expect("create");
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
    assert!(c.marketing_consent);
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
        let id = db.open().await.create_business(new_business("Kept")).await.expect("create").id;
        let again = db.open().await;
        assert!(again.get_business(id).await.expect("get").is_some(), "{backend:?}");
    }
}
