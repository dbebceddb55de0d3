//! The card runtime through the POS API: every test runs on both engines
//! (actors, naive) and both databases.

use std::collections::HashSet;

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::admin::{customer, json_of, shop};
use crate::helpers::{TestApp, assert_problem, spawn_app_with};

/// A counter-ready world: a store, a terminal key, a stamp card and a points card.
pub struct Counter {
    pub app: TestApp,
    pub owner: String,
    pub business_id: String,
    pub store_id: String,
    pub key: String,
    pub stamp_program: String,
    pub stamp_card: String,
    pub points_program: String,
    pub points_card: String,
    pub free_coffee: String,
}

pub async fn counter(backend: DatabaseBackend, engine: &str, extra: &str) -> Counter {
    let app = spawn_app_with(backend, &format!("[runtime]\nengine = \"{engine}\"\n{extra}")).await;
    let owner = app.owner_token().await;
    let (bid, _, store_id) = shop(&app, &owner).await;
    let stamps = json_of(
        app.post_auth(
            &format!("/v1/businesses/{bid}/programs"),
            &owner,
            json!({"name": "Coffee", "rules": {"kind": "stamps", "stamps_per_reward": 5, "max_stamps_per_visit": 3}}),
        )
        .await,
    )
    .await;
    let stamp_program = stamps["id"].as_str().expect("id").to_owned();
    let reward = json_of(
        app.post_auth(
            &format!("/v1/programs/{stamp_program}/rewards"),
            &owner,
            json!({"name": "Free coffee", "cost": 5}),
        )
        .await,
    )
    .await;
    let points = json_of(
        app.post_auth(
            &format!("/v1/businesses/{bid}/programs"),
            &owner,
            json!({"name": "Points", "rules": {"kind": "points", "currency": "EUR", "points_per_unit": 1, "unit_minor": 100, "rounding": "down"}}),
        )
        .await,
    )
    .await;
    let points_program = points["id"].as_str().expect("id").to_owned();
    let term =
        json_of(app.post_auth(&format!("/v1/stores/{store_id}/terminals"), &owner, json!({"name": "Till"})).await)
            .await;
    let key = term["api_key"].as_str().expect("key").to_owned();
    let cust = customer(&app, "pat@example.com").await;
    let stamp_card =
        json_of(app.post_auth(&format!("/v1/programs/{stamp_program}/join"), &cust, json!({})).await).await;
    let points_card =
        json_of(app.post_auth(&format!("/v1/programs/{points_program}/join"), &cust, json!({})).await).await;
    Counter {
        owner,
        business_id: bid.to_string(),
        store_id,
        key,
        stamp_program,
        stamp_card: stamp_card["id"].as_str().expect("id").to_owned(),
        points_program,
        points_card: points_card["id"].as_str().expect("id").to_owned(),
        free_coffee: reward["id"].as_str().expect("id").to_owned(),
        app,
    }
}

impl Counter {
    pub async fn pos(&self, what: &str, idem: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self
            .app
            .client
            .post(self.app.url(&format!("/v1/pos/stores/{}/{what}", self.store_id)))
            .bearer_auth(&self.key)
            .json(&body);
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        req.send().await.expect("request")
    }

    pub async fn stamp(&self, idem: &str, count: u32) -> reqwest::Response {
        self.pos("stamps", Some(idem), json!({"card_id": self.stamp_card, "count": count})).await
    }

    pub async fn balance(&self, card: &str) -> i64 {
        let c = self
            .app
            .store
            .get_card(stampede_domain::ids::CardId(card.parse().expect("uuid")))
            .await
            .expect("get")
            .expect("card");
        c.balance
    }

    pub async fn ledger_rows(&self, card: &str) -> usize {
        let page = self
            .app
            .store
            .card_entries(
                stampede_domain::ids::CardId(card.parse().expect("uuid")),
                stampede_domain::page::PageRequest::new(None, Some(200)),
            )
            .await
            .expect("entries");
        page.items.len()
    }
}

/// POST a write with its idempotency key until the answer is definitive: 503
/// and 409 mean "not recorded, retry with the same key".
async fn until_definitive(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl + Clone,
    key: &str,
    idem: impl std::fmt::Display,
    body: &Value,
) -> (u16, Vec<u8>) {
    let idem = idem.to_string();
    for _ in 0..200 {
        let res = client
            .post(url.clone())
            .bearer_auth(key)
            .header("idempotency-key", &idem)
            .json(body)
            .send()
            .await
            .expect("r");
        let status = res.status().as_u16();
        if status != 503 && status != 409 {
            return (status, res.bytes().await.expect("body").to_vec());
        }
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    panic!("{idem} never got a definitive answer");
}

macro_rules! engines_and_backends {
    ($($name:ident),* $(,)?) => {
        mod actors_sqlite { $( #[tokio::test] async fn $name() { super::$name(stampede_store::DatabaseBackend::Sqlite, "actors").await; } )* }
        mod actors_postgres { $( #[tokio::test] async fn $name() { super::$name(stampede_store::DatabaseBackend::Postgres, "actors").await; } )* }
        mod naive_sqlite { $( #[tokio::test] async fn $name() { super::$name(stampede_store::DatabaseBackend::Sqlite, "naive").await; } )* }
        mod naive_postgres { $( #[tokio::test] async fn $name() { super::$name(stampede_store::DatabaseBackend::Postgres, "naive").await; } )* }
    };
}

engines_and_backends!(
    stamps_refusals_and_replays,
    points_redemptions_and_cancellations,
    concurrent_stamps_on_one_card_are_exact,
    concurrent_redemptions_grant_exactly_what_is_funded,
    in_flight_duplicates_apply_once,
    stock_is_never_oversold,
    outbox_reaches_history_and_queue_once,
    cashier_lookup_and_customer_views,
    amounts_and_text_are_bounded_at_the_edge,
    answers_and_ledger_carry_capped_and_the_request_id,
    a_deactivated_business_or_brand_stops_its_counters,
);

async fn stamps_refusals_and_replays(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let res = c.stamp("visit-1", 2).await;
    assert_eq!(res.status(), 201);
    let first = res.bytes().await.expect("body");
    let body: Value = serde_json::from_slice(&first).expect("json");
    assert_eq!(
        (
            body["transaction"]["kind"].as_str(),
            body["transaction"]["delta"].as_i64(),
            body["transaction"]["balance_after"].as_i64()
        ),
        (Some("STAMP_ISSUANCE"), Some(2), Some(2))
    );
    assert_eq!(body["transaction"]["program_version"], 1);

    // A retry gets the same answer, byte for byte, and changes nothing.
    let res = c.stamp("visit-1", 2).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(res.bytes().await.expect("body"), first);
    assert_eq!(c.balance(&c.stamp_card).await, 2);
    // The same key with another request is refused.
    let res = c.stamp("visit-1", 1).await;
    assert_problem(res, 422, "idempotency_key_reused").await;
    // No key, no write.
    assert_problem(c.pos("stamps", None, json!({"card_id": c.stamp_card})).await, 400, "bad_request").await;
    // Refusals are 422 with a stable code and change nothing.
    assert_problem(c.stamp("visit-2", 4).await, 422, "too_many_stamps").await;
    let res = c.pos("stamps", Some("v3"), json!({"card_id": c.points_card})).await;
    assert_problem(res, 422, "wrong_program_kind").await;
    let res = c.pos("stamps", Some("v4"), json!({"card_id": uuid::Uuid::now_v7()})).await;
    assert_problem(res, 404, "not_found").await;
    let res = c.pos("stamps", Some("v5"), json!({"card_id": c.stamp_card, "bogus": 1})).await;
    assert_problem(res, 400, "invalid_json").await;
    assert_eq!(c.balance(&c.stamp_card).await, 2);
    assert_eq!(c.ledger_rows(&c.stamp_card).await, 1);
}

async fn points_redemptions_and_cancellations(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let res =
        c.pos("points", Some("p1"), json!({"card_id": c.points_card, "amount_minor": 1999, "currency": "EUR"})).await;
    assert_eq!(res.status(), 201);
    let earned = json_of(res).await;
    assert_eq!(earned["transaction"]["delta"], 19, "19.99 EUR at 1 point per euro, rounded down");
    assert_problem(
        c.pos("points", Some("p2"), json!({"card_id": c.points_card, "amount_minor": 100, "currency": "USD"})).await,
        422,
        "wrong_currency",
    )
    .await;
    assert_problem(
        c.pos("points", Some("p3"), json!({"card_id": c.points_card, "amount_minor": -5, "currency": "EUR"})).await,
        422,
        "invalid_amount",
    )
    .await;

    // Redeem: refused until funded, then granted.
    let redeem =
        |k: &'static str| c.pos("redemptions", Some(k), json!({"card_id": c.stamp_card, "reward_id": c.free_coffee}));
    assert_problem(redeem("r1").await, 422, "insufficient_balance").await;
    assert_eq!(c.stamp("s1", 3).await.status(), 201);
    assert_eq!(c.stamp("s2", 3).await.status(), 201);
    let res = redeem("r2").await;
    assert_eq!(res.status(), 201);
    let redeemed = json_of(res).await;
    assert_eq!(
        (redeemed["transaction"]["delta"].as_i64(), redeemed["transaction"]["balance_after"].as_i64()),
        (Some(-5), Some(1))
    );

    // Cancel the redemption: the stamps come back, once.
    let tid = redeemed["transaction"]["id"].as_str().expect("id");
    let cancel_path = format!("transactions/{tid}/cancel");
    let cancel = |k: &'static str| c.pos(&cancel_path, Some(k), json!({"reason": "wrong card"}));
    let res = cancel("c1").await;
    assert_eq!(res.status(), 201);
    let cancelled = json_of(res).await;
    assert_eq!(
        (cancelled["transaction"]["kind"].as_str(), cancelled["transaction"]["delta"].as_i64()),
        (Some("CANCELLATION"), Some(5))
    );
    assert_eq!(cancelled["transaction"]["reverses_id"], tid);
    assert_problem(cancel("c2").await, 422, "not_cancellable").await;
    assert_eq!(c.balance(&c.stamp_card).await, 6);
    // Taking back an earning never goes below zero.
    assert_eq!(redeem("r3").await.status(), 201);
    let first_earning = c
        .app
        .store
        .card_entries(
            stampede_domain::ids::CardId(c.stamp_card.parse().expect("u")),
            stampede_domain::page::PageRequest::new(None, Some(50)),
        )
        .await
        .expect("e")
        .items;
    let earning =
        first_earning.iter().find(|e| e.kind == stampede_domain::card::TxKind::StampIssuance).expect("earning");
    let res = c.pos(&format!("transactions/{}/cancel", earning.id), Some("c3"), json!({})).await;
    assert_problem(res, 422, "would_go_negative").await;
    // A manager adjusts, with a reason; the ledger keeps it.
    let url = c.app.url(&format!("/v1/cards/{}/adjustments", c.stamp_card));
    let res = c
        .app
        .client
        .post(&url)
        .bearer_auth(&c.owner)
        .header("idempotency-key", "adj-1")
        .json(&json!({"store_id": c.store_id, "delta": 2, "reason": "machine was down"}))
        .send()
        .await
        .expect("r");
    assert_eq!(res.status(), 201);
    assert_eq!(json_of(res).await["transaction"]["kind"], "ADJUSTMENT");
    assert_eq!(c.balance(&c.stamp_card).await, 3);
}

/// What no database could store, or no balance could hold, is refused where
/// it comes in (422), before it reaches a commit: amounts beyond 10^12,
/// negative purchases, adjustments beyond ±10^9 (`i64::MIN` included, whose
/// `abs()` wraps), NUL bytes in reasons. Nothing changes.
async fn amounts_and_text_are_bounded_at_the_edge(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let points = |k: &'static str, amount: i64| {
        c.pos("points", Some(k), json!({"card_id": c.points_card, "amount_minor": amount, "currency": "EUR"}))
    };
    assert_problem(points("p1", i64::MAX).await, 422, "validation_failed").await;
    assert_problem(points("p2", 1_000_000_000_001).await, 422, "validation_failed").await;
    let res = points("p3", 1_000_000_000_000).await;
    assert_eq!(res.status(), 201, "the bound itself is a purchase");
    assert_eq!(c.balance(&c.points_card).await, 10_000_000_000);
    let res = c.pos("stamps", Some("s1"), json!({"card_id": c.stamp_card, "purchase_minor": -500})).await;
    assert_problem(res, 422, "validation_failed").await;

    let adjust = |k: &'static str, delta: i64, reason: &'static str| {
        c.app
            .client
            .post(c.app.url(&format!("/v1/cards/{}/adjustments", c.stamp_card)))
            .bearer_auth(&c.owner)
            .header("idempotency-key", k)
            .json(&json!({"store_id": c.store_id, "delta": delta, "reason": reason}))
            .send()
    };
    for (k, delta) in [("a1", i64::MIN), ("a2", i64::MAX), ("a3", 1_000_000_001), ("a4", -1_000_000_001)] {
        assert_problem(adjust(k, delta, "fix").await.expect("r"), 422, "validation_failed").await;
    }
    assert_problem(adjust("a5", 2, "a\u{0}b").await.expect("r"), 422, "validation_failed").await;
    assert_eq!(adjust("a6", 2, "fix").await.expect("r").status(), 201);
    let tid = c.app.store.card_entries(
        stampede_domain::ids::CardId(c.stamp_card.parse().expect("u")),
        stampede_domain::page::PageRequest::new(None, Some(5)),
    );
    let tid = tid.await.expect("entries").items[0].id;
    let res = c.pos(&format!("transactions/{tid}/cancel"), Some("c1"), json!({"reason": "a\u{0}b"})).await;
    assert_problem(res, 422, "validation_failed").await;
    assert_eq!((c.balance(&c.stamp_card).await, c.ledger_rows(&c.stamp_card).await), (2, 1));
    assert_eq!(c.ledger_rows(&c.points_card).await, 1);

    // Card codes no card can have (a NUL byte, which PostgreSQL cannot even
    // compare; control characters; punctuation): a clear 422 on writes, 404 on
    // the cashier's lookup, never a 5xx, nothing written.
    for (n, code) in ["AB\u{0}CD", "AB\tCD", "AB-CD", "", "Ä1234567"].into_iter().enumerate() {
        let res = c.pos("stamps", Some(&format!("code-{n}")), json!({"card_code": code, "count": 1})).await;
        assert_problem(res, 422, "validation_failed").await;
        let body = json!({"card_code": code, "amount_minor": 100, "currency": "EUR"});
        assert_problem(c.pos("points", Some(&format!("code-p{n}")), body).await, 422, "validation_failed").await;
    }
    let lookup = |code: &str| {
        let url = format!("/v1/pos/stores/{}/cards/{}", c.store_id, code);
        c.app.client.get(c.app.url(&url)).bearer_auth(&c.key).send()
    };
    for code in ["AB%00CD", "AB%09CD", "AB-CD"] {
        assert_problem(lookup(code).await.expect("lookup"), 404, "not_found").await;
    }
    assert_eq!(c.ledger_rows(&c.stamp_card).await, 1);
}

/// The POS answers say when a daily cap cut an earning, and every ledger row
/// keeps the request id it came with.
async fn answers_and_ledger_carry_capped_and_the_request_id(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let capped = json!({"name": "Capped", "rules": {"kind": "stamps", "stamps_per_reward": 10, "max_stamps_per_visit": 3, "daily_cap": 4}});
    let program =
        json_of(c.app.post_auth(&format!("/v1/businesses/{}/programs", c.business_id), &c.owner, capped).await).await;
    let cust = crate::admin::customer(&c.app, "kim@example.com").await;
    let card = json_of(
        c.app.post_auth(&format!("/v1/programs/{}/join", program["id"].as_str().expect("id")), &cust, json!({})).await,
    )
    .await;
    let card = card["id"].as_str().expect("id").to_owned();
    let first = json_of(c.pos("stamps", Some("k1"), json!({"card_id": card, "count": 3})).await).await;
    assert_eq!(
        (first["transaction"]["delta"].as_i64(), first["transaction"]["capped"].as_bool()),
        (Some(3), Some(false))
    );
    let second = json_of(c.pos("stamps", Some("k2"), json!({"card_id": card, "count": 3})).await).await;
    assert_eq!(
        (second["transaction"]["delta"].as_i64(), second["transaction"]["capped"].as_bool()),
        (Some(1), Some(true))
    );
    let rows = c.app.store.card_entries(
        stampede_domain::ids::CardId(card.parse().expect("u")),
        stampede_domain::page::PageRequest::new(None, Some(5)),
    );
    for row in rows.await.expect("entries").items {
        assert!(row.metadata["request_id"].as_str().is_some_and(|r| !r.is_empty()), "{:?}", row.metadata);
    }
}

async fn concurrent_stamps_on_one_card_are_exact(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let n = 200;
    let mut tasks = Vec::new();
    for i in 0..n {
        let (client, url, key, card) = (
            c.app.client.clone(),
            c.app.url(&format!("/v1/pos/stores/{}/stamps", c.store_id)),
            c.key.clone(),
            c.stamp_card.clone(),
        );
        tasks.push(tokio::spawn(async move {
            until_definitive(&client, &url, &key, format!("k{i}"), &json!({"card_id": card})).await.0
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.expect("task") == 201 {
            ok += 1;
        }
    }
    assert_eq!(ok, n, "every stamp acknowledged");
    assert_eq!(c.balance(&c.stamp_card).await, n as i64);
    let rows = c
        .app
        .store
        .card_entries(
            stampede_domain::ids::CardId(c.stamp_card.parse().expect("u")),
            stampede_domain::page::PageRequest::new(None, Some(200)),
        )
        .await
        .expect("e");
    assert_eq!(rows.items.len(), n);
}

async fn concurrent_redemptions_grant_exactly_what_is_funded(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    for i in 0..5 {
        assert_eq!(c.stamp(&format!("f{i}"), 3).await.status(), 201);
    }
    // 15 stamps fund 3 rewards of 5; 20 terminals try at once.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, url, key, body) = (
            c.app.client.clone(),
            c.app.url(&format!("/v1/pos/stores/{}/redemptions", c.store_id)),
            c.key.clone(),
            json!({"card_id": c.stamp_card, "reward_id": c.free_coffee}),
        );
        tasks.push(tokio::spawn(async move { until_definitive(&client, &url, &key, format!("r{i}"), &body).await.0 }));
    }
    let mut granted = 0;
    for t in tasks {
        match t.await.expect("task") {
            201 => granted += 1,
            422 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(granted, 3);
    assert_eq!(c.balance(&c.stamp_card).await, 0);
}

async fn in_flight_duplicates_apply_once(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, key, card) = (
            c.app.client.clone(),
            c.app.url(&format!("/v1/pos/stores/{}/stamps", c.store_id)),
            c.key.clone(),
            c.stamp_card.clone(),
        );
        tasks.push(tokio::spawn(async move {
            until_definitive(&client, &url, &key, "same", &json!({"card_id": card, "count": 2})).await
        }));
    }
    let mut bodies = HashSet::new();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, 201);
        bodies.insert(body);
    }
    assert_eq!(bodies.len(), 1, "every duplicate got the one answer");
    assert_eq!(c.balance(&c.stamp_card).await, 2, "applied once");
    assert_eq!(c.ledger_rows(&c.stamp_card).await, 1);
}

async fn stock_is_never_oversold(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let limited = json_of(
        c.app
            .post_auth(
                &format!("/v1/programs/{}/rewards", c.stamp_program),
                &c.owner,
                json!({"name": "Mug", "cost": 1, "stock": 2}),
            )
            .await,
    )
    .await;
    let reward = limited["id"].as_str().expect("id");
    assert_eq!(c.stamp("s", 3).await.status(), 201);
    let mut statuses = Vec::new();
    let mut granted = Vec::new();
    for i in 0..3 {
        let res =
            c.pos("redemptions", Some(&format!("m{i}")), json!({"card_id": c.stamp_card, "reward_id": reward})).await;
        statuses.push(res.status().as_u16());
        if res.status() == 422 {
            assert_problem(res, 422, "out_of_stock").await;
        } else {
            granted.push(json_of(res).await["transaction"]["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(statuses, [201, 201, 422]);
    assert_eq!(c.balance(&c.stamp_card).await, 1, "the refused redemption took nothing");
    let stock =
        || async { c.app.store.get_reward(reward.parse().expect("u")).await.expect("get").expect("reward").stock };
    assert_eq!(stock().await, Some(0));
    // A cancelled redemption gives the mug back with the stamp, once.
    for _ in 0..2 {
        let res = c.pos(&format!("transactions/{}/cancel", granted[0]), Some("undo-m0"), json!({})).await;
        assert_eq!(res.status(), 201);
    }
    assert_eq!((stock().await, c.balance(&c.stamp_card).await), (Some(1), 2));
    let res = c.pos("redemptions", Some("m3"), json!({"card_id": c.stamp_card, "reward_id": reward})).await;
    assert_eq!(res.status(), 201, "the unit given back can be redeemed again");
    assert_eq!(stock().await, Some(0));
}

async fn outbox_reaches_history_and_queue_once(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    for i in 0..30 {
        assert_eq!(c.stamp(&format!("o{i}"), 1).await.status(), 201);
    }
    // Retries change nothing downstream either.
    for i in 0..5 {
        assert_eq!(c.stamp(&format!("o{i}"), 1).await.status(), 201);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while c.app.store.outbox_backlog().await.expect("backlog") > 0 {
        assert!(std::time::Instant::now() < deadline, "the relay drains the outbox");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(c.app.store.count_history().await.expect("count"), 30);
    let history = c
        .app
        .store
        .card_history(
            stampede_domain::ids::CardId(c.stamp_card.parse().expect("u")),
            stampede_domain::page::PageRequest::new(None, Some(100)),
        )
        .await
        .expect("h");
    let ids: HashSet<_> = history.items.iter().map(|m| m.transaction_id).collect();
    assert_eq!(ids.len(), 30);
    // The gauge is read on a timer of its own (once a second): it shows the
    // empty outbox within a tick or two.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let metrics = loop {
        let metrics = c.app.client.get(c.app.url("/metrics")).send().await.expect("r").text().await.expect("t");
        if metrics.contains("stampede_outbox_backlog 0") {
            break metrics;
        }
        assert!(std::time::Instant::now() < deadline, "backlog visible in /metrics: {metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(metrics.contains("stampede_commit_batch_size_count"), "{metrics}");
}

async fn cashier_lookup_and_customer_views(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    c.stamp("l1", 3).await;
    c.stamp("l2", 3).await;
    let cust = json_of(
        c.app
            .post_json(
                "/v1/auth/customers/login",
                json!({"email": "pat@example.com", "password": "correct horse battery"}),
            )
            .await,
    )
    .await;
    let token = cust["access_token"].as_str().expect("token");
    let code = json_of(c.app.get_auth(&format!("/v1/me/cards/{}/code", c.stamp_card), token).await).await;
    let code = code["code"].as_str().expect("code");
    let screen = json_of(c.app.get_auth(&format!("/v1/pos/stores/{}/cards/{code}", c.store_id), &c.key).await).await;
    assert_eq!((screen["balance"].as_i64(), screen["redeemable"].as_array().map(Vec::len)), (Some(6), Some(1)));
    assert!(screen.get("customer_id").is_none(), "no customer data at the counter");
    // By code at the counter, too.
    let res = c.pos("stamps", Some("by-code"), json!({"card_code": code.to_lowercase()})).await;
    assert_eq!(res.status(), 201);
    let cards = json_of(c.app.get_auth("/v1/me/cards", token).await).await;
    let stamp_card = cards.as_array().expect("cards").iter().find(|x| x["id"] == c.stamp_card.as_str()).expect("card");
    assert_eq!(stamp_card["balance"], 7, "the customer sees every acknowledged stamp");
    assert_eq!(stamp_card["redeemable"].as_array().map(Vec::len), Some(1));
    let history =
        json_of(c.app.get_auth(&format!("/v1/me/cards/{}/transactions?limit=2", c.stamp_card), token).await).await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2));
    assert!(history["next_cursor"].is_string());
    // Another customer's card history is not found.
    let other = customer(&c.app, "zed@example.com").await;
    assert_problem(
        c.app.get_auth(&format!("/v1/me/cards/{}/transactions", c.stamp_card), &other).await,
        404,
        "not_found",
    )
    .await;
}

/// A second instance on the same database and data folder (a restart, or a
/// second API host).
async fn second_instance(c: &Counter, extra: &str) -> String {
    let settings = crate::helpers::test_settings(
        &c.app.db,
        c.app.data_dir.path(),
        &format!("[runtime]\nengine = \"actors\"\n{extra}"),
    );
    let app = stampede::startup::Application::build(&settings).await.expect("second instance");
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

/// After a restart the stored answer is replayed byte for byte, also when
/// running the request again would now be refused.
#[tokio::test]
async fn replays_survive_a_restart() {
    let c = counter(DatabaseBackend::Postgres, "actors", "").await;
    let first = c.stamp("before-restart", 3).await.bytes().await.expect("body");
    c.stamp("fund", 3).await;
    let redeem = json!({"card_id": c.stamp_card, "reward_id": c.free_coffee});
    let redeemed = c.pos("redemptions", Some("redeem-once"), redeem.clone()).await.bytes().await.expect("body");
    let redeemed2 = c.pos("redemptions", Some("redeem-twice"), redeem.clone()).await;
    assert_eq!(redeemed2.status(), 422, "only one reward is funded");

    let other = second_instance(&c, "").await;
    let post = |path: &str, key: &'static str, body: Value| {
        c.app
            .client
            .post(format!("{other}/v1/pos/stores/{}/{path}", c.store_id))
            .bearer_auth(&c.key)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let res = post("stamps", "before-restart", json!({"card_id": c.stamp_card, "count": 3})).await.expect("r");
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(res.bytes().await.expect("body"), first);
    let res = post("redemptions", "redeem-once", redeem).await.expect("r");
    assert_eq!(res.status(), 201, "the stored answer, not a refusal");
    assert_eq!(res.bytes().await.expect("body"), redeemed);
    assert_eq!(c.balance(&c.stamp_card).await, 1);
    assert_eq!(c.ledger_rows(&c.stamp_card).await, 3);
}

/// Two API hosts act on one card at once: the database's version check keeps
/// the card from being overdrawn.
#[tokio::test]
async fn two_instances_never_overdraw() {
    let c = counter(DatabaseBackend::Postgres, "actors", "").await;
    for i in 0..5 {
        assert_eq!(c.stamp(&format!("f{i}"), 3).await.status(), 201);
    }
    let other = second_instance(&c, "").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let base = if i % 2 == 0 { c.app.address.clone() } else { other.clone() };
        let (client, key, store, body) = (
            c.app.client.clone(),
            c.key.clone(),
            c.store_id.clone(),
            json!({"card_id": c.stamp_card, "reward_id": c.free_coffee}),
        );
        tasks.push(tokio::spawn(async move {
            until_definitive(
                &client,
                format!("{base}/v1/pos/stores/{store}/redemptions"),
                &key,
                format!("two-{i}"),
                &body,
            )
            .await
            .0
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.expect("task") == 201 {
            granted += 1;
        }
    }
    assert_eq!(granted, 3, "15 stamps fund exactly 3 rewards of 5");
    assert_eq!(c.balance(&c.stamp_card).await, 0);
}

/// The expiry sweep expires what is due, through the engine, as a ledger row.
#[tokio::test]
async fn the_expiry_sweep_writes_expiry_rows() {
    use stampede_domain::card::{CardBook, Lot, TxKind};
    use stampede_domain::ledger::{CardUpdate, CommitOp, LedgerEntry};
    let c = counter(DatabaseBackend::Sqlite, "actors", "").await;
    let card = c
        .app
        .store
        .get_card(stampede_domain::ids::CardId(c.stamp_card.parse().expect("u")))
        .await
        .expect("g")
        .expect("card");
    // A stamp earned long ago whose lot expired yesterday, written as a commit would.
    let long_ago = stampede_domain::ledger::now() - chrono::Duration::days(400);
    let expired = stampede_domain::ledger::now() - chrono::Duration::days(1);
    let id = uuid::Uuid::now_v7();
    let op = CommitOp {
        card: CardUpdate {
            card_id: card.id,
            expected_version: 0,
            expected_entry: None,
            new_version: 1,
            balance: 4,
            points: false,
            book: CardBook {
                lots: vec![Lot { earned_at: long_ago, expires_at: Some(expired), remaining: 4 }],
                ..Default::default()
            },
            next_expiry_at: Some(expired),
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
            delta: 4,
            points: false,
            balance_after: 4,
            amount_minor: None,
            currency: None,
            reward_id: None,
            reverses_id: None,
            terminal_id: None,
            staff_id: None,
            campaigns: vec![],
            metadata: json!({}),
            created_at: long_ago,
        },
        idempotency: None,
        outbox: None,
        counted: false,
        stock: None,
    };
    c.app.store.commit_batch(&[op]).await.expect("commit");
    let cache = std::sync::Arc::new(stampede_store::cache::MemoryCache::new(1 << 20));
    let records = stampede::cached::Records::new(cache, c.app.store.clone());
    let engine = stampede_actors::NaiveEngine::new(c.app.store.clone(), stampede_actors::RuntimeMetrics::new());
    let n = stampede::sweeps::expire_due(c.app.store.as_ref(), &records, engine.as_ref(), 100).await;
    assert_eq!(n, 1);
    let after = c.app.store.get_card(card.id).await.expect("g").expect("card");
    assert_eq!((after.balance, after.version), (0, 2));
    let rows = c.app.store.card_entries(card.id, stampede_domain::page::PageRequest::new(None, None)).await.expect("e");
    assert_eq!(rows.items[0].kind, TxKind::Expiry);
    assert_eq!(rows.items[0].delta, -4);
    assert_eq!(
        stampede::sweeps::expire_due(c.app.store.as_ref(), &records, engine.as_ref(), 100).await,
        0,
        "nothing left"
    );
    assert!(!c.points_program.is_empty());
}

/// Deactivating a business or a brand stops POS writes, adjustments and
/// joining at once; reactivating starts them again.
async fn a_deactivated_business_or_brand_stops_its_counters(backend: DatabaseBackend, engine: &str) {
    let c = counter(backend, engine, "").await;
    let store = json_of(c.app.get_auth(&format!("/v1/stores/{}", c.store_id), &c.owner).await).await;
    let brand = store["brand_id"].as_str().expect("brand").to_owned();
    let newcomer = customer(&c.app, "new@example.com").await;
    let business_id = stampede_domain::ids::BusinessId(c.business_id.parse().expect("uuid"));
    let brand_id = stampede_domain::ids::BrandId(brand.parse().expect("uuid"));
    let set_active = |path: String, version: i64, active: bool| {
        let req =
            c.app.client.patch(c.app.url(&path)).bearer_auth(&c.owner).header("if-match", format!("\"{version}\""));
        async move {
            let res = req.json(&json!({"is_active": active})).send().await.expect("patch");
            assert_eq!(res.status(), 200, "{path} is_active = {active}");
        }
    };
    let version = |of: &'static str| {
        let store = c.app.store.clone();
        async move {
            match of {
                "business" => store.get_business(business_id).await.expect("get").expect("business").version,
                _ => store.get_brand(brand_id).await.expect("get").expect("brand").version,
            }
        }
    };
    let adjust = |n: u32| {
        let url = c.app.url(&format!("/v1/cards/{}/adjustments", c.stamp_card));
        let req = c.app.client.post(url).bearer_auth(&c.owner).header("idempotency-key", format!("adj-{n}"));
        req.json(&json!({"store_id": c.store_id, "delta": 1, "reason": "goodwill"})).send()
    };
    let join_path = format!("/v1/programs/{}/join", c.stamp_program);
    let join = || c.app.post_auth(&join_path, &newcomer, json!({}));
    assert_eq!(c.stamp("before", 1).await.status(), 201);

    let business = format!("/v1/businesses/{}", c.business_id);
    set_active(business.clone(), version("business").await, false).await;
    assert_problem(c.stamp("while-off", 1).await, 404, "not_found").await;
    assert_problem(adjust(1).await.expect("adjust"), 404, "not_found").await;
    assert_problem(join().await, 404, "not_found").await;
    set_active(business, version("business").await, true).await;
    assert_eq!(c.stamp("business-back", 1).await.status(), 201);

    let brand = format!("/v1/brands/{brand}");
    set_active(brand.clone(), version("brand").await, false).await;
    assert_problem(c.stamp("brand-off", 1).await, 404, "not_found").await;
    assert_problem(adjust(2).await.expect("adjust"), 404, "not_found").await;
    set_active(brand, version("brand").await, true).await;
    assert_eq!(c.stamp("brand-back", 1).await.status(), 201);
    assert_eq!(adjust(3).await.expect("adjust").status(), 201);
    assert_eq!(join().await.status(), 201);
    assert_eq!(c.balance(&c.stamp_card).await, 4, "three stamps and one adjustment, nothing while off");
}
