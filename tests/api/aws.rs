//! The AWS shape end to end, against PostgreSQL and moto_server (started by
//! `scripts/test`, address in `MOTO_URL`): history in DynamoDB, the
//! transaction queue in SQS, mail through SES, objects in S3. Each test names
//! its own resources, so tests share one moto without resetting it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use stampede_aws::bootstrap::Resources;
use stampede_aws::history::DynamoHistory;
use stampede_domain::ids::{CardId, CustomerId};
use stampede_domain::page::PageRequest;
use stampede_domain::ports::HistoryStore;
use stampede_store::DatabaseBackend;
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

use crate::admin::json_of;
use crate::pos::{Counter, counter};

pub fn moto_url() -> String {
    stampede_aws::testing::moto_url().unwrap_or_else(|e| panic!("{e}"))
}

pub fn resources(prefix: &str) -> Resources {
    stampede_aws::testing::resources(prefix, 3)
}

pub async fn sdk(endpoint: &str) -> stampede_aws::SdkConfig {
    stampede_aws::testing::sdk_config(endpoint).await
}

/// Settings that put every port on AWS at `endpoint` (moto, or a proxy to it).
pub fn aws_toml(endpoint: &str, r: &Resources) -> String {
    format!(
        "[history]\nbackend = \"dynamodb\"\n[queue]\nbackend = \"sqs\"\n[objects]\nbackend = \"s3\"\n\
         [sessions]\nbackend = \"dynamodb\"\n[audit]\nbackend = \"dynamodb\"\n\
         [mail]\nbackend = \"ses\"\nfrom = \"Stampede <{sender}>\"\n\
         [aws]\nendpoint_url = {endpoint:?}\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n\
         timeout_secs = 2\ntransactions_table = {tt:?}\nsessions_table = {st:?}\naudit_table = {at:?}\n\
         queue_prefix = {qp:?}\nbucket = {b:?}\nmax_receive_count = {mrc}\n",
        sender = r.sender,
        tt = r.transactions_table,
        st = r.sessions_table,
        at = r.audit_table,
        qp = r.queue_prefix,
        b = r.bucket,
        mrc = r.max_receive_count,
    )
}

fn prefix() -> String {
    format!("e{}", &Uuid::new_v4().simple().to_string()[..10])
}

/// Every message on a queue (deleting them), with its attributes.
async fn drain_queue(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = Vec::new();
    let mut empty_polls = 0;
    while empty_polls < 2 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty_polls += 1;
        }
        for m in messages {
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().expect("receipt")).send().await.ok();
            got.push(m);
        }
    }
    got
}

async fn queue_url(sqs: &aws_sdk_sqs::Client, r: &Resources, topic: &str) -> String {
    let name = stampede_aws::sqs::queue_name(&r.queue_prefix, topic);
    sqs.get_queue_url().queue_name(name).send().await.expect("queue url").queue_url.expect("url")
}

/// The outbox backlog the server reports in /metrics.
async fn backlog(c: &Counter) -> i64 {
    let text = c.app.client.get(c.app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find(|l| l.starts_with("stampede_outbox_backlog") || l.starts_with("outbox_backlog"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no outbox backlog in /metrics"))
}

async fn wait_for_empty_backlog(c: &Counter) {
    for _ in 0..300 {
        if backlog(c).await == 0 && c.app.store.outbox_backlog().await.expect("backlog") == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the outbox did not drain");
}

#[tokio::test]
async fn a_stamp_reaches_dynamodb_by_card_and_customer_and_the_transaction_queue() {
    let p = prefix();
    let r = resources(&p);
    let moto = moto_url();
    let conf = sdk(&moto).await;
    stampede_aws::bootstrap::run(&conf, &r).await.expect("bootstrap");
    let c = counter(DatabaseBackend::Postgres, "actors", &aws_toml(&moto, &r)).await;

    let res = c.stamp("aws-1", 2).await;
    assert_eq!(res.status(), 201);
    let tx = json_of(res).await;
    let tx_id: Uuid = tx["transaction"]["id"].as_str().expect("id").parse().expect("uuid");
    // Committed in PostgreSQL.
    assert_eq!(c.balance(&c.stamp_card).await, 2);
    let entry = c.app.store.get_entry(tx_id).await.expect("entry").expect("in the ledger");
    wait_for_empty_backlog(&c).await;

    // In DynamoDB, by id, by card (GSI2) and by customer (GSI1).
    let history = DynamoHistory::from_conf(&conf, &r.transactions_table, 30);
    let item = history.get_transaction(tx_id).await.expect("get").expect("in dynamodb");
    assert_eq!((item.amount, item.balance_after, item.card_id), (2, 2, entry.card_id));
    let by_card = history.card_history(entry.card_id, PageRequest::new(None, None)).await.expect("by card");
    assert_eq!(by_card.items.iter().map(|m| m.transaction_id).collect::<Vec<_>>(), vec![tx_id]);
    let by_customer = history.customer_history(entry.customer_id, PageRequest::new(None, None)).await.expect("cust");
    assert_eq!(by_customer.items.iter().map(|m| m.transaction_id).collect::<Vec<_>>(), vec![tx_id]);

    // The customer's views read the same indexes through the API.
    let cust = crate::admin::customer(&c.app, "pat@example.com").await;
    let mine = json_of(c.app.get_auth(&format!("/v1/me/cards/{}/transactions", c.stamp_card), &cust).await).await;
    assert_eq!(mine["items"][0]["id"], tx_id.to_string());
    assert_eq!(mine["items"][0]["counts"], "stamps");
    let all = json_of(c.app.get_auth("/v1/me/transactions", &cust).await).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(1));

    // On the transaction queue with its attributes.
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let messages = drain_queue(&sqs, &queue_url(&sqs, &r, "transaction").await).await;
    assert_eq!(messages.len(), 1);
    let attrs = messages[0].message_attributes().expect("attributes");
    assert_eq!(attrs["id"].string_value(), Some(tx_id.to_string().as_str()));
    assert_eq!(attrs["type"].string_value(), Some("transaction.committed"));
    assert_eq!(attrs["schema_version"].string_value(), Some("1"));
    assert!(attrs.contains_key("request_id"));
    let body: serde_json::Value = serde_json::from_str(messages[0].body().expect("body")).expect("json body");
    assert_eq!(body["transaction_id"], tx_id.to_string());
    assert_eq!(body["transaction_type"], "STAMP_ISSUANCE");

    // A logo goes to S3 and is served back.
    let bid = json_of(c.app.get_auth("/v1/businesses", &c.owner).await).await["items"][0]["id"]
        .as_str()
        .expect("business")
        .to_owned();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let res = c
        .app
        .client
        .put(c.app.url(&format!("/v1/businesses/{bid}/logo")))
        .bearer_auth(&c.owner)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), 200);
    // Sessions and audit events live in their DynamoDB tables: the owner's
    // refresh token works, and the logo change is in the audit log.
    let audit = json_of(c.app.get_auth(&format!("/v1/businesses/{bid}/audit"), &c.owner).await).await;
    let actions: Vec<&str> =
        audit["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.iter().any(|a| a.contains("logo")), "{actions:?}");
    let dynamo = aws_sdk_dynamodb::Client::new(&conf);
    let sessions = dynamo.scan().table_name(&r.sessions_table).send().await.expect("scan sessions").count;
    assert!(sessions >= 2, "refresh tokens and one-time tokens are in DynamoDB ({sessions})");
    // A customer upload goes straight to S3 with a presigned PUT, and comes back
    // through a presigned GET only to its owner.
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    let slot = json_of(
        c.app.post_auth("/v1/me/uploads", &cust, json!({"content_type": "application/pdf", "size": pdf.len()})).await,
    )
    .await;
    assert_eq!(slot["direct"], true);
    let signed = slot["url"].as_str().expect("url");
    assert!(signed.contains("X-Amz-Signature"), "{signed}");
    let put = c.app.client.put(signed).header("content-type", "application/pdf").body(pdf.clone()).send().await;
    assert!(put.expect("upload to s3").status().is_success());
    let path = format!("/v1/me/uploads/{}", slot["id"].as_str().expect("id"));
    let read = c.app.get_auth(&path, &cust).await;
    assert_eq!(read.status(), 302);
    let location = read.headers().get("location").and_then(|v| v.to_str().ok()).expect("location").to_owned();
    let downloaded = reqwest::get(&location).await.expect("download").bytes().await.expect("bytes");
    assert_eq!(downloaded.to_vec(), pdf);
    let other = crate::admin::customer(&c.app, "eve@example.com").await;
    crate::helpers::assert_problem(c.app.get_auth(&path, &other).await, 404, "not_found").await;
    // Listed from the bucket; deleted from it by its owner.
    let mine = json_of(c.app.get_auth("/v1/me/uploads", &cust).await).await;
    assert_eq!(mine["items"][0]["id"], slot["id"]);
    assert_eq!(mine["items"][0]["size"], pdf.len());
    let deleted = c.app.client.delete(c.app.url(&path)).bearer_auth(&cust).send().await.expect("delete");
    assert_eq!(deleted.status(), 204);
    let mine = json_of(c.app.get_auth("/v1/me/uploads", &cust).await).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(0), "{mine}");

    let listed = aws_sdk_s3_keys(&conf, &r.bucket).await;
    assert!(listed.iter().any(|k| k.starts_with(&format!("public/businesses/{bid}/"))), "{listed:?}");
    let logo = json_of(res).await["logo_url"].as_str().expect("logo_url").to_owned();
    let served = c.app.client.get(c.app.url(logo.trim_start_matches("http://stampede.test"))).send().await;
    assert_eq!(served.expect("logo").bytes().await.expect("bytes").to_vec(), png);
}

/// The keys in a bucket, read through the object port's own client set-up.
async fn aws_sdk_s3_keys(conf: &stampede_aws::SdkConfig, bucket: &str) -> Vec<String> {
    let client = stampede_aws::s3::S3Objects::client_for(conf);
    let out = client.list_objects_v2().bucket(bucket).send().await.expect("list");
    out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

/// A TCP proxy in front of moto that can be switched off: while off it refuses
/// new connections and cuts open ones, as if the AWS endpoint were down.
struct Switch {
    up: Arc<AtomicBool>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    address: String,
}

impl Switch {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = format!("http://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (flag, list) = (Arc::clone(&up), Arc::clone(&conns));
        let target = target.trim_start_matches("http://").to_owned();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                list.lock().expect("conns").push(task.abort_handle());
            }
        });
        Self { up, conns, address }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().expect("conns").drain(..) {
            c.abort();
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn when_aws_is_down_pos_writes_succeed_and_the_outbox_drains_once_it_is_back() {
    let p = prefix();
    let r = resources(&p);
    let moto = moto_url();
    let conf = sdk(&moto).await;
    stampede_aws::bootstrap::run(&conf, &r).await.expect("bootstrap");
    let switch = Switch::start(moto.clone()).await;
    let c = counter(DatabaseBackend::Postgres, "actors", &aws_toml(&switch.address, &r)).await;

    // A burst: 20 stamps, then the endpoint goes away for 40 more, then it is back.
    let mut acknowledged = Vec::new();
    for i in 0..60 {
        if i == 20 {
            switch.down();
        }
        let res = c
            .pos(
                "points",
                Some(&format!("burst-{i}")),
                json!({"card_id": c.points_card, "amount_minor": 250, "currency": "EUR"}),
            )
            .await;
        assert_eq!(res.status(), 201, "POS writes need only the system of record");
        let tx = json_of(res).await;
        acknowledged.push(tx["transaction"]["id"].as_str().expect("id").parse::<Uuid>().expect("uuid"));
    }
    // The backlog is visible while AWS is away.
    let mut seen_backlog = 0;
    for _ in 0..50 {
        seen_backlog = backlog(&c).await;
        if seen_backlog > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen_backlog > 0, "the outbox backlog shows in /metrics while AWS is down");
    assert!(c.app.store.outbox_backlog().await.expect("backlog") > 0);

    switch.up();
    wait_for_empty_backlog(&c).await;

    // Every acknowledged transaction is in DynamoDB exactly once...
    let history = DynamoHistory::from_conf(&conf, &r.transactions_table, 30);
    assert_eq!(history.count_history().await.expect("count"), 60);
    let card = CardId(c.points_card.parse().expect("uuid"));
    let mut in_dynamo = Vec::new();
    let mut after = None;
    loop {
        let page = history.card_history(card, PageRequest::new(after, Some(25))).await.expect("page");
        in_dynamo.extend(page.items.iter().map(|m| m.transaction_id));
        match page.next_cursor {
            Some(cur) => after = Some(cur),
            None => break,
        }
    }
    let unique: HashSet<Uuid> = in_dynamo.iter().copied().collect();
    assert_eq!(in_dynamo.len(), 60);
    assert_eq!(unique, acknowledged.iter().copied().collect::<HashSet<_>>());

    // ...and on the queue at least once, each with its id to de-duplicate by.
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let messages = drain_queue(&sqs, &queue_url(&sqs, &r, "transaction").await).await;
    let mut by_id: HashMap<Uuid, usize> = HashMap::new();
    for m in &messages {
        let id = m.message_attributes().and_then(|a| a.get("id")).and_then(|v| v.string_value()).expect("id attribute");
        *by_id.entry(id.parse().expect("uuid")).or_default() += 1;
    }
    assert_eq!(by_id.keys().copied().collect::<HashSet<_>>(), unique, "every transaction is on the queue");
    let customer = history.get_transaction(acknowledged[0]).await.expect("get").expect("item").customer_id;
    let page = history.customer_history(CustomerId(customer.0), PageRequest::new(None, Some(200))).await;
    assert_eq!(page.expect("customer history").items.len(), 60);
}

/// A Cognito pool with an app client: (pool id, client id).
/// The API does not call SES itself: a registration's verification mail is
/// a message on the SQS `email` queue, which the email worker (Lambda, or
/// `stampede worker`) sends.
#[tokio::test]
async fn account_mail_goes_to_the_email_queue_not_straight_to_ses() {
    use stampede_workers::email_worker::{EmailWorker, Sent};

    let p = prefix();
    let r = resources(&p);
    let moto = moto_url();
    let conf = sdk(&moto).await;
    stampede_aws::bootstrap::run(&conf, &r).await.expect("bootstrap");
    let app = crate::helpers::spawn_app_with(DatabaseBackend::Postgres, &aws_toml(&moto, &r)).await;
    let email = format!("ada-{p}@example.com");
    let res = app
        .post_json(
            "/v1/auth/customers/register",
            json!({"email": email, "password": "correct horse battery", "name": "Ada"}),
        )
        .await;
    assert_eq!(res.status(), 202);

    let sqs = aws_sdk_sqs::Client::new(&conf);
    let messages = drain_queue(&sqs, &queue_url(&sqs, &r, "email").await).await;
    assert_eq!(messages.len(), 1);
    let attrs = messages[0].message_attributes().expect("attributes");
    assert_eq!(attrs["type"].string_value(), Some("email.requested"));
    let body = messages[0].body().expect("body");
    let message: serde_json::Value = serde_json::from_str(body).expect("json body");
    assert_eq!(message["template"], "verify_email");
    assert_eq!(message["to"], email.as_str());
    assert!(message["values"]["link"].as_str().is_some_and(|l| l.contains("/verify-email?token=")), "{message}");

    // The email worker sends it through SES, once.
    let worker = EmailWorker {
        store: Arc::clone(&app.store),
        mailer: Arc::new(stampede_aws::ses::SesMailer::from_conf(&conf, format!("Stampede <{}>", r.sender), None)),
        unsubscribe_link: Arc::new(|_, _| Ok("http://stampede.test/v1/unsubscribe".into())),
        lease: Duration::from_secs(60),
    };
    assert_eq!(worker.handle(body).await.expect("sent"), Sent::Sent);
    assert_eq!(worker.handle(body).await.expect("a repeat"), Sent::Duplicate);
}

/// Settings for the Cognito shape: the customer and staff pools (pool, app
/// client), their keys served by moto at `jwks_base`, AWS calls to `endpoint`.
pub fn cognito_toml(customers: (&str, &str), staff: (&str, &str), jwks_base: &str, endpoint: &str) -> String {
    format!(
        "[identity]\nbackend = \"cognito\"\n\
         [identity.cognito.customers]\npool_id = {cp:?}\nclient_id = {cc:?}\n\
         jwks_url = \"{jwks_base}/{cp}/.well-known/jwks.json\"\n\
         [identity.cognito.staff]\npool_id = {sp:?}\nclient_id = {sc:?}\n\
         jwks_url = \"{jwks_base}/{sp}/.well-known/jwks.json\"\n\
         [aws]\nendpoint_url = {endpoint:?}\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n",
        cp = customers.0,
        cc = customers.1,
        sp = staff.0,
        sc = staff.1,
    )
}

async fn cognito_pool(conf: &stampede_aws::SdkConfig, name: &str) -> (String, String) {
    let pool = stampede_aws::testing::cognito_pool(conf, name).await.expect("pool");
    (pool.pool_id, pool.client_id)
}

#[tokio::test]
async fn cognito_customers_sign_up_confirm_sign_in_and_use_the_api_and_other_pools_are_refused() {
    let moto = moto_url();
    let conf = sdk(&moto).await;
    let tag = Uuid::new_v4().simple().to_string();
    let (customers, customers_client) = cognito_pool(&conf, &format!("customers-{tag}")).await;
    let (staff, staff_client) = cognito_pool(&conf, &format!("staff-{tag}")).await;
    let (elsewhere, elsewhere_client) = cognito_pool(&conf, &format!("elsewhere-{tag}")).await;
    let toml = cognito_toml((&customers, &customers_client), (&staff, &staff_client), &moto, &moto);
    let app = crate::helpers::spawn_app_with(DatabaseBackend::Postgres, &toml).await;
    let owner = app.owner_token().await;
    let (bid, _, _) = crate::admin::shop(&app, &owner).await;
    let program =
        json_of(app.post_auth(&format!("/v1/businesses/{bid}/programs"), &owner, crate::admin::stamp_program()).await)
            .await;
    let pid = program["id"].as_str().expect("program id").to_owned();

    // Sign up through Stampede; the pool holds the password.
    let email = format!("ada-{tag}@example.com");
    let password = "Correct-Horse-9!";
    let signup = json!({"email": email, "password": password, "name": "Ada"});
    let res = app.post_json("/v1/auth/cognito/customers/register", signup.clone()).await;
    assert_eq!(res.status(), 202);
    // Signing up again looks the same.
    assert_eq!(app.post_json("/v1/auth/cognito/customers/register", signup).await.status(), 202);
    // No profile before the address is confirmed.
    let parsed = stampede_domain::email::Email::parse(&email).expect("email");
    assert!(app.store.find_customer_by_email(&parsed).await.expect("find").is_none(), "no profile yet");
    // An unconfirmed sign-up holds nothing: the address's owner signing up
    // later replaces it, and only their password opens the account.
    let taken = format!("taken-{tag}@example.com");
    let squat = json!({"email": taken, "password": "Squatters-Pass-1", "name": "Not Them"});
    assert_eq!(app.post_json("/v1/auth/cognito/customers/register", squat).await.status(), 202);
    let owners = json!({"email": taken, "password": "Owners-Own-Pass-2", "name": "Them"});
    assert_eq!(app.post_json("/v1/auth/cognito/customers/register", owners).await.status(), 202);
    let confirmed =
        app.post_json("/v1/auth/cognito/customers/confirm", json!({"email": taken, "code": "123456"})).await;
    assert_eq!(confirmed.status(), 204);
    let squatter = json!({"email": taken, "password": "Squatters-Pass-1"});
    crate::helpers::assert_problem(
        app.post_json("/v1/auth/cognito/customers/login", squatter).await,
        401,
        "unauthorized",
    )
    .await;
    let owner_in = json_of(
        app.post_json("/v1/auth/cognito/customers/login", json!({"email": taken, "password": "Owners-Own-Pass-2"}))
            .await,
    )
    .await;
    let theirs = json_of(app.get_auth("/v1/me", owner_in["access_token"].as_str().expect("access")).await).await;
    assert_eq!(theirs["name"], "Them", "the profile is made at confirmation, from the owner's sign-up");
    // Local customer accounts are off.
    let local = app
        .post_json("/v1/auth/customers/register", json!({"email": "x@example.com", "password": password, "name": "X"}))
        .await;
    crate::helpers::assert_problem(local, 404, "not_found").await;

    let res = app.post_json("/v1/auth/cognito/customers/confirm", json!({"email": email, "code": "123456"})).await;
    assert_eq!(res.status(), 204);
    let wrong =
        app.post_json("/v1/auth/cognito/customers/login", json!({"email": email, "password": "not-it-at-all"})).await;
    crate::helpers::assert_problem(wrong, 401, "unauthorized").await;
    let tokens =
        json_of(app.post_json("/v1/auth/cognito/customers/login", json!({"email": email, "password": password})).await)
            .await;
    let access = tokens["access_token"].as_str().expect("access token").to_owned();

    // The pool's token works on the customer API.
    let me = json_of(app.get_auth("/v1/me", &access).await).await;
    assert_eq!(me["email"], email.as_str());
    let res = app.post_auth(&format!("/v1/programs/{pid}/join"), &access, json!({})).await;
    assert_eq!(res.status(), 201);
    let cards = json_of(app.get_auth("/v1/me/cards", &access).await).await;
    assert_eq!(cards.as_array().map(Vec::len), Some(1));
    // ...and not on staff routes.
    assert_eq!(app.get_auth(&format!("/v1/programs/{pid}"), &access).await.status(), 401);

    // Refresh gives a working access token.
    let refreshed = json_of(
        app.post_json("/v1/auth/cognito/customers/refresh", json!({"refresh_token": tokens["refresh_token"]})).await,
    )
    .await;
    let again = refreshed["access_token"].as_str().expect("refreshed access token");
    assert_eq!(app.get_auth("/v1/me", again).await.status(), 200);

    // A token from a pool this deployment does not trust is refused.
    let other = stampede_aws::cognito::CognitoPool::from_conf(&conf, &elsewhere, &elsewhere_client);
    let stranger = format!("eve-{tag}@example.com");
    other.sign_up(&stranger, password, None).await.expect("sign up elsewhere");
    other.admin_confirm(&stranger).await.expect("confirm elsewhere");
    let foreign = other.login(&stranger, password).await.expect("login elsewhere").access_token;
    crate::helpers::assert_problem(app.get_auth("/v1/me", &foreign).await, 401, "unauthorized").await;

    // A user who signed up in the pool directly (hosted UI, federation) gets
    // a profile on first call, once.
    let direct = stampede_aws::cognito::CognitoPool::from_conf(&conf, &customers, &customers_client);
    let walk_in = format!("walk-in-{tag}@example.com");
    direct.sign_up(&walk_in, password, Some("Walk In")).await.expect("sign up in the pool");
    direct.admin_confirm(&walk_in).await.expect("confirm");
    let token = direct.login(&walk_in, password).await.expect("login").access_token;
    crate::helpers::assert_problem(app.get_auth("/v1/me", &token).await, 404, "not_found").await;
    // Not before the pool has verified the address.
    let early = app.post_auth("/v1/auth/cognito/customers/profile", &token, json!({})).await;
    crate::helpers::assert_problem(early, 403, "forbidden").await;
    aws_sdk_cognitoidentityprovider::Client::new(&conf)
        .admin_update_user_attributes()
        .user_pool_id(&customers)
        .username(&walk_in)
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email_verified")
                .value("true")
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("verify the address");
    let made = app.post_auth("/v1/auth/cognito/customers/profile", &token, json!({})).await;
    assert_eq!(made.status(), 201);
    assert_eq!(app.post_auth("/v1/auth/cognito/customers/profile", &token, json!({})).await.status(), 200);
    let me = json_of(app.get_auth("/v1/me", &token).await).await;
    assert_eq!((me["email"].as_str(), me["name"].as_str()), (Some(walk_in.as_str()), Some("Walk In")));
    // Erasing the account deletes the pool user too: nothing to sign in with.
    assert_eq!(app.delete_auth("/v1/me", &token).await.status(), 204);
    assert!(direct.login(&walk_in, password).await.is_err(), "the pool user is gone");

    // Staff join by invitation: the account is made in the staff pool, and the
    // staff pool's tokens work on staff routes only.
    let (shop_id, _, store_id) = crate::admin::shop(&app, &owner).await;
    let cashier = format!("cash-{tag}@shop.test");
    let invite = app
        .post_auth(
            &format!("/v1/businesses/{shop_id}/invitations"),
            &owner,
            json!({"email": cashier, "role": "cashier", "store_id": store_id}),
        )
        .await;
    assert_eq!(invite.status(), 201);
    let token = app.token_from_mail(&cashier, "").await;
    let accepted = app
        .post_json("/v1/auth/staff/invitations/accept", json!({"token": token, "name": "Cas", "password": password}))
        .await;
    assert_eq!(accepted.status(), 200);
    let staff_tokens = json_of(accepted).await;
    let staff_access = staff_tokens["access_token"].as_str().expect("staff access token").to_owned();
    let me = json_of(app.get_auth("/v1/staff/me", &staff_access).await).await;
    assert_eq!(me["staff"]["email"], cashier.as_str());
    assert_eq!(me["staff"]["memberships"][0]["role"], "cashier");
    crate::helpers::assert_problem(app.get_auth("/v1/me", &staff_access).await, 401, "unauthorized").await;
    let login =
        json_of(app.post_json("/v1/auth/cognito/staff/login", json!({"email": cashier, "password": password})).await)
            .await;
    let again = login["access_token"].as_str().expect("staff login");
    assert_eq!(app.get_auth("/v1/staff/me", again).await.status(), 200);
    let refreshed =
        app.post_json("/v1/auth/cognito/staff/refresh", json!({"refresh_token": login["refresh_token"]})).await;
    assert_eq!(refreshed.status(), 200);
    assert_eq!(app.post_auth("/v1/auth/cognito/staff/logout", again, json!({})).await.status(), 204);
    // A customer pool token is no staff token.
    assert_eq!(app.get_auth("/v1/staff/me", &access).await.status(), 401);

    // Signing out revokes the pool's refresh tokens.
    let res = app.post_auth("/v1/auth/cognito/customers/logout", &access, json!({})).await;
    assert_eq!(res.status(), 204);
}

/// `stampede worker`'s loop over SQS: the transaction queue feeds the loyalty
/// processor, whose email lands on the email queue and goes out through SES
/// once; a poison message fails, comes back, and reaches the dead-letter queue
/// after the receive count.
#[tokio::test]
async fn sqs_workers_send_the_reward_email_once_and_dead_letter_poison() {
    use stampede::workers::{Handlers, SqsWorkers};
    use stampede_workers::email_worker::EmailWorker;
    use stampede_workers::loyalty::LoyaltyProcessor;

    let p = prefix();
    let r = resources(&p);
    let moto = moto_url();
    let conf = sdk(&moto).await;
    stampede_aws::bootstrap::run(&conf, &r).await.expect("bootstrap");
    let c = counter(DatabaseBackend::Postgres, "actors", &aws_toml(&moto, &r)).await;
    let sqs = Arc::new(stampede_aws::sqs::SqsQueue::from_conf(&conf, &r.queue_prefix));
    let store = Arc::clone(&c.app.store);
    let workers = SqsWorkers {
        queue: Arc::clone(&sqs),
        handlers: Handlers {
            email: EmailWorker {
                store: Arc::clone(&store),
                mailer: Arc::new(stampede_aws::ses::SesMailer::from_conf(&conf, format!("Shop <{}>", r.sender), None)),
                unsubscribe_link: Arc::new(|_, _| Ok("http://stampede.test/v1/unsubscribe".into())),
                lease: Duration::from_secs(60),
            },
            export: stampede_workers::export::ExportWorker {
                store: Arc::clone(&store),
                objects: Arc::new(stampede_aws::s3::S3Objects::from_conf(&conf, &r.bucket)),
                queue: sqs.clone(),
                download_link: Arc::new(|id| format!("http://stampede.test/v1/exports/{id}/download")),
                scratch: c.app.data_dir.path().join("tmp"),
                lease: Duration::from_secs(60),
            },
            analytics: stampede_workers::analytics::AnalyticsProcessor {
                store: Arc::clone(&store),
                objects: Arc::new(stampede_aws::s3::S3Objects::from_conf(&conf, &r.bucket)),
            },
            loyalty: LoyaltyProcessor { store, queue: sqs.clone(), public_url: "http://stampede.test".into() },
        },
        visibility_secs: 30,
    };

    assert_eq!(c.stamp("q1", 3).await.status(), 201);
    assert_eq!(c.stamp("q2", 3).await.status(), 201);
    wait_for_empty_backlog(&c).await;
    // SQS delivers at least once: drain each queue, however many deliveries.
    async fn drain(workers: &SqsWorkers, topic: &str) -> usize {
        let mut total = 0;
        loop {
            let n = workers.pass(topic, 1).await.expect("pass");
            if n == 0 {
                return total;
            }
            total += n;
        }
    }
    assert!(drain(&workers, "transaction").await >= 2);
    assert!(drain(&workers, "email").await >= 1);
    let sent = |data: serde_json::Value| {
        data["ses"]["Message"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|m| {
                        // moto keeps every test's mail: this test's sender only.
                        m["source"].as_str().is_some_and(|s| s.contains(&r.sender))
                            && m["destinations"]["ToAddresses"][0] == "pat@example.com"
                            && m["subject"].as_str().is_some_and(|s| s.contains("reward"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let data = stampede_aws::testing::moto_data(&moto).await.expect("moto data");
    assert_eq!(sent(data), 1);

    // Every message again (a redelivery of the whole run): nothing new is sent.
    let history = DynamoHistory::from_conf(&conf, &r.transactions_table, 30);
    let card = CardId(c.stamp_card.parse().expect("uuid"));
    let txs = history.card_history(card, PageRequest::new(None, None)).await.expect("history").items;
    let again: Vec<stampede_domain::ports::QueueMessage> = txs
        .iter()
        .map(|m| stampede_domain::ports::QueueMessage {
            id: m.transaction_id,
            message_type: "transaction.committed".into(),
            schema_version: 1,
            request_id: None,
            body: serde_json::to_string(m).expect("json"),
        })
        .collect();
    use stampede_domain::ports::Queue;
    sqs.publish("transaction", &again).await.expect("redeliver");
    assert!(drain(&workers, "transaction").await >= 2);
    assert!(drain(&workers, "email").await >= 1, "handled, as a duplicate");
    let data = stampede_aws::testing::moto_data(&moto).await.expect("moto data");
    assert_eq!(sent(data), 1, "no second email");

    // A poison message: fails on every receive, then SQS moves it to the DLQ.
    let poison = stampede_domain::ports::QueueMessage {
        id: Uuid::now_v7(),
        message_type: "transaction.committed".into(),
        schema_version: 1,
        request_id: None,
        body: "{not json".into(),
    };
    sqs.publish("transaction", std::slice::from_ref(&poison)).await.expect("publish poison");
    // Received max_receive_count times and failed each time; the next receive
    // finds it moved to the dead-letter queue.
    for _ in 0..=r.max_receive_count {
        assert_eq!(workers.pass("transaction", 1).await.expect("pass"), 0);
    }
    let client = aws_sdk_sqs::Client::new(&conf);
    let dlq = client
        .get_queue_url()
        .queue_name(stampede_aws::sqs::dlq_name(&r.queue_prefix, "transaction"))
        .send()
        .await
        .expect("dlq")
        .queue_url
        .expect("url");
    let dead = drain_queue(&client, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some("{not json"));
}

/// With the session table unreachable, signing in, refreshing and changing a
/// staff password answer 503 with `Retry-After` (try again), never 500.
#[tokio::test]
async fn sign_in_paths_answer_503_while_the_session_table_is_down() {
    let r = resources(&prefix());
    let moto = moto_url();
    stampede_aws::bootstrap::run(&sdk(&moto).await, &r).await.expect("bootstrap");
    let switch = Switch::start(moto.clone()).await;
    let google = crate::social::provider().await;
    let social = format!(
        "[identity.google]\nissuers = [\"https://accounts.google.com\"]\njwks_url = \"{}\"\nclient_ids = [\"g-client\"]\n",
        google.jwks_url
    );
    let c = counter(DatabaseBackend::Sqlite, "actors", &format!("{}{social}", aws_toml(&switch.address, &r))).await;
    let ada = c.app.verified_customer("ada@example.com", "correct horse battery", "Ada").await;
    let (owner_email, _) = c.app.owner.clone();
    // An invitation waiting to be accepted.
    let owner = c.app.store.find_staff_by_email(&stampede_domain::email::Email::parse(&owner_email).expect("e")).await;
    let owner = owner.expect("find").expect("owner");
    let business = stampede_domain::ids::BusinessId(c.business_id.parse().expect("uuid"));
    let invitation = stampede_domain::staff::NewInvitation {
        id: Uuid::now_v7(),
        membership: stampede_domain::staff::Membership::new(
            business,
            stampede_domain::staff::Role::Admin,
            stampede_domain::staff::Scope::Business,
        )
        .expect("m"),
        email: stampede_domain::email::Email::parse("newbie@shop.test").expect("email"),
        invited_by: owner.id,
        token_hash: stampede::auth::secret::sha256(b"the-invitation-token"),
        created_at: chrono::Utc::now(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let event = stampede::audit::event(
        stampede::audit::Actor::Staff(owner.id),
        stampede::audit::Change {
            business_id: Some(business),
            action: "invitation.create",
            resource_id: Some(invitation.id),
            before: None::<&()>,
            after: None::<&()>,
        },
    );
    c.app.store.create_invitation(&invitation, &event).await.expect("invitation");
    let accept = json!({"token": "the-invitation-token", "name": "Newbie", "password": "newbies password"});
    let google_token =
        google.id_token("https://accounts.google.com", "g-client", "g-503", "gia@example.com", json!(true));

    switch.down();
    let customer = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let staff = json!({"email": owner_email, "password": "a much better password"});
    let change = json!({"current_password": "a much better password", "new_password": "an even better password"});
    let answers = [
        ("customer sign-in", c.app.post_json("/v1/auth/customers/login", customer).await),
        ("refresh", c.app.post_json("/v1/auth/token/refresh", json!({"refresh_token": ada["refresh_token"]})).await),
        ("staff sign-in", c.app.post_json("/v1/auth/staff/login", staff).await),
        ("staff password", c.app.post_auth("/v1/auth/staff/password", &c.owner, change).await),
        ("invitation", c.app.post_json("/v1/auth/staff/invitations/accept", accept.clone()).await),
        ("google", c.app.post_json("/v1/auth/customers/google", crate::social::body(&google_token)).await),
    ];
    for (what, res) in answers {
        assert!(res.headers().contains_key("retry-after"), "{what}: Retry-After");
        crate::helpers::assert_problem(res, 503, "unavailable").await;
    }
    switch.up();
    let customer = json!({"email": "ada@example.com", "password": "correct horse battery"});
    assert_eq!(c.app.post_json("/v1/auth/customers/login", customer).await.status(), 200, "back with the table");
    // The refused password change changed nothing.
    let staff = json!({"email": c.app.owner.0, "password": "a much better password"});
    assert_eq!(c.app.post_json("/v1/auth/staff/login", staff).await.status(), 200);
    // Nor did the refused acceptance: the invitation still works.
    assert_eq!(c.app.post_json("/v1/auth/staff/invitations/accept", accept).await.status(), 200);
}

/// An admin change made while the Audit table is unreachable is answered as
/// usual, and its event reaches the audit log once the table is back.
#[tokio::test]
async fn an_admin_change_made_while_the_audit_table_is_down_reaches_the_log_afterwards() {
    let r = resources(&prefix());
    let moto = moto_url();
    stampede_aws::bootstrap::run(&sdk(&moto).await, &r).await.expect("bootstrap");
    let switch = Switch::start(moto.clone()).await;
    let c = counter(DatabaseBackend::Sqlite, "actors", &aws_toml(&switch.address, &r)).await;
    let bid = &c.business_id;

    switch.down();
    let res =
        c.app.post_auth(&format!("/v1/businesses/{bid}/brands"), &c.owner, json!({"name": "Made in the dark"})).await;
    assert_eq!(res.status(), 201, "the change does not wait on the audit store");
    let brand = json_of(res).await["id"].as_str().expect("id").to_owned();
    switch.up();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = json_of(c.app.get_auth(&format!("/v1/businesses/{bid}/audit"), &c.owner).await).await;
        let found = log["items"].as_array().expect("items").iter().any(|e| {
            e["action"] == "brand.create"
                && e["resource_id"] == json!(brand)
                && e["after"]["name"] == "Made in the dark"
        });
        if found {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the event never reached the audit log: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// An authenticator app as the customer pool's second factor: set up with
/// its first code, then sign-in answers a challenge that the app's code
/// finishes; turned off, the password alone signs in again. (moto checks
/// no codes unless told to; the pool's own code checks are AWS's.)
#[tokio::test]
async fn cognito_customers_sign_in_with_an_authenticator_app_once_it_is_on() {
    let moto = moto_url();
    let conf = sdk(&moto).await;
    let tag = Uuid::new_v4().simple().to_string();
    let (customers, customers_client) = cognito_pool(&conf, &format!("customers-{tag}")).await;
    let (staff, staff_client) = cognito_pool(&conf, &format!("staff-{tag}")).await;
    let toml = cognito_toml((&customers, &customers_client), (&staff, &staff_client), &moto, &moto);
    let app = crate::helpers::spawn_app_with(DatabaseBackend::Sqlite, &toml).await;
    let (email, password) = (format!("mfa-{tag}@example.com"), "Correct-Horse-9!");
    let signup = json!({"email": email, "password": password, "name": "Mo"});
    assert_eq!(app.post_json("/v1/auth/cognito/customers/register", signup).await.status(), 202);
    let confirm = json!({"email": email, "code": "123456"});
    assert_eq!(app.post_json("/v1/auth/cognito/customers/confirm", confirm).await.status(), 204);
    let login = json!({"email": email, "password": password});
    let tokens = json_of(app.post_json("/v1/auth/cognito/customers/login", login.clone()).await).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    // The local second factor's routes are not this shape's.
    crate::helpers::assert_problem(app.get_auth("/v1/auth/mfa", &access).await, 404, "not_found").await;

    let started = json_of(app.post_auth("/v1/auth/cognito/mfa/totp", &access, json!({})).await).await;
    let secret = started["secret"].as_str().expect("secret").to_owned();
    assert!(started["otpauth_uri"].as_str().expect("uri").starts_with("otpauth://totp/Stampede:"));
    let raw = stampede::auth::totp::from_base32(&secret).expect("base32");
    let code = || stampede::auth::totp::code(&raw, stampede::auth::totp::step_at(chrono::Utc::now().timestamp()));
    let on = app.post_auth("/v1/auth/cognito/mfa/totp/confirm", &access, json!({"code": code()})).await;
    assert_eq!(on.status(), 204);

    let answer = json_of(app.post_json("/v1/auth/cognito/customers/login", login.clone()).await).await;
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer.get("access_token").is_none());
    let verify = json!({"email": email, "mfa_token": answer["mfa_token"], "code": code()});
    let res = app.post_json("/v1/auth/cognito/customers/mfa/verify", verify).await;
    assert_eq!(res.status(), 200);
    let signed_in = json_of(res).await;
    let access = signed_in["access_token"].as_str().expect("access").to_owned();
    assert_eq!(app.get_auth("/v1/me", &access).await.status(), 200);
    let stale = json!({"email": email, "mfa_token": "not-a-session", "code": code()});
    let res = app.post_json("/v1/auth/cognito/customers/mfa/verify", stale).await;
    crate::helpers::assert_problem(res, 401, "unauthorized").await;

    assert_eq!(app.delete_auth("/v1/auth/cognito/mfa/totp", &access).await.status(), 204);
    let plain = json_of(app.post_json("/v1/auth/cognito/customers/login", login).await).await;
    assert!(plain["access_token"].is_string(), "{plain}");
}
