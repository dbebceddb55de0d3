//! The workers in process (embedded default): committed transactions flow from
//! the outbox to the loyalty processor, which queues the "reward earned" email;
//! the email worker sends it once, however often a message is delivered.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use stampede::auth::links::LinkKey;
use stampede_domain::ids::{BusinessId, CardId};
use stampede_domain::messages::EmailMessage;
use stampede_domain::page::PageRequest;
use stampede_store::DatabaseBackend;
use stampede_store::mailbox::FileMailer;
use stampede_store::queue::MemoryQueue;
use stampede_workers::email_worker::{EmailWorker, Sent};
use stampede_workers::loyalty::LoyaltyProcessor;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::pos::counter;

fn reward_mails(app: &TestApp) -> usize {
    app.mails().iter().filter(|m| m.to == "pat@example.com" && m.subject.contains("reward")).count()
}

async fn wait_for_mails(app: &TestApp, want: usize) {
    for _ in 0..100 {
        if reward_mails(app) >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {want} reward mails, have {:?}", app.mails());
}

async fn reward_earned_email_is_sent_once(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    // 5 stamps make a free coffee; 3 per visit at most.
    assert_eq!(c.stamp("w1", 3).await.status(), 201);
    assert_eq!(c.stamp("w2", 3).await.status(), 201); // 6: crosses 5
    wait_for_mails(&c.app, 1).await;
    assert_eq!(c.stamp("w3", 3).await.status(), 201); // 9: nothing new to cover
    // A retry of the crossing stamp is a replay, not a second transaction.
    assert_eq!(c.stamp("w2", 3).await.status(), 201);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(reward_mails(&c.app), 1);
    let mail = c.app.mails().into_iter().find(|m| m.subject.contains("reward")).expect("mail");
    assert!(mail.text.contains("Free coffee"), "{}", mail.text);
    assert!(mail.text.contains(&format!("/me/cards/{}", c.stamp_card)), "{}", mail.text);

    // Redeliver every transaction of the card, twice, through the same
    // handlers: the loyalty processor queues the same events again and the
    // email worker sends nothing new.
    let store = Arc::clone(&c.app.store);
    let queue = Arc::new(MemoryQueue::new(1000));
    let _ = queue.take("email", 0);
    let loyalty =
        LoyaltyProcessor { store: Arc::clone(&store), queue: queue.clone(), public_url: "http://stampede.test".into() };
    let email = EmailWorker {
        store: Arc::clone(&store),
        mailer: Arc::new(FileMailer::new(c.app.mail_dir(), "Stampede <no-reply@stampede.local>")),
        unsubscribe_link: Arc::new(|_, _| Ok("http://stampede.test/v1/unsubscribe".into())),
        lease: Duration::from_secs(60),
    };
    let card = CardId(c.stamp_card.parse().expect("uuid"));
    let history = store.card_history(card, PageRequest::new(None, Some(200))).await.expect("history");
    assert_eq!(history.items.len(), 3);
    let bodies: Vec<String> = history.items.iter().map(|tx| serde_json::to_string(tx).expect("json")).collect();
    for body in &bodies {
        loyalty.handle(body).await.expect("loyalty");
    }
    // The same messages as one batch (the in-process workers' path): the
    // program's rewards are read once, and each message gets its own outcome.
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let queued: Vec<usize> = loyalty.handle_batch(&refs).await.into_iter().map(|o| o.expect("loyalty").len()).collect();
    assert_eq!(queued.iter().sum::<usize>(), 1, "only the crossing transaction queues an email: {queued:?}");
    let emails = queue.take("email", 100);
    assert_eq!(emails.len(), 2, "the crossing transaction queued its email on each delivery");
    assert_eq!(emails[0].id, emails[1].id, "with the same event id");
    for m in &emails {
        assert_eq!(email.handle(&m.body).await.expect("email"), Sent::Duplicate);
    }
    assert_eq!(reward_mails(&c.app), 1);
}

async fn marketing_needs_consent_at_send_time_and_unsubscribes(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    let store = Arc::clone(&c.app.store);
    let card = store.get_card(CardId(c.stamp_card.parse().expect("uuid"))).await.expect("card").expect("card");
    let customer = card.customer_id;
    let business = BusinessId(c.business_id.parse().expect("uuid"));
    store.set_marketing_consent(customer, business, true, chrono::Utc::now()).await.expect("consent");
    // Another business the customer never agreed to hear from.
    let name = stampede_domain::text::Name::parse("Elsewhere").expect("name");
    let other = stampede_domain::business::NewBusiness { name, description: None, tax_id: None, website: None };
    let other = store.create_business(other, None).await.expect("business").id;
    let key = Arc::new(LinkKey::load_or_create(&c.app.data_dir.path().join("keys")).expect("the app's key"));
    let link_key = Arc::clone(&key);
    let worker = EmailWorker {
        store: Arc::clone(&store),
        mailer: Arc::new(FileMailer::new(c.app.mail_dir(), "Stampede <no-reply@stampede.local>")),
        unsubscribe_link: Arc::new(move |id, b| {
            Ok(format!("http://stampede.test/v1/unsubscribe?token={}", link_key.token(id, b)))
        }),
        lease: Duration::from_secs(60),
    };
    let message_from = |from: BusinessId, subject: &str| EmailMessage {
        schema_version: 1,
        event_id: Uuid::now_v7(),
        template: "marketing".into(),
        customer_id: Some(customer),
        to: None,
        business_id: Some(from),
        values: BTreeMap::from([
            ("business".to_owned(), "Café Uno".to_owned()),
            ("subject".to_owned(), subject.to_owned()),
            ("body".to_owned(), "Mulled wine is back.".to_owned()),
        ]),
        request_id: None,
        mailing_id: None,
    };
    let message = |subject: &str| message_from(business, subject);
    let first = serde_json::to_string(&message("Winter menu")).expect("json");
    assert_eq!(worker.handle(&first).await.expect("send"), Sent::Sent);
    assert_eq!(worker.handle(&first).await.expect("again"), Sent::Duplicate);
    let mail = c.app.mails().into_iter().find(|m| m.subject == "Winter menu").expect("marketing mail");
    let start = mail.text.find("token=").expect("unsubscribe link") + "token=".len();
    let token = mail.text[start..].split_whitespace().next().expect("token").to_owned();

    // The link's page changes nothing; its button turns consent off.
    let page = c.app.client.get(c.app.url(&format!("/v1/unsubscribe?token={token}"))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let consented = async |b: BusinessId| {
        store.consents(customer).await.expect("consents").iter().any(|c| c.business_id == b && c.marketing)
    };
    assert!(consented(business).await);
    // Consent to one business is no consent to another.
    let elsewhere = serde_json::to_string(&message_from(other, "Not asked for")).expect("json");
    assert_eq!(worker.handle(&elsewhere).await.expect("skip"), Sent::Skipped("no marketing consent to this business"));
    let post = |token: String| {
        c.app
            .client
            .post(c.app.url("/v1/unsubscribe"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
    };
    let forged = post("x.y".into()).await.expect("post");
    crate::helpers::assert_problem(forged, 422, "validation_failed").await;
    let res = post(token.clone()).await;
    assert_eq!(res.expect("unsubscribe").status(), 200);
    assert!(!consented(business).await);

    // Consent is checked when sending: the next campaign does not go out.
    let second = serde_json::to_string(&message("Spring menu")).expect("json");
    assert_eq!(worker.handle(&second).await.expect("skip"), Sent::Skipped("no marketing consent to this business"));
    assert!(c.app.mails().iter().all(|m| m.subject != "Spring menu"));
    // Malformed messages are permanent failures, not retries.
    let bad = worker.handle("{not json").await.expect_err("malformed");
    assert!(!bad.is_retryable());
}

/// On the card runtime the commit counts each operation itself, so the
/// figures are there when the POS gets its answer; on the naive engine the
/// analytics processor counts what the relay hands it, each event once
/// however often it is delivered.
async fn analytics_add_up_each_transaction_once(backend: DatabaseBackend) {
    for engine in ["actors", "naive"] {
        analytics_add_up(backend, engine).await;
    }
}

async fn analytics_add_up(backend: DatabaseBackend, engine: &str) {
    use stampede_workers::analytics::AnalyticsProcessor;
    let c = counter(backend, engine, "").await;
    assert_eq!(c.stamp("a1", 3).await.status(), 201);
    assert_eq!(c.stamp("a2", 3).await.status(), 201);
    let redeem = c
        .pos("redemptions", Some("a3"), serde_json::json!({"card_id": c.stamp_card, "reward_id": c.free_coffee}))
        .await;
    assert_eq!(redeem.status(), 201);
    let points = c
        .pos(
            "points",
            Some("a4"),
            serde_json::json!({"card_id": c.points_card, "amount_minor": 1250, "currency": "EUR"}),
        )
        .await;
    assert_eq!(points.status(), 201);
    let cust = crate::admin::customer(&c.app, "pat@example.com").await;
    let code = c.app.get_auth(&format!("/v1/me/cards/{}/code", c.stamp_card), &cust).await;
    assert_eq!(code.status(), 200);

    let card = c.app.store.get_card(CardId(c.stamp_card.parse().expect("uuid"))).await.expect("card").expect("card");
    let bid = card.business_id.0.to_string();
    let today = chrono::Utc::now().date_naive();
    let path = format!("/v1/businesses/{bid}/analytics?from={today}&to={today}");
    if engine == "actors" {
        let report = crate::admin::json_of(c.app.get_auth(&path, &c.owner).await).await;
        let t = &report["totals"];
        let got = (t["stamps_issued"].as_i64(), t["points_earned"].as_i64(), t["rewards_redeemed"].as_i64());
        assert_eq!(got, (Some(6), Some(12), Some(1)), "counted by the commits: {report}");
    }
    let mut report = serde_json::Value::Null;
    for _ in 0..100 {
        report = crate::admin::json_of(c.app.get_auth(&path, &c.owner).await).await;
        let t = &report["totals"];
        if t["rewards_redeemed"] == 1
            && t["points_earned"] == 12
            && report["usage"].as_array().is_some_and(|u| !u.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = &report["totals"];
    assert_eq!((t["stamps_issued"].as_i64(), t["points_earned"].as_i64()), (Some(6), Some(12)), "{report}");
    assert_eq!((t["rewards_redeemed"].as_i64(), t["new_customers"].as_i64()), (Some(1), Some(1)));
    // One customer, active at one store for each of two programs.
    assert_eq!(t["active_customer_days"].as_i64(), Some(2));
    assert_eq!(t["redemption_rate"].as_f64(), Some(0.5));
    assert!(report["usage"].as_array().expect("usage").iter().any(|u| u["event"] == "card_view"));

    // The same as CSV; bad periods and other people's businesses refused.
    let csv = c.app.get_auth(&format!("{path}&format=csv"), &c.owner).await;
    assert_eq!(csv.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/csv; charset=utf-8"));
    let csv = csv.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("day,store_id,program_id,stamps_issued"));
    let backwards = format!("/v1/businesses/{bid}/analytics?from={today}&to={}", today.pred_opt().expect("day"));
    crate::helpers::assert_problem(c.app.get_auth(&backwards, &c.owner).await, 422, "validation_failed").await;
    let other = format!("/v1/businesses/{}/analytics?from={today}&to={today}", Uuid::now_v7());
    crate::helpers::assert_problem(c.app.get_auth(&other, &c.owner).await, 404, "not_found").await;
    crate::helpers::assert_problem(c.app.get_auth(&path, &cust).await, 401, "unauthorized").await;

    // Redeliver every transaction the processor counted: the aggregates do
    // not move. (Those their commit counted never reach it.)
    let store = Arc::clone(&c.app.store);
    let processor = AnalyticsProcessor {
        store: Arc::clone(&store),
        objects: Arc::new(stampede_store::objects::FileObjects::new(c.app.data_dir.path().join("objects"))),
    };
    let counted_by_processor = if engine == "naive" { vec![&c.stamp_card, &c.points_card] } else { vec![] };
    for card in counted_by_processor {
        let card = CardId(card.parse().expect("uuid"));
        for tx in store.card_history(card, PageRequest::new(None, Some(200))).await.expect("history").items {
            let msg = stampede_domain::ports::QueueMessage {
                id: tx.transaction_id,
                message_type: "transaction.committed".into(),
                schema_version: 1,
                request_id: None,
                body: serde_json::to_string(&tx).expect("json"),
            };
            assert!(!processor.handle(&msg).await.expect("handle"), "already counted");
        }
    }
    let again = crate::admin::json_of(c.app.get_auth(&path, &c.owner).await).await;
    assert_eq!(again["totals"], report["totals"]);

    // The report, stored as JSON and CSV through the object port.
    let q = stampede_domain::analytics::AnalyticsQuery {
        business_id: stampede_domain::ids::BusinessId(bid.parse().expect("uuid")),
        from: today,
        to: today,
        store_id: None,
        program_id: None,
    };
    let (json_key, csv_key) = processor.store_report(&q).await.expect("report");
    let (json, ct) = processor.objects.get(&json_key).await.expect("get").expect("json report");
    assert_eq!(ct, "application/json");
    let stored: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(stored["totals"], report["totals"]);
    assert!(processor.objects.get(&csv_key).await.expect("get").is_some());
}

async fn wait_for_export(app: &TestApp, path: &str, token: &str) -> serde_json::Value {
    for _ in 0..200 {
        let v = crate::admin::json_of(app.get_auth(path, token).await).await;
        if v["export"]["status"] == "done" || v["export"]["status"] == "failed" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {path} did not finish");
}

async fn exports_land_in_object_storage_with_an_emailed_link(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    for i in 0..4 {
        assert_eq!(c.stamp(&format!("x{i}"), 1).await.status(), 201);
    }
    let points = c
        .pos(
            "points",
            Some("xp"),
            serde_json::json!({"card_id": c.points_card, "amount_minor": 500, "currency": "EUR"}),
        )
        .await;
    assert_eq!(points.status(), 201);
    let card = c.app.store.get_card(CardId(c.stamp_card.parse().expect("uuid"))).await.expect("card").expect("card");
    let bid = card.business_id.0;
    let today = chrono::Utc::now().date_naive();

    let res = c
        .app
        .post_auth(
            &format!("/v1/businesses/{bid}/exports"),
            &c.owner,
            serde_json::json!({"kind": "transactions", "from": today, "to": today}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let id = crate::admin::json_of(res).await["export"]["id"].as_str().expect("id").to_owned();
    let done = wait_for_export(&c.app, &format!("/v1/businesses/{bid}/exports/{id}"), &c.owner).await;
    assert_eq!(done["export"]["status"], "done", "{done}");
    assert_eq!(done["export"]["rows"], 5);
    // The console's list shows it, done, with the same link's export.
    let listed = crate::admin::json_of(c.app.get_auth(&format!("/v1/businesses/{bid}/exports"), &c.owner).await).await;
    assert_eq!(listed["items"][0]["export"]["id"], id.as_str(), "{listed}");
    assert_eq!(listed["items"][0]["export"]["status"], "done");
    assert!(listed["items"][0]["download_url"].is_string());
    let link = done["download_url"].as_str().expect("download url").to_owned();
    let csv = c.app.client.get(c.app.url(link.trim_start_matches("http://stampede.test"))).send().await.expect("get");
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[0].starts_with("transaction_id,created_at,kind"));
    assert_eq!(lines.iter().filter(|l| l.contains(",STAMP_ISSUANCE,")).count(), 4);
    assert_eq!(lines.iter().filter(|l| l.contains(",POINTS_ADDITION,")).count(), 1);
    // The owner got the link by email.
    let mut mailed = None;
    for _ in 0..100 {
        mailed = c.app.mails().into_iter().find(|m| m.to == "owner@shop.test" && m.subject.contains("export is ready"));
        if mailed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mailed = mailed.expect("export-ready email");
    assert!(mailed.text.contains(&format!("/v1/exports/{id}/download?token=")), "{}", mailed.text);
    // A forged token or another export's token opens nothing.
    let forged = format!("/v1/exports/{id}/download?token=abc.1.xyz");
    crate::helpers::assert_problem(c.app.client.get(c.app.url(&forged)).send().await.expect("get"), 404, "not_found")
        .await;

    // Customers who agreed to hear from the business.
    let business = BusinessId(bid);
    c.app.store.set_marketing_consent(card.customer_id, business, true, chrono::Utc::now()).await.expect("consent");
    let res = c
        .app
        .post_auth(&format!("/v1/businesses/{bid}/exports"), &c.owner, serde_json::json!({"kind": "customers"}))
        .await;
    let id = crate::admin::json_of(res).await["export"]["id"].as_str().expect("id").to_owned();
    let done = wait_for_export(&c.app, &format!("/v1/businesses/{bid}/exports/{id}"), &c.owner).await;
    let link = done["download_url"].as_str().expect("download url").to_owned();
    let csv = c.app.client.get(c.app.url(link.trim_start_matches("http://stampede.test"))).send().await;
    let csv = csv.expect("get").text().await.expect("csv");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("pat@example.com"));

    // Bad requests change nothing; other businesses look absent.
    let bad = c
        .app
        .post_auth(&format!("/v1/businesses/{bid}/exports"), &c.owner, serde_json::json!({"kind": "transactions"}))
        .await;
    crate::helpers::assert_problem(bad, 422, "validation_failed").await;
    let elsewhere = c
        .app
        .post_auth(
            &format!("/v1/businesses/{}/exports", Uuid::now_v7()),
            &c.owner,
            serde_json::json!({"kind": "customers"}),
        )
        .await;
    crate::helpers::assert_problem(elsewhere, 404, "not_found").await;

    // A customer's own data, as JSON.
    let cust = crate::admin::customer(&c.app, "pat@example.com").await;
    let res = c.app.post_auth("/v1/me/exports", &cust, serde_json::json!({})).await;
    assert_eq!(res.status(), 202);
    let id = crate::admin::json_of(res).await["export"]["id"].as_str().expect("id").to_owned();
    let done = wait_for_export(&c.app, &format!("/v1/me/exports/{id}"), &cust).await;
    let link = done["download_url"].as_str().expect("download url").to_owned();
    let data: serde_json::Value = c
        .app
        .client
        .get(c.app.url(link.trim_start_matches("http://stampede.test")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(data["profile"]["email"], "pat@example.com");
    assert_eq!(data["cards"].as_array().map(Vec::len), Some(2));
    assert_eq!(data["transactions"].as_array().map(Vec::len), Some(5));
    // Nobody else sees it.
    crate::helpers::assert_problem(
        c.app.get_auth(&format!("/v1/me/exports/{id}"), &c.owner).await,
        401,
        "unauthorized",
    )
    .await;
    // Erasing the account takes the file with it: the link leads nowhere.
    assert_eq!(c.app.delete_auth("/v1/me", &cust).await.status(), 204);
    let after = c.app.client.get(c.app.url(link.trim_start_matches("http://stampede.test"))).send().await;
    crate::helpers::assert_problem(after.expect("get"), 404, "not_found").await;
}

async fn schedules_send_expiry_notices_once_and_write_daily_reports(backend: DatabaseBackend) {
    use stampede::schedule::Schedules;
    use stampede::workers::Handlers;
    let c = counter(backend, "actors", "").await;
    let card = c.app.store.get_card(CardId(c.points_card.parse().expect("uuid"))).await.expect("card").expect("card");
    // Points that expire in 5 days: inside the 7-day notice window.
    let expiring = serde_json::json!({"name": "Short points", "rules": {"kind": "points", "currency": "EUR",
        "points_per_unit": 1, "unit_minor": 100, "rounding": "down", "expiry_days": 5}});
    let program = crate::admin::json_of(
        c.app.post_auth(&format!("/v1/businesses/{}/programs", card.business_id.0), &c.owner, expiring).await,
    )
    .await;
    let cust = crate::admin::customer(&c.app, "pat@example.com").await;
    let pid = program["id"].as_str().expect("program id");
    let joined =
        crate::admin::json_of(c.app.post_auth(&format!("/v1/programs/{pid}/join"), &cust, serde_json::json!({})).await)
            .await;
    let short_card = joined["id"].as_str().expect("card id").to_owned();
    let earn = c
        .pos("points", Some("s1"), serde_json::json!({"card_id": short_card, "amount_minor": 4000, "currency": "EUR"}))
        .await;
    assert_eq!(earn.status(), 201);

    let store = Arc::clone(&c.app.store);
    let queue = Arc::new(MemoryQueue::new(1000));
    let _ = queue.take("email", 0);
    let objects = Arc::new(stampede_store::objects::FileObjects::new(c.app.data_dir.path().join("objects")));
    let settings = crate::helpers::test_settings(&c.app.db, c.app.data_dir.path(), "");
    let links = Arc::new(LinkKey::load_or_create(&c.app.data_dir.path().join("keys")).expect("key"));
    let mailer = Arc::new(FileMailer::new(c.app.mail_dir(), "Stampede <no-reply@stampede.local>"));
    let handlers = Arc::new(Handlers::new(&settings, Arc::clone(&store), mailer, objects, queue.clone(), links));
    let schedules = Schedules {
        store: Arc::clone(&store),
        records: stampede::cached::Records::new(
            Arc::new(stampede_store::cache::MemoryCache::new(1 << 20)),
            Arc::clone(&store),
        ),
        engine: stampede_actors::NaiveEngine::new(Arc::clone(&store), stampede_actors::RuntimeMetrics::new()),
        handlers: Arc::clone(&handlers),
    };
    // Two runs queue the same notice; the email worker sends it once.
    let (_, first) = schedules.loyalty().await.expect("loyalty");
    let (_, second) = schedules.loyalty().await.expect("loyalty again");
    assert_eq!((first, second), (1, 1));
    let queued = queue.take("email", 10);
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].id, queued[1].id);
    for m in &queued {
        handlers.email.handle(&m.body).await.expect("send");
    }
    let notices: Vec<_> = c.app.mails().into_iter().filter(|m| m.subject.contains("expire on")).collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].subject.starts_with("40 of your"), "{}", notices[0].subject);

    // Yesterday's report for each active business, written once.
    // An export whose queue message was lost is queued again and produced once.
    let _ = queue.take("export", 0);
    let mut lost = stampede_domain::export::Export::requested(
        stampede_domain::export::ExportKind::Customers,
        Some(card.business_id),
        None,
        None,
        None,
    );
    lost.created_at = stampede_domain::ledger::now() - chrono::Duration::hours(1);
    store.create_export(&lost).await.expect("export");
    assert_eq!(schedules.stalled_exports(chrono::Duration::minutes(30), queue.as_ref()).await.expect("stalled"), 1);
    for m in queue.take("export", 10) {
        handlers.export.handle(&m.body).await.expect("produce");
    }
    let done = store.get_export(lost.id).await.expect("get").expect("export");
    assert_eq!(done.status, stampede_domain::export::ExportStatus::Done);
    assert_eq!(schedules.stalled_exports(chrono::Duration::minutes(30), queue.as_ref()).await.expect("stalled"), 0);

    // (The server's own timer already ran once at start, before the shop existed.)
    let written = schedules.daily_reports().await.expect("reports");
    assert!(written >= 1, "the shop's report: {written}");
    assert_eq!(schedules.daily_reports().await.expect("again"), 0);
}

/// A committed transaction no handler can take (here, a schema version from
/// the future) is not lost and does not block the outbox: the relay puts it
/// on each consumer's queue, the in-process workers give up on it there and
/// bury it, kept with the reason, counted as a dead letter.
async fn a_transaction_no_handler_takes_is_buried_not_lost(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    assert_eq!(c.stamp("fine", 1).await.status(), 201);
    let store = Arc::clone(&c.app.store);
    let card = CardId(c.stamp_card.parse().expect("uuid"));
    let history = store.card_history(card, PageRequest::new(None, Some(10))).await.expect("history");
    let mut future = serde_json::to_value(&history.items[0]).expect("json");
    let id = Uuid::now_v7();
    future["schema_version"] = serde_json::json!(99);
    future["transaction_id"] = serde_json::json!(id);
    let payload = future.to_string();
    let url = c.app.db.options.url.clone();
    match backend {
        DatabaseBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}")).await.expect("sqlite");
            sqlx::query(
                "INSERT INTO outbox (event_id, card_id, topic, payload, created_at) VALUES ($1, $2, 'transaction', $3, $4)",
            )
            .bind(id)
            .bind(card.0)
            .bind(&payload)
            .bind(chrono::Utc::now())
            .execute(&pool)
            .await
            .expect("outbox row");
        }
        DatabaseBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.expect("postgres");
            sqlx::query(
                "INSERT INTO loyalty.outbox (event_id, card_id, topic, payload, created_at)
                 VALUES ($1, $2, 'transaction', $3::jsonb, now())",
            )
            .bind(id)
            .bind(card.0)
            .bind(&payload)
            .execute(&pool)
            .await
            .expect("outbox row");
        }
    }
    let mut depth = (0, 0);
    for _ in 0..100 {
        depth = store.queue_depth().await.expect("depth");
        if depth == (0, 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(depth, (0, 2), "buried once for the loyalty processor, once for the analytics");
    assert_eq!(store.outbox_backlog().await.expect("backlog"), 0, "the outbox moved on");
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = c.app.client.get(c.app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        if metrics.lines().any(|l| l == "stampede_queue_buried 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.lines().any(|l| l == "stampede_worker_dead_letters_total 2"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "stampede_queue_buried 2"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "stampede_queue_waiting 0"), "{metrics}");
    // The stamps after it still flow.
    assert_eq!(c.stamp("after", 1).await.status(), 201);
    let q = stampede_domain::analytics::AnalyticsQuery {
        business_id: history.items[0].business_id,
        from: chrono::Utc::now().date_naive() - chrono::Days::new(1),
        to: chrono::Utc::now().date_naive() + chrono::Days::new(1),
        store_id: None,
        program_id: None,
    };
    let mut counted = 0;
    for _ in 0..100 {
        counted = store.daily_aggregates(&q).await.expect("aggregates").iter().map(|d| d.stamps_issued).sum::<i64>();
        if counted == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counted, 2, "both real stamps counted, the buried one not");
}

crate::both_backends!(
    a_transaction_no_handler_takes_is_buried_not_lost,
    reward_earned_email_is_sent_once,
    marketing_needs_consent_at_send_time_and_unsubscribes,
    analytics_add_up_each_transaction_once,
    exports_land_in_object_storage_with_an_emailed_link,
    schedules_send_expiry_notices_once_and_write_daily_reports
);
