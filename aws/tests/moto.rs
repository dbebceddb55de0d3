//! Adapter tests against a real local AWS endpoint: `moto_server`, which
//! `scripts/test` installs and starts, passing its address in `MOTO_URL`.
//! Every test names its own resources (a random prefix), so tests share one
//! endpoint without resetting it.

use std::time::Duration;

use aws_config::SdkConfig;
use stampede_aws::bootstrap::{self, Resources};
use stampede_aws::cognito::{CognitoPool, CognitoRefusal};
use stampede_aws::history::DynamoHistory;
use stampede_aws::s3::S3Objects;
use stampede_aws::ses::SesMailer;
use stampede_aws::sqs::SqsQueue;
use stampede_domain::card::TxKind;
use stampede_domain::ids::{BusinessId, CardId, CustomerId, StoreId};
use stampede_domain::ledger::TransactionMessage;
use stampede_domain::page::PageRequest;
use stampede_domain::ports::{HistoryStore, Mailer, ObjectStore, OutgoingMail, Queue, QueueMessage};
use uuid::Uuid;

fn moto_url() -> String {
    stampede_aws::testing::moto_url().unwrap_or_else(|e| panic!("{e}"))
}

async fn conf() -> SdkConfig {
    stampede_aws::testing::sdk_config(&moto_url()).await
}

fn resources() -> Resources {
    stampede_aws::testing::resources(&format!("t{}", &Uuid::new_v4().simple().to_string()[..10]), 2)
}

async fn bootstrapped() -> (SdkConfig, Resources) {
    let conf = conf().await;
    let r = resources();
    bootstrap::run(&conf, &r).await.expect("bootstrap");
    (conf, r)
}

fn message(card: CardId, customer: CustomerId, n: i64) -> TransactionMessage {
    TransactionMessage {
        schema_version: 1,
        transaction_id: Uuid::now_v7(),
        card_id: card,
        customer_id: customer,
        business_id: BusinessId(Uuid::now_v7()),
        store_id: Some(StoreId(Uuid::now_v7())),
        program_id: Uuid::now_v7(),
        program_version: 1,
        transaction_type: TxKind::StampIssuance,
        amount: 1,
        balance_after: n,
        reward_id: None,
        reverses_id: None,
        timestamp: stampede_domain::ledger::now() + chrono::Duration::milliseconds(n),
        request_id: Some(format!("req-{n}")),
    }
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_creates_indexes_and_ttl() {
    let conf = conf().await;
    let r = resources();
    let first = bootstrap::run(&conf, &r).await.expect("first bootstrap");
    assert!(first.iter().any(|l| l.ends_with("created")), "{first:?}");
    let second = bootstrap::run(&conf, &r).await.expect("second bootstrap");
    assert!(second.iter().all(|l| !l.ends_with(": created")), "{second:?}");

    let dynamo = aws_sdk_dynamodb::Client::new(&conf);
    let table = dynamo.describe_table().table_name(&r.transactions_table).send().await.expect("describe").table;
    let table = table.expect("table");
    let mut indexes: Vec<String> =
        table.global_secondary_indexes().iter().filter_map(|g| g.index_name().map(str::to_owned)).collect();
    indexes.sort();
    assert_eq!(indexes, vec!["GSI1", "GSI2"]);
    let ttl = dynamo.describe_time_to_live().table_name(&r.transactions_table).send().await.expect("ttl");
    let ttl = ttl.time_to_live_description.expect("ttl description");
    assert_eq!(ttl.attribute_name(), Some("ExpiresAt"));

    let sqs = aws_sdk_sqs::Client::new(&conf);
    for topic in stampede_aws::sqs::TOPICS {
        let name = stampede_aws::sqs::queue_name(&r.queue_prefix, topic);
        let url = sqs.get_queue_url().queue_name(&name).send().await.expect("queue").queue_url.expect("url");
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .expect("attributes")
            .attributes
            .expect("redrive policy");
        let policy = attrs.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy).expect("redrive");
        assert!(policy.contains(&format!("{name}-dlq")), "{policy}");
    }
}

#[tokio::test]
async fn history_writes_are_idempotent_and_pages_by_card_and_customer() {
    let (conf, r) = bootstrapped().await;
    let history = DynamoHistory::new(aws_sdk_dynamodb::Client::new(&conf), &r.transactions_table, 400);
    let customer = CustomerId(Uuid::now_v7());
    let (a, b) = (CardId(Uuid::now_v7()), CardId(Uuid::now_v7()));
    let items: Vec<TransactionMessage> =
        (0..40).map(|n| message(if n % 4 == 0 { b } else { a }, customer, n)).collect();
    history.put_transactions(&items).await.expect("put");
    // A repeated delivery (and a batch naming one id twice) leaves one item each.
    history.put_transactions(&items[..30]).await.expect("put again");
    history.put_transactions(&[items[0].clone(), items[0].clone()]).await.expect("put a duplicate pair");
    assert_eq!(history.count_history().await.expect("count"), 40);
    assert_eq!(history.get_transaction(items[7].transaction_id).await.expect("get"), Some(items[7].clone()));

    // Card a, newest first, in pages of 7.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = history.card_history(a, PageRequest::new(after, Some(7))).await.expect("page");
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().map(|m| m.transaction_id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<Uuid> = items.iter().filter(|m| m.card_id == a).map(|m| m.transaction_id).collect();
    expected.reverse();
    assert_eq!(seen, expected);

    let page = history.customer_history(customer, PageRequest::new(None, Some(200))).await.expect("customer");
    assert_eq!(page.items.len(), 40);
    assert_eq!(page.items[0], items[39]);
    assert!(page.next_cursor.is_none());
    let other = history.customer_history(CustomerId(Uuid::now_v7()), PageRequest::new(None, None)).await;
    assert!(other.expect("other customer").items.is_empty());
}

async fn receive_all(client: &aws_sdk_sqs::Client, url: &str, want: usize) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = Vec::new();
    for _ in 0..20 {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        for m in out.messages.unwrap_or_default() {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().expect("receipt"))
                .send()
                .await
                .expect("delete");
            got.push(m);
        }
        if got.len() >= want {
            break;
        }
    }
    got
}

#[tokio::test]
async fn sqs_publishes_batches_with_attributes_and_redrives_to_the_dlq() {
    let (conf, r) = bootstrapped().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&conf), &r.queue_prefix);
    let messages: Vec<QueueMessage> = (0..23)
        .map(|n| QueueMessage {
            id: Uuid::now_v7(),
            message_type: "transaction.committed".into(),
            schema_version: 1,
            request_id: Some(format!("req-{n}")),
            body: format!("{{\"n\":{n}}}"),
        })
        .collect();
    queue.publish("transaction", &messages).await.expect("publish");

    let client = aws_sdk_sqs::Client::new(&conf);
    let url = queue.url("transaction").await.expect("url");
    let got = receive_all(&client, &url, 23).await;
    assert_eq!(got.len(), 23);
    for m in &got {
        let attrs = m.message_attributes().expect("attributes");
        let id = attrs["id"].string_value().expect("id");
        let sent = messages.iter().find(|s| s.id.to_string() == id).expect("a message we sent");
        assert_eq!(m.body(), Some(sent.body.as_str()));
        assert_eq!(attrs["type"].string_value(), Some("transaction.committed"));
        assert_eq!(attrs["schema_version"].string_value(), Some("1"));
        assert_eq!(attrs["request_id"].string_value(), sent.request_id.as_deref());
    }

    // A message nobody deletes moves to the dead-letter queue after two receives.
    queue.publish("email", &messages[..1]).await.expect("publish poison");
    let email = queue.url("email").await.expect("email url");
    for _ in 0..3 {
        let _ = client
            .receive_message()
            .queue_url(&email)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
    }
    let dlq = client
        .get_queue_url()
        .queue_name(stampede_aws::sqs::dlq_name(&r.queue_prefix, "email"))
        .send()
        .await
        .expect("dlq")
        .queue_url
        .expect("dlq url");
    let dead = receive_all(&client, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some(messages[0].body.as_str()));
}

#[tokio::test]
async fn ses_sends_rendered_mail_from_the_verified_sender() {
    let (conf, r) = bootstrapped().await;
    let client = aws_sdk_sesv2::Client::new(&conf);
    let mailer = SesMailer::new(client.clone(), format!("Stampede <{}>", r.sender), None);
    let to = format!("{}@customer.example.com", Uuid::new_v4().simple());
    let mail = OutgoingMail {
        to: to.clone(),
        subject: "Your reward is ready".into(),
        text: "Show this at the counter.".into(),
        html: "<p>Show this at the counter.</p>".into(),
        message_id: Uuid::now_v7(),
    };
    mailer.send(&mail).await.expect("send");

    let data = stampede_aws::testing::moto_data(&moto_url()).await.expect("moto data");
    let sent = data["ses"]["Message"].to_string();
    assert!(sent.contains(&to), "sent mail to {to} not found");
    assert!(sent.contains("Your reward is ready"));

    // An unverified sender is refused.
    let stranger = SesMailer::new(client, "nobody@unverified.example.com", None);
    assert!(stranger.send(&mail).await.is_err());
}

#[tokio::test]
async fn s3_stores_objects_and_signs_uploads_and_downloads() {
    let (conf, r) = bootstrapped().await;
    let objects = S3Objects::new(S3Objects::client_for(&conf), &r.bucket);
    objects.put("public/logos/a.png", b"\x89PNG....", "image/png").await.expect("put");
    let (bytes, ct) = objects.get("public/logos/a.png").await.expect("get").expect("exists");
    assert_eq!((bytes.as_slice(), ct.as_str()), (&b"\x89PNG...."[..], "image/png"));
    assert!(objects.get("public/logos/missing.png").await.expect("get missing").is_none());
    assert!(objects.put("../escape", b"x", "text/plain").await.is_err());
    // Listed by prefix with sizes; deleted, also twice.
    objects.put("private/c/uploads/b.pdf", b"%PDF-2", "application/pdf").await.expect("put");
    let listed = objects.list("private/c/").await.expect("list");
    assert_eq!(listed.iter().map(|o| (o.key.as_str(), o.size)).collect::<Vec<_>>(), [("private/c/uploads/b.pdf", 6)]);
    assert!(listed[0].modified <= chrono::Utc::now() + chrono::Duration::seconds(5));
    objects.delete("private/c/uploads/b.pdf").await.expect("delete");
    objects.delete("private/c/uploads/b.pdf").await.expect("deleting what is gone");
    assert!(objects.list("private/c/").await.expect("list").is_empty());

    // A presigned PUT takes exactly the signed type and length.
    let body = b"name,stamps\nada,3\n".to_vec();
    let url = objects
        .presign_upload("private/exports/e.csv", "text/csv", body.len() as u64, Duration::from_secs(300))
        .await
        .expect("presign put")
        .expect("s3 signs uploads");
    let http = reqwest::Client::new();
    let put = http.put(&url).header("content-type", "text/csv").body(body.clone()).send().await.expect("upload");
    assert!(put.status().is_success(), "{}", put.status());
    let (stored, ct) = objects.get("private/exports/e.csv").await.expect("get").expect("uploaded");
    assert_eq!((stored, ct.as_str()), (body.clone(), "text/csv"));

    let url = objects
        .presign_download("private/exports/e.csv", Duration::from_secs(300))
        .await
        .expect("presign get")
        .expect("s3 signs downloads");
    assert!(url.contains("X-Amz-Signature"));
    let got = http.get(&url).send().await.expect("download");
    assert!(got.status().is_success());
    assert_eq!(got.bytes().await.expect("body").to_vec(), body);
}

async fn cognito_pool(conf: &SdkConfig, name: &str) -> CognitoPool {
    stampede_aws::testing::cognito_pool(conf, name).await.expect("pool")
}

#[tokio::test]
async fn cognito_sign_up_confirm_login_refresh_and_sign_out() {
    let conf = conf().await;
    let pool = cognito_pool(&conf, &format!("customers-{}", Uuid::new_v4().simple())).await;
    let email = format!("{}@example.com", Uuid::new_v4().simple());
    let sub = pool.sign_up(&email, "Correct-Horse-9", Some("Ada")).await.expect("sign up");
    assert!(Uuid::parse_str(&sub).is_ok(), "sub {sub}");
    let again = pool.sign_up(&email, "Correct-Horse-9", None).await;
    assert!(matches!(again, Err(stampede_aws::cognito::CognitoError::Refused(CognitoRefusal::UsernameExists))));
    pool.admin_confirm(&email).await.expect("confirm");

    let tokens = pool.login(&email, "Correct-Horse-9").await.expect("login");
    assert!(tokens.refresh_token.is_some() && tokens.id_token.is_some());
    let wrong = pool.login(&email, "wrong-password-1").await;
    assert!(matches!(wrong, Err(stampede_aws::cognito::CognitoError::Refused(CognitoRefusal::BadCredentials))));

    let refreshed = pool.refresh(tokens.refresh_token.as_deref().expect("refresh token")).await.expect("refresh");
    assert!(!refreshed.access_token.is_empty());
    pool.sign_out(&tokens.access_token).await.expect("sign out");
}

#[tokio::test]
async fn dynamodb_sessions_keep_the_session_contract() {
    use stampede_store::contracts;
    let (conf, r) = bootstrapped().await;
    let sessions = stampede_aws::sessions::DynamoSessions::from_conf(&conf, &r.sessions_table);
    contracts::refresh_tokens_rotate_once_and_reuse_revokes_the_family(&sessions).await;
    contracts::a_revoked_family_takes_no_new_tokens(&sessions).await;
    contracts::logout_revokes_the_family(&sessions).await;
    contracts::one_time_tokens_are_used_once(&sessions).await;
}

#[tokio::test]
async fn dynamodb_audit_keeps_the_audit_contract() {
    let (conf, r) = bootstrapped().await;
    let audit = stampede_aws::audit::DynamoAudit::from_conf(&conf, &r.audit_table, 30);
    stampede_store::contracts::audit_events_list_newest_first(&audit, BusinessId(Uuid::now_v7())).await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_rotate_it_once() {
    use stampede_domain::identity::{NewRefreshToken, RefreshOutcome, SubjectKind};
    use stampede_domain::ports::SessionRepo;
    let (conf, r) = bootstrapped().await;
    let sessions = std::sync::Arc::new(stampede_aws::sessions::DynamoSessions::from_conf(&conf, &r.sessions_table));
    sessions
        .insert_refresh_token(NewRefreshToken {
            token_hash: b"race".to_vec(),
            family_id: Uuid::now_v7(),
            subject_kind: SubjectKind::Staff,
            subject_id: Uuid::now_v7(),
            expires_at: chrono::Utc::now() + chrono::Duration::days(1),
        })
        .await
        .expect("insert");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = std::sync::Arc::clone(&sessions);
            tokio::spawn(async move { s.rotate_refresh_token(b"race", chrono::Utc::now()).await.expect("rotate") })
        })
        .collect();
    let (mut rotated, mut reused) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            RefreshOutcome::Rotated { .. } => rotated += 1,
            RefreshOutcome::Reused { .. } => reused += 1,
            RefreshOutcome::Invalid => {}
        }
    }
    // On DynamoDB the transaction's condition on the token admits exactly one use. moto_server
    // handles requests on several threads and its lock covers only choosing
    // the backend, so two racing uses can both pass there (seen once in a full
    // test run): what this asserts is what must hold either way, that a race
    // is caught as reuse by every use that lost it.
    assert!(rotated >= 1, "one concurrent use wins");
    assert_eq!(rotated + reused, 8, "every use that lost the race is taken as reuse (the family is revoked)");
}

/// Write one item of the session table by hand: its key and one attribute
/// (what a revocation writes first, before its index query).
async fn put_session_item(conf: &SdkConfig, table: &str, key: &str, (name, value): (&str, String)) {
    use aws_sdk_dynamodb::types::AttributeValue;
    aws_sdk_dynamodb::Client::new(conf)
        .put_item()
        .table_name(table)
        .item("TokenHash", AttributeValue::S(key.to_owned()))
        .item(name, AttributeValue::S(value))
        .send()
        .await
        .expect("put the item");
}

/// "Sign out everywhere" finds the account's sessions on GSI2, eventually
/// consistent on DynamoDB: a session made a moment before may be missed (made
/// here, as moto's index is consistent, by writing only the account's item,
/// as `revoke_all_sessions` does first). Rotation checks that item, so the
/// session ends all the same; one begun after the sign-out is untouched.
#[tokio::test]
async fn sign_out_everywhere_ends_a_session_its_index_query_missed() {
    use stampede_domain::identity::{NewRefreshToken, RefreshOutcome, SubjectKind};
    use stampede_domain::ports::SessionRepo;
    let (conf, r) = bootstrapped().await;
    let sessions = stampede_aws::sessions::DynamoSessions::from_conf(&conf, &r.sessions_table);
    let subject = Uuid::now_v7();
    let token = |hash: &[u8]| NewRefreshToken {
        token_hash: hash.to_vec(),
        family_id: Uuid::now_v7(),
        subject_kind: SubjectKind::Staff,
        subject_id: subject,
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
    };
    sessions.insert_refresh_token(token(b"just before")).await.expect("insert");
    let signed_out = chrono::Utc::now();
    let valid_after = signed_out.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    put_session_item(&conf, &r.sessions_table, &format!("sub#{subject}"), ("ValidAfter", valid_after)).await;
    let outcome = sessions.rotate_refresh_token(b"just before", chrono::Utc::now()).await.expect("rotate");
    assert!(matches!(outcome, RefreshOutcome::Invalid), "a session from before the sign-out is over: {outcome:?}");
    sessions.insert_refresh_token(token(b"after")).await.expect("insert");
    let fine = sessions.rotate_refresh_token(b"after", chrono::Utc::now()).await.expect("rotate");
    assert!(matches!(fine, RefreshOutcome::Rotated { .. }), "a later sign-in works: {fine:?}");
    // And through the port: everything of the account ends.
    sessions.insert_refresh_token(token(b"third")).await.expect("insert");
    sessions.revoke_all_sessions(subject, chrono::Utc::now()).await.expect("sign out everywhere");
    let third = sessions.rotate_refresh_token(b"third", chrono::Utc::now()).await.expect("rotate");
    assert!(matches!(third, RefreshOutcome::Invalid), "{third:?}");
}

/// A successor stored just before its family was revoked may be missed by the
/// revocation's query on GSI1 (eventually consistent on DynamoDB; moto's is
/// not, so the miss is made here by writing only the family's item, as
/// `revoke_family` does first). Rotation checks that item, so the successor
/// can't be used.
#[tokio::test]
async fn a_token_the_revocation_missed_is_refused_by_its_familys_item() {
    use stampede_domain::identity::{NewRefreshToken, RefreshOutcome, SubjectKind};
    use stampede_domain::ports::SessionRepo;
    let (conf, r) = bootstrapped().await;
    let sessions = stampede_aws::sessions::DynamoSessions::from_conf(&conf, &r.sessions_table);
    let family = Uuid::now_v7();
    let token = |hash: &[u8]| NewRefreshToken {
        token_hash: hash.to_vec(),
        family_id: family,
        subject_kind: SubjectKind::Customer,
        subject_id: Uuid::now_v7(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
    };
    sessions.insert_refresh_token(token(b"missed")).await.expect("insert");
    let revoked_at = chrono::Utc::now().to_rfc3339();
    put_session_item(&conf, &r.sessions_table, &format!("fam#{family}"), ("RevokedAt", revoked_at)).await;
    let outcome = sessions.rotate_refresh_token(b"missed", chrono::Utc::now()).await.expect("rotate");
    assert!(matches!(outcome, RefreshOutcome::Invalid), "a token of a revoked family is refused: {outcome:?}");
    // Refused again, and not taken as reuse: it was never rotated.
    let again = sessions.rotate_refresh_token(b"missed", chrono::Utc::now()).await.expect("rotate");
    assert!(matches!(again, RefreshOutcome::Invalid), "{again:?}");
    // A token of another family still rotates.
    let mut unrelated = token(b"unrelated");
    unrelated.family_id = Uuid::now_v7();
    sessions.insert_refresh_token(unrelated).await.expect("insert");
    let fine = sessions.rotate_refresh_token(b"unrelated", chrono::Utc::now()).await.expect("rotate");
    assert!(matches!(fine, RefreshOutcome::Rotated { .. }), "{fine:?}");
}

#[tokio::test]
async fn every_email_template_goes_out_through_ses_rendered_by_stampede() {
    use stampede_workers::email::{Template, render};
    let (conf, r) = bootstrapped().await;
    let mailer = SesMailer::from_conf(&conf, format!("Stampede <{}>", r.sender), None);
    let to = format!("{}@customer.example.com", Uuid::new_v4().simple());
    let values = [
        ("name", "Ada"),
        ("link", "https://stampede.test/x?token=t"),
        ("business", "Café Uno"),
        ("role", "cashier"),
        ("inviter", "Owner"),
        ("program", "Coffee"),
        ("reward", "Free coffee"),
        ("amount", "40"),
        ("date", "2026-12-31"),
        ("balance", "120"),
        ("subject", "Winter menu"),
        ("body", "Mulled wine is back."),
        ("unsubscribe_link", "https://stampede.test/v1/unsubscribe?token=u"),
        ("what", "your data"),
        ("expires", "2026-11-27 12:00 UTC"),
    ];
    let templates = Template::ALL;
    let mut subjects = Vec::new();
    for t in templates {
        let rendered = render(t, &values).expect("renders");
        mailer
            .send(&OutgoingMail {
                to: to.clone(),
                subject: rendered.subject.clone(),
                text: rendered.text,
                html: rendered.html,
                message_id: Uuid::now_v7(),
            })
            .await
            .expect("send");
        subjects.push(rendered.subject);
    }
    let data = stampede_aws::testing::moto_data(&moto_url()).await.expect("moto data");
    let sent: Vec<&serde_json::Value> = data["ses"]["Message"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == to.as_str())
        .collect();
    assert_eq!(sent.len(), templates.len());
    for subject in &subjects {
        assert!(sent.iter().any(|m| m["subject"] == subject.as_str()), "{subject} was not sent");
    }
    let marketing = sent.iter().find(|m| m["subject"] == "Winter menu").expect("marketing mail");
    assert!(marketing["body"].as_str().is_some_and(|b| b.contains("unsubscribe?token=u")));
}
