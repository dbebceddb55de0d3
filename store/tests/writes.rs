//! SQLite's write counters (`stampede_store::writes`): one test in a binary
//! of its own, since the counters are the process's.

use stampede_domain::customer::NewCustomer;
use stampede_domain::email::Email;
use stampede_domain::text::Name;
use stampede_store::testing::TestDatabase;
use stampede_store::writes::sqlite_writes;

#[tokio::test]
async fn sqlite_counts_its_write_transactions_and_rows() {
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    let before = sqlite_writes();
    let new = NewCustomer {
        id: None,
        email: Email::parse("count@example.com").expect("email"),
        name: Name::parse("Count").expect("name"),
        phone: None,
        password_hash: None,
    };
    let customer = store.create_customer(new).await.expect("create");
    let after_insert = sqlite_writes();
    assert_eq!((after_insert.0 - before.0, after_insert.1 - before.1), (1, 1), "one transaction, one row");
    store.get_customer(customer.id).await.expect("read").expect("found");
    assert_eq!(sqlite_writes(), after_insert, "a read writes nothing");
}
