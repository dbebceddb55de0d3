//! The admin API: businesses, brands, stores, programs, rewards, campaigns,
//! team management, uploads, the audit log, and customer-facing reads.

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

both_backends!(
    business_crud_with_etags,
    brands_and_stores,
    programs_are_versioned,
    rewards_campaigns_and_validation,
    customers_join_programs,
    logo_upload_and_serving,
    audit_log_records_changes,
    team_management,
);

pub async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.expect("json")
}

pub fn etag_of(res: &reqwest::Response) -> String {
    res.headers().get("etag").and_then(|v| v.to_str().ok()).expect("ETag").to_owned()
}

pub async fn patch(app: &TestApp, path: &str, token: &str, if_match: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = app.client.patch(app.url(path)).bearer_auth(token).json(&body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.expect("request")
}

/// A business created through the API with a brand and a store: (business, brand, store) ids.
pub async fn shop(app: &TestApp, token: &str) -> (String, String, String) {
    let b = json_of(app.post_auth("/v1/businesses", token, json!({"name": "Café Uno"})).await).await;
    let bid = b["id"].as_str().expect("id").to_owned();
    let brand =
        json_of(app.post_auth(&format!("/v1/businesses/{bid}/brands"), token, json!({"name": "Uno"})).await).await;
    let brand_id = brand["id"].as_str().expect("id").to_owned();
    let s = app
        .post_auth(
            &format!("/v1/businesses/{bid}/stores"),
            token,
            json!({"name": "Main St", "brand_id": brand_id, "timezone": "Europe/Berlin", "address": {"city": "Berlin"}}),
        )
        .await;
    assert_eq!(s.status(), 201);
    let store_id = json_of(s).await["id"].as_str().expect("id").to_owned();
    (bid, brand_id, store_id)
}

pub fn stamp_program() -> Value {
    json!({"name": "Coffee card", "rules": {"kind": "stamps", "stamps_per_reward": 10, "max_stamps_per_visit": 2}})
}

async fn business_crud_with_etags(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let res =
        app.post_auth("/v1/businesses", &owner, json!({"name": "Bäckerei", "website": "https://baeckerei.test"})).await;
    assert_eq!(res.status(), 201);
    let tag = etag_of(&res);
    let b = json_of(res).await;
    let path = format!("/v1/businesses/{}", b["id"].as_str().expect("id"));
    let res = app.get_auth(&path, &owner).await;
    assert_eq!(etag_of(&res), tag);

    assert_problem(patch(&app, &path, &owner, None, json!({"name": "X"})).await, 428, "precondition_required").await;
    assert_problem(patch(&app, &path, &owner, Some("\"99\""), json!({"name": "X"})).await, 412, "precondition_failed")
        .await;
    let bad = patch(&app, &path, &owner, Some(&tag), json!({"name": "", "website": "ftp://x"})).await;
    let body = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2), "{body}");
    let unknown = patch(&app, &path, &owner, Some(&tag), json!({"logo_url": "http://evil"})).await;
    assert_problem(unknown, 400, "invalid_json").await;

    let res = patch(&app, &path, &owner, Some(&tag), json!({"name": "Bäckerei Ost", "description": "Brot"})).await;
    assert_eq!(res.status(), 200);
    let new_tag = etag_of(&res);
    assert_ne!(new_tag, tag);
    let updated = json_of(res).await;
    assert_eq!((updated["name"].as_str(), updated["description"].as_str()), (Some("Bäckerei Ost"), Some("Brot")));
    // The other manager's stale write is refused, not silently applied.
    assert_problem(patch(&app, &path, &owner, Some(&tag), json!({"name": "Old"})).await, 412, "precondition_failed")
        .await;
    // Read-your-write through the cache.
    assert_eq!(json_of(app.get_auth(&path, &owner).await).await["name"], "Bäckerei Ost");
    let res = patch(&app, &path, &owner, Some(&new_tag), json!({"is_active": false})).await;
    assert_eq!(json_of(res).await["is_active"], false);
    let list = json_of(app.get_auth("/v1/businesses", &owner).await).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let active = json_of(app.get_auth("/v1/businesses?active=true", &owner).await).await;
    assert_eq!(active["items"].as_array().map(Vec::len), Some(1));
}

async fn brands_and_stores(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, brand_id, store_id) = shop(&app, &owner).await;
    let bad = app
        .post_auth(
            &format!("/v1/businesses/{bid}/stores"),
            &owner,
            json!({"name": "X", "timezone": "Mars/Base", "address": [1]}),
        )
        .await;
    let body = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"].as_array().expect("e").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["timezone", "address"]);
    app.post_auth(&format!("/v1/businesses/{bid}/stores"), &owner, json!({"name": "Kiosk"})).await;
    let all = json_of(app.get_auth(&format!("/v1/businesses/{bid}/stores"), &owner).await).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
    let of_brand =
        json_of(app.get_auth(&format!("/v1/businesses/{bid}/stores?brand_id={brand_id}"), &owner).await).await;
    assert_eq!(of_brand["items"].as_array().map(Vec::len), Some(1));
    let paged = json_of(app.get_auth(&format!("/v1/businesses/{bid}/stores?limit=1"), &owner).await).await;
    assert!(paged["next_cursor"].is_string());

    let res = app.get_auth(&format!("/v1/stores/{store_id}"), &owner).await;
    let tag = etag_of(&res);
    assert_eq!(json_of(res).await["address"]["city"], "Berlin");
    let res = patch(
        &app,
        &format!("/v1/stores/{store_id}"),
        &owner,
        Some(&tag),
        json!({"name": "Main Street", "brand_id": null}),
    )
    .await;
    let store = json_of(res).await;
    assert_eq!((store["name"].as_str(), store["brand_id"].is_null()), (Some("Main Street"), true));
    let brands = json_of(app.get_auth(&format!("/v1/businesses/{bid}/brands"), &owner).await).await;
    let btag = format!("\"{}\"", brands["items"][0]["version"]);
    let res = patch(&app, &format!("/v1/brands/{brand_id}"), &owner, Some(&btag), json!({"name": "Uno Due"})).await;
    assert_eq!(json_of(res).await["name"], "Uno Due");
}

async fn programs_are_versioned(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store_id) = shop(&app, &owner).await;
    let bad = app
        .post_auth(
            &format!("/v1/businesses/{bid}/programs"),
            &owner,
            json!({"name": "P", "rules": {"kind": "points", "currency": "euro", "points_per_unit": 0, "unit_minor": 100, "rounding": "down"}}),
        )
        .await;
    assert_problem(bad, 400, "invalid_json").await; // "euro" is not a currency: the body does not parse
    let bad = app
        .post_auth(
            &format!("/v1/businesses/{bid}/programs"),
            &owner,
            json!({"name": "P", "rules": {"kind": "points", "currency": "EUR", "points_per_unit": 0, "unit_minor": 100, "rounding": "down",
                    "store_overrides": {"00000000-0000-0000-0000-000000000001": 5}}}),
        )
        .await;
    let body = assert_problem(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"].as_array().expect("e").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["rules.points_per_unit", "rules.store_overrides"]);

    let res = app.post_auth(&format!("/v1/businesses/{bid}/programs"), &owner, stamp_program()).await;
    assert_eq!(res.status(), 201);
    let p = json_of(res).await;
    assert_eq!((p["version"].as_i64(), p["rules"]["kind"].as_str()), (Some(1), Some("stamps")));
    let path = format!("/v1/programs/{}", p["id"].as_str().expect("id"));
    let kind_change = patch(&app, &path, &owner, Some("\"1\""), json!({"rules": {"kind": "points", "currency": "EUR", "points_per_unit": 1, "unit_minor": 100, "rounding": "down"}})).await;
    assert_problem(kind_change, 422, "validation_failed").await;
    let res = patch(
        &app,
        &path,
        &owner,
        Some("\"1\""),
        json!({"rules": {"kind": "stamps", "stamps_per_reward": 8, "max_stamps_per_visit": 2}, "availability": {"store_ids": [store_id]}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let v2 = json_of(res).await;
    assert_eq!((v2["version"].as_i64(), v2["rules"]["stamps_per_reward"].as_i64()), (Some(2), Some(8)));
    let bundle = json_of(app.get_auth(&path, &owner).await).await;
    assert_eq!(bundle["program"]["version"], 2, "read-your-write: the cache was invalidated");
    // The history the console shows: every version, newest first.
    let versions = json_of(app.get_auth(&format!("{path}/versions"), &owner).await).await;
    let seen: Vec<(i64, i64)> = versions["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| (v["version"].as_i64().expect("v"), v["rules"]["stamps_per_reward"].as_i64().expect("n")))
        .collect();
    assert_eq!(seen, [(2, 8), (1, 10)], "{versions}");
    assert_eq!(
        json_of(app.get_auth(&format!("/v1/businesses/{bid}/programs"), &owner).await).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn rewards_campaigns_and_validation(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store_id) = shop(&app, &owner).await;
    let p = json_of(app.post_auth(&format!("/v1/businesses/{bid}/programs"), &owner, stamp_program()).await).await;
    let pid = p["id"].as_str().expect("id");
    let bad = app
        .post_auth(&format!("/v1/programs/{pid}/rewards"), &owner, json!({"name": "", "cost": 0, "stock": -1}))
        .await;
    let body = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(3), "{body}");
    let res = app
        .post_auth(
            &format!("/v1/programs/{pid}/rewards"),
            &owner,
            json!({"name": "Free coffee", "cost": 10, "stock": 100}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let r = json_of(res).await;
    let res = patch(
        &app,
        &format!("/v1/rewards/{}", r["id"].as_str().expect("id")),
        &owner,
        Some("\"1\""),
        json!({"stock": null, "cost": 9}),
    )
    .await;
    let r = json_of(res).await;
    assert_eq!((r["stock"].is_null(), r["cost"].as_i64()), (true, Some(9)));

    let bad = app
        .post_auth(&format!("/v1/programs/{pid}/campaigns"), &owner, json!({"name": "Backwards", "starts_local": "2026-12-05T14:00:00", "ends_local": "2026-12-05T10:00:00", "bonus_stamps": 1}))
        .await;
    assert_problem(bad, 422, "validation_failed").await;
    let res = app
        .post_auth(
            &format!("/v1/programs/{pid}/campaigns"),
            &owner,
            json!({"name": "Bonus Saturday", "starts_local": "2026-12-05T10:00:00", "ends_local": "2026-12-05T14:00:00",
                   "bonus_stamps": 1, "store_ids": [store_id], "max_per_card": 1}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let c = json_of(res).await;
    let res = patch(
        &app,
        &format!("/v1/campaigns/{}", c["id"].as_str().expect("id")),
        &owner,
        Some("\"1\""),
        json!({"is_active": false}),
    )
    .await;
    assert_eq!(json_of(res).await["is_active"], false);
    let bundle = json_of(app.get_auth(&format!("/v1/programs/{pid}"), &owner).await).await;
    assert_eq!(bundle["rewards"].as_array().map(Vec::len), Some(1));
    assert_eq!(bundle["campaigns"][0]["is_active"], false);
}

pub async fn customer(app: &TestApp, email: &str) -> String {
    let t = app.verified_customer(email, "correct horse battery", "Cus").await;
    t["access_token"].as_str().expect("a").to_owned()
}

async fn customers_join_programs(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, _) = shop(&app, &owner).await;
    let p = json_of(app.post_auth(&format!("/v1/businesses/{bid}/programs"), &owner, stamp_program()).await).await;
    let pid = p["id"].as_str().expect("id");
    app.post_auth(&format!("/v1/programs/{pid}/rewards"), &owner, json!({"name": "Free coffee", "cost": 10})).await;
    let cust = customer(&app, "jo@example.com").await;
    let active = json_of(app.get_auth(&format!("/v1/businesses/{bid}/programs/active"), &cust).await).await;
    assert_eq!(active["items"][0]["name"], "Coffee card");
    assert_eq!(active["items"][0]["rewards"][0]["name"], "Free coffee");
    // Staff routes are not for customers.
    assert_eq!(app.get_auth(&format!("/v1/programs/{pid}"), &cust).await.status(), 401);

    let res = app.post_auth(&format!("/v1/programs/{pid}/join"), &cust, json!({})).await;
    assert_eq!(res.status(), 201);
    let card = json_of(res).await;
    assert_eq!((card["balance"].as_i64(), card["stamps_to_next_reward"].as_i64()), (Some(0), Some(10)));
    let again = app.post_auth(&format!("/v1/programs/{pid}/join"), &cust, json!({})).await;
    assert_eq!(again.status(), 200, "joining twice is idempotent");
    assert_eq!(json_of(again).await["id"], card["id"]);
    let mine = json_of(app.get_auth("/v1/me/cards", &cust).await).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    let code =
        json_of(app.get_auth(&format!("/v1/me/cards/{}/code", card["id"].as_str().expect("id")), &cust).await).await;
    let code = code["code"].as_str().expect("code");
    assert_eq!(code.len(), 16);
    assert!(!code.contains(&card["id"].as_str().expect("id")[..8]), "the code does not expose ids");
    // Someone else's card code is not found.
    let other = customer(&app, "kay@example.com").await;
    let res = app.get_auth(&format!("/v1/me/cards/{}/code", card["id"].as_str().expect("id")), &other).await;
    assert_problem(res, 404, "not_found").await;
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn logo_upload_and_serving(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, _) = shop(&app, &owner).await;
    let url = app.url(&format!("/v1/businesses/{bid}/logo"));
    let put = |ct: &'static str, body: Vec<u8>| {
        app.client.put(&url).bearer_auth(&owner).header("content-type", ct).body(body).send()
    };
    let res = put("image/png", PNG.to_vec()).await.expect("r");
    assert_eq!(res.status(), 200);
    let logo = json_of(res).await["logo_url"].as_str().expect("logo_url").to_owned();
    assert!(logo.starts_with("http://stampede.test/v1/objects/public/businesses/"), "{logo}");
    let path = logo.trim_start_matches("http://stampede.test");
    let res = app.client.get(app.url(path)).send().await.expect("r");
    assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), PNG);
    assert_problem(put("text/html", b"<script>".to_vec()).await.expect("r"), 415, "unsupported_media_type").await;
    assert_problem(put("image/png", b"GIF89a".to_vec()).await.expect("r"), 422, "validation_failed").await;
    assert_problem(put("image/png", vec![0u8; 3 * 1024 * 1024]).await.expect("r"), 413, "payload_too_large").await;
    assert_problem(
        app.client.get(app.url("/v1/objects/public/../keys/active")).send().await.expect("r"),
        404,
        "not_found",
    )
    .await;
}

async fn audit_log_records_changes(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, _) = shop(&app, &owner).await;
    patch(&app, &format!("/v1/businesses/{bid}"), &owner, Some("\"1\""), json!({"name": "Café Due"})).await;
    let log = json_of(app.get_auth(&format!("/v1/businesses/{bid}/audit"), &owner).await).await;
    let actions: Vec<&str> =
        log["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["business.update", "store.create", "brand.create", "business.create"]);
    let update = &log["items"][0];
    assert_eq!(
        (update["before"]["name"].as_str(), update["after"]["name"].as_str()),
        (Some("Café Uno"), Some("Café Due"))
    );
    assert_eq!(update["actor_kind"], "staff");
    assert!(update["actor_id"].is_string() && update["at"].is_string());
}

async fn team_management(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store_id) = shop(&app, &owner).await;
    let invite = app
        .post_auth(
            &format!("/v1/businesses/{bid}/invitations"),
            &owner,
            json!({"email": "tim@shop.test", "role": "cashier", "store_id": store_id}),
        )
        .await;
    assert_eq!(invite.status(), 201);
    let tims_token = app.accept_invitation("tim@shop.test", "Tim", "tims password 1").await;
    let team = json_of(app.get_auth(&format!("/v1/businesses/{bid}/staff"), &owner).await).await;
    assert_eq!(team["items"].as_array().map(Vec::len), Some(2));
    let tim = team["items"].as_array().expect("items").iter().find(|s| s["email"] == "tim@shop.test").expect("tim");
    let tim_id = tim["id"].as_str().expect("id").to_owned();
    let res = app
        .client
        .put(app.url(&format!("/v1/businesses/{bid}/staff/{tim_id}/role")))
        .bearer_auth(&owner)
        .json(&json!({"role": "store_manager", "store_id": store_id}))
        .send()
        .await
        .expect("r");
    assert_eq!(json_of(res).await["memberships"][0]["role"], "store_manager");
    // The only owner cannot be removed or demoted.
    let me = json_of(app.get_auth("/v1/staff/me", &owner).await).await;
    let my_id = me["staff"]["id"].as_str().expect("id");
    let res = app
        .client
        .delete(app.url(&format!("/v1/businesses/{bid}/staff/{my_id}")))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("r");
    assert_problem(res, 409, "conflict").await;
    let res = app
        .client
        .delete(app.url(&format!("/v1/businesses/{bid}/staff/{tim_id}")))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("r");
    assert_eq!(res.status(), 204);
    // With no role left anywhere, the account cannot sign in; the token it
    // held before is refused too.
    let login =
        app.post_json("/v1/auth/staff/login", json!({"email": "tim@shop.test", "password": "tims password 1"})).await;
    assert_problem(login, 401, "unauthorized").await;
    assert_problem(app.get_auth("/v1/staff/me", &tims_token).await, 401, "unauthorized").await;
    assert_problem(app.get_auth(&format!("/v1/stores/{store_id}"), &tims_token).await, 401, "unauthorized").await;
}

/// Two app instances share PostgreSQL and Redis: an update through one is seen
/// by the other at once, although the other had the record cached.
#[tokio::test]
async fn cache_invalidation_reaches_another_instance() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let extra =
        format!("[cache]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n");
    let a = spawn_app_with(DatabaseBackend::Postgres, &extra).await;
    let owner = a.owner_token().await;
    let (bid, _, store_id) = shop(&a, &owner).await;
    // A second instance on the same database and Redis.
    let settings = crate::helpers::test_settings(&a.db, a.data_dir.path(), &extra);
    let b = stampede::startup::Application::build(&settings).await.expect("second instance");
    let b_url = format!("http://127.0.0.1:{}", b.port());
    tokio::spawn(b.run_until_stopped());
    let get_b = |path: String| a.client.get(format!("{b_url}{path}")).bearer_auth(&owner).send();

    // B caches the business and the store.
    assert_eq!(json_of(get_b(format!("/v1/businesses/{bid}")).await.expect("r")).await["name"], "Café Uno");
    assert_eq!(json_of(get_b(format!("/v1/stores/{store_id}")).await.expect("r")).await["name"], "Main St");
    // A changes both.
    patch(&a, &format!("/v1/businesses/{bid}"), &owner, Some("\"1\""), json!({"name": "Café Nuovo"})).await;
    patch(&a, &format!("/v1/stores/{store_id}"), &owner, Some("\"1\""), json!({"name": "High St"})).await;
    // B sees the changes immediately.
    assert_eq!(json_of(get_b(format!("/v1/businesses/{bid}")).await.expect("r")).await["name"], "Café Nuovo");
    assert_eq!(json_of(get_b(format!("/v1/stores/{store_id}")).await.expect("r")).await["name"], "High St");

    // A terminal B has accepted (so B holds it), revoked through A: B refuses
    // its very next request.
    let terminals = format!("/v1/stores/{store_id}/terminals");
    let created = json_of(a.post_auth(&terminals, &owner, json!({"name": "Till"})).await).await;
    let key = created["api_key"].as_str().expect("key").to_owned();
    let session = || a.client.get(format!("{b_url}/v1/pos/stores/{store_id}/session")).bearer_auth(&key).send();
    assert_eq!(session().await.expect("r").status(), 200);
    assert_eq!(session().await.expect("r").status(), 200);
    let id = created["terminal"]["id"].as_str().expect("id");
    let res = a.client.delete(a.url(&format!("{terminals}/{id}"))).bearer_auth(&owner).send().await.expect("r");
    assert_eq!(res.status(), 204);
    assert_eq!(session().await.expect("r").status(), 401, "revoked on A, refused by B at once");
}
