//! Staff identity: the first owner's one-time password, invitations, terminal
//! keys, the POS session, rate limits.

use serde_json::{Value, json};
use stampede_domain::business::{NewStore, Store};
use stampede_domain::text::Name;
use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

both_backends!(
    first_owner_must_change_the_one_time_password,
    invitation_creates_a_cashier,
    invitation_adds_a_role_to_an_existing_account,
    terminal_keys_work_until_revoked,
    jwks_publishes_the_signing_key,
    only_owners_found_businesses_and_invitations_and_password_changes_are_bounded,
    a_staff_password_is_reset_from_the_emailed_link_once,
);

/// The first owner's business and a store in it.
pub async fn owners_store(app: &TestApp) -> Store {
    let page =
        app.store.list_businesses(stampede_domain::page::PageRequest::new(None, None), false).await.expect("list");
    let business = &page.items[0];
    app.store
        .create_store(
            NewStore {
                business_id: business.id,
                brand_id: None,
                name: Name::parse("Main Street").expect("name"),
                timezone: "Europe/Berlin".into(),
                address: serde_json::json!({}),
            },
            None,
        )
        .await
        .expect("store")
}

async fn first_owner_must_change_the_one_time_password(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let (email, otp) = app.owner.clone();
    let res = app.post_json("/v1/auth/staff/login", json!({"email": email, "password": otp})).await;
    let t: Value = res.json().await.expect("json");
    assert_eq!(t["password_change_required"], true);
    let access = t["access_token"].as_str().expect("a");
    let store = owners_store(&app).await;
    // Everything but the password change refuses the token.
    let res = app.get_auth(&format!("/v1/stores/{}/terminals", store.id), access).await;
    assert_problem(res, 403, "forbidden").await;
    let me: Value = app.get_auth("/v1/staff/me", access).await.json().await.expect("json");
    assert_eq!(me["password_change_required"], true);
    assert_eq!(me["staff"]["memberships"][0]["role"], "owner");

    let same =
        app.post_auth("/v1/auth/staff/password", access, json!({"current_password": otp, "new_password": otp})).await;
    assert_problem(same, 422, "validation_failed").await;
    let wrong = app
        .post_auth(
            "/v1/auth/staff/password",
            access,
            json!({"current_password": "nope", "new_password": "fresh password 1"}),
        )
        .await;
    assert_problem(wrong, 401, "unauthorized").await;
    let fresh = app.owner_token().await;
    assert_eq!(app.get_auth(&format!("/v1/stores/{}/terminals", store.id), &fresh).await.status(), 200);
    // The one-time password is gone.
    let res = app.post_json("/v1/auth/staff/login", json!({"email": email, "password": otp})).await;
    assert_eq!(res.status(), 401);
}

async fn invitation_creates_a_cashier(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let store = owners_store(&app).await;
    let path = format!("/v1/businesses/{}/invitations", store.business_id);
    let missing = app.post_auth(&path, &owner, json!({"email": "cash@shop.test", "role": "cashier"})).await;
    let body = assert_problem(missing, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "store_id");
    let res =
        app.post_auth(&path, &owner, json!({"email": "Cash@Shop.test", "role": "cashier", "store_id": store.id})).await;
    assert_eq!(res.status(), 201);
    let token = app.token_from_mail("cash@shop.test", "invited you").await;
    let mail = app.mails().into_iter().find(|m| m.subject.contains("invited you")).expect("invitation mail");
    assert!(mail.text.contains("as cashier"), "{}", mail.text);

    let short = app
        .post_json("/v1/auth/staff/invitations/accept", json!({"token": token, "name": "Cas", "password": "short"}))
        .await;
    assert_problem(short, 422, "validation_failed").await;
    let res = app
        .post_json(
            "/v1/auth/staff/invitations/accept",
            json!({"token": token, "name": "Cas Hier", "password": "till password 1"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.expect("json");
    let me: Value = app.get_auth("/v1/staff/me", t["access_token"].as_str().expect("a")).await.json().await.expect("j");
    assert_eq!(me["staff"]["memberships"][0]["role"], "cashier");
    assert_eq!(me["staff"]["memberships"][0]["scope"]["store_id"], json!(store.id));
    // The invitation works once.
    let again = app
        .post_json(
            "/v1/auth/staff/invitations/accept",
            json!({"token": token, "name": "X", "password": "till password 1"}),
        )
        .await;
    assert_problem(again, 422, "validation_failed").await;
    // The cashier can sign in, and work the counter of that store.
    let res =
        app.post_json("/v1/auth/staff/login", json!({"email": "cash@shop.test", "password": "till password 1"})).await;
    let t: Value = res.json().await.expect("json");
    let session =
        app.get_auth(&format!("/v1/pos/stores/{}/session", store.id), t["access_token"].as_str().expect("a")).await;
    assert_eq!(session.status(), 200);
}

async fn invitation_adds_a_role_to_an_existing_account(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let store = owners_store(&app).await;
    let path = format!("/v1/businesses/{}/invitations", store.business_id);
    let invite = |role: &'static str| {
        app.post_auth(&path, &owner, json!({"email": "sam@shop.test", "role": role, "store_id": store.id}))
    };
    assert_eq!(invite("cashier").await.status(), 201);
    let token = app.token_from_mail("sam@shop.test", "invited you").await;
    let res = app
        .post_json(
            "/v1/auth/staff/invitations/accept",
            json!({"token": token, "name": "Sam", "password": "sams password 1"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(invite("store_manager").await.status(), 201);
    let token = crate::helpers::token_in(&app.mails_to("sam@shop.test", "invited you", 2).await[1]);
    let res = app.post_json("/v1/auth/staff/invitations/accept", json!({"token": token})).await;
    assert_eq!(res.status(), 204, "an existing account gets the role; it signs in with its own password");
    let res =
        app.post_json("/v1/auth/staff/login", json!({"email": "sam@shop.test", "password": "sams password 1"})).await;
    let t: Value = res.json().await.expect("json");
    let me: Value = app.get_auth("/v1/staff/me", t["access_token"].as_str().expect("a")).await.json().await.expect("j");
    let roles: Vec<&str> =
        me["staff"]["memberships"].as_array().expect("m").iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["cashier", "store_manager"]);
}

async fn terminal_keys_work_until_revoked(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let store = owners_store(&app).await;
    let path = format!("/v1/stores/{}/terminals", store.id);
    let res = app.post_auth(&path, &owner, json!({"name": "Till 1"})).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    let key = created["api_key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("stp_"));
    let id = created["terminal"]["id"].as_str().expect("id").to_owned();

    let session = app.get_auth(&format!("/v1/pos/stores/{}/session", store.id), &key).await;
    assert_eq!(session.status(), 200);
    let body: Value = session.json().await.expect("json");
    assert_eq!(body["actor"]["kind"], "terminal");
    assert_eq!(body["actor"]["name"], "Till 1");

    let list: Value = app.get_auth(&path, &owner).await.json().await.expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert!(list[0].get("api_key").is_none(), "the key is never shown again");
    assert!(key.starts_with(list[0]["key_prefix"].as_str().expect("prefix")));

    // A wrong secret for the right terminal id is refused.
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    let res = app.get_auth(&format!("/v1/pos/stores/{}/session", store.id), &forged).await;
    assert_problem(res, 401, "unauthorized").await;

    // Renamed, the key still works and the counter shows the new name.
    let rename = |name: &str| {
        app.client.patch(app.url(&format!("{path}/{id}"))).bearer_auth(&owner).json(&json!({"name": name})).send()
    };
    assert_problem(rename("  ").await.expect("r"), 422, "validation_failed").await;
    let renamed = rename("Till by the door").await.expect("r");
    assert_eq!(renamed.status(), 200);
    let session = app.get_auth(&format!("/v1/pos/stores/{}/session", store.id), &key).await;
    assert_eq!(session.json::<Value>().await.expect("json")["actor"]["name"], "Till by the door");

    let res = app.client.delete(app.url(&format!("{path}/{id}"))).bearer_auth(&owner).send().await.expect("r");
    assert_eq!(res.status(), 204);
    let res = app.get_auth(&format!("/v1/pos/stores/{}/session", store.id), &key).await;
    assert_problem(res, 401, "unauthorized").await;
    let res = app.client.delete(app.url(&format!("{path}/{id}"))).bearer_auth(&owner).send().await.expect("r");
    assert_problem(res, 404, "not_found").await;
    assert_problem(rename("Gone").await.expect("r"), 404, "not_found").await;
}

async fn jwks_publishes_the_signing_key(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let jwks: Value =
        app.client.get(app.url("/.well-known/jwks.json")).send().await.expect("r").json().await.expect("j");
    let header = jsonwebtoken::decode_header(&owner).expect("header");
    let kid = header.kid.expect("kid");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert!(jwks["keys"].as_array().expect("keys").iter().any(|k| k["kid"] == kid.as_str()));
}

/// Limits answer 429 with Retry-After: sign-in per account, and POS calls per
/// terminal key.
#[tokio::test]
async fn rate_limits_answer_429() {
    let app = spawn_app_with(
        DatabaseBackend::Sqlite,
        "[rate_limits]\nlogin_per_account = { count = 3, period_secs = 3600 }\n\
         pos_per_terminal = { count = 2, period_secs = 3600 }\n",
    )
    .await;
    for _ in 0..3 {
        let res =
            app.post_json("/v1/auth/customers/login", json!({"email": "x@y.test", "password": "whatever pw"})).await;
        assert_eq!(res.status(), 401);
    }
    let res = app.post_json("/v1/auth/customers/login", json!({"email": "X@y.test", "password": "whatever pw"})).await;
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=1200).contains(&retry), "{retry}");
    assert_problem(res, 429, "rate_limited").await;

    let owner = app.owner_token().await;
    let store = owners_store(&app).await;
    let created: Value = app
        .post_auth(&format!("/v1/stores/{}/terminals", store.id), &owner, json!({"name": "Till"}))
        .await
        .json()
        .await
        .expect("json");
    let key = created["api_key"].as_str().expect("key");
    let session = format!("/v1/pos/stores/{}/session", store.id);
    assert_eq!(app.get_auth(&session, key).await.status(), 200);
    assert_eq!(app.get_auth(&session, key).await.status(), 200);
    assert_problem(app.get_auth(&session, key).await, 429, "rate_limited").await;
}

/// With the Redis backend, limits hold across two app instances.
#[tokio::test]
async fn redis_rate_limits_are_shared_between_instances() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let extra = format!(
        "[cache]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{prefix}\"\n\
         [rate_limits]\nlogin_per_account = {{ count = 4, period_secs = 3600 }}\n"
    );
    let a = spawn_app_with(DatabaseBackend::Sqlite, &extra).await;
    let b = spawn_app_with(DatabaseBackend::Sqlite, &extra).await;
    let body = json!({"email": "shared@y.test", "password": "whatever pw"});
    for app in [&a, &b, &a, &b] {
        assert_eq!(app.post_json("/v1/auth/customers/login", body.clone()).await.status(), 401);
    }
    assert_problem(a.post_json("/v1/auth/customers/login", body.clone()).await, 429, "rate_limited").await;
    assert_problem(b.post_json("/v1/auth/customers/login", body).await, 429, "rate_limited").await;
}

/// After `stampede keys rotate` and a restart, tokens signed with the old key
/// still verify, and new tokens carry the new key.
#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid() {
    let app = spawn_app(DatabaseBackend::Sqlite).await;
    let old = app.owner_token().await;
    let old_kid = jsonwebtoken::decode_header(&old).expect("header").kid.expect("kid");
    let new_kid = stampede::auth::keys::KeyRing::rotate(&app.data_dir.path().join("keys")).expect("rotate");
    assert_ne!(old_kid, new_kid);

    // The "restarted" server: same database, same data folder.
    let settings = crate::helpers::test_settings(&app.db, app.data_dir.path(), "");
    let restarted = stampede::startup::Application::build(&settings).await.expect("build");
    let base = format!("http://127.0.0.1:{}", restarted.port());
    tokio::spawn(restarted.run_until_stopped());
    let res = app.client.get(format!("{base}/v1/staff/me")).bearer_auth(&old).send().await.expect("r");
    assert_eq!(res.status(), 200, "a token of the retired key still works");
    let jwks: Value =
        app.client.get(format!("{base}/.well-known/jwks.json")).send().await.expect("r").json().await.expect("j");
    let kids: Vec<&str> = jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{kids:?}");
    let res = app
        .client
        .post(format!("{base}/v1/auth/staff/login"))
        .json(&json!({"email": app.owner.0, "password": "a much better password"}))
        .send()
        .await
        .expect("r");
    let t: Value = res.json().await.expect("json");
    let kid = jsonwebtoken::decode_header(t["access_token"].as_str().expect("a")).expect("h").kid.expect("kid");
    assert_eq!(kid, new_kid);
}

/// A cashier (or anyone who owns no business) cannot found a business; an
/// inviter sends at most `rate_limits.invitations_per_staff` invitations; a
/// staff account tries at most `password_change_per_account` password changes.
async fn only_owners_found_businesses_and_invitations_and_password_changes_are_bounded(backend: DatabaseBackend) {
    let app = spawn_app_with(
        backend,
        "[rate_limits]\ninvitations_per_staff = { count = 2, period_secs = 3600 }\n\
         password_change_per_account = { count = 2, period_secs = 3600 }\n",
    )
    .await;
    let owner = app.owner_token().await;
    let store = owners_store(&app).await;
    let invitations = format!("/v1/businesses/{}/invitations", store.business_id);
    let invite = |email: &str| {
        app.post_auth(&invitations, &owner, json!({"email": email, "role": "cashier", "store_id": store.id}))
    };
    assert_eq!(invite("cash@shop.test").await.status(), 201);
    let cashier = app.accept_invitation("cash@shop.test", "Cas Hier", "till password 1").await;

    let side_hustle = json!({"name": "Side hustle"});
    assert_problem(app.post_auth("/v1/businesses", &cashier, side_hustle.clone()).await, 403, "forbidden").await;
    assert_eq!(app.post_auth("/v1/businesses", &owner, side_hustle).await.status(), 201);

    assert_eq!(invite("second@shop.test").await.status(), 201);
    assert_problem(invite("third@shop.test").await, 429, "rate_limited").await;
    app.mails_to("second@shop.test", "invited you", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(app.mails().iter().all(|m| m.to != "third@shop.test"), "no mail to the third address");

    let change = || {
        let body = json!({"current_password": "not it at all", "new_password": "a brand new password"});
        app.post_auth("/v1/auth/staff/password", &cashier, body)
    };
    assert_problem(change().await, 401, "unauthorized").await;
    assert_problem(change().await, 401, "unauthorized").await;
    assert_problem(change().await, 429, "rate_limited").await;
}

async fn a_staff_password_is_reset_from_the_emailed_link_once(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    app.owner_token().await;
    let email = app.owner.0.clone();
    let login = |password: &str| app.post_json("/v1/auth/staff/login", json!({"email": email, "password": password}));
    let before: Value = login("a much better password").await.json().await.expect("json");
    let old_refresh = before["refresh_token"].as_str().expect("refresh").to_owned();

    // Unknown and known addresses get the same answer; only the known one a mail.
    let unknown = app.post_json("/v1/auth/staff/password-reset", json!({"email": "nobody@shop.test"})).await;
    assert_eq!(unknown.status(), 202);
    let known = app.post_json("/v1/auth/staff/password-reset", json!({"email": email})).await;
    assert_eq!(known.status(), 202);
    let token = app.token_from_mail(&email, "Reset your Stampede password").await;
    assert!(app.mails().iter().all(|m| m.to != "nobody@shop.test"));
    let mail = app.mails_to(&email, "Reset your Stampede password", 1).await;
    assert!(mail[0].text.contains("/staff/reset-password?token="), "{}", mail[0].text);

    let confirm = |token: &str, password: &str| {
        app.post_json("/v1/auth/staff/password-reset/confirm", json!({"token": token, "password": password}))
    };
    assert_problem(confirm(&token, "short").await, 422, "validation_failed").await;
    assert_eq!(confirm(&token, "the reset password").await.status(), 204);
    assert_problem(confirm(&token, "another new password").await, 422, "validation_failed").await;
    // The old password and every session before the reset are gone.
    assert_eq!(login("a much better password").await.status(), 401);
    let refresh = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": old_refresh})).await;
    assert_eq!(refresh.status(), 401);
    let after: Value = login("the reset password").await.json().await.expect("json");
    assert!(after["access_token"].is_string(), "{after}");

    // A customer's reset token never resets a staff password.
    app.verified_customer("pat@example.com", "correct horse battery", "Pat").await;
    app.post_json("/v1/auth/customers/password-reset", json!({"email": "pat@example.com"})).await;
    let customer_token = app.token_from_mail("pat@example.com", "Reset your Stampede password").await;
    assert_problem(confirm(&customer_token, "a staff password now").await, 422, "validation_failed").await;
}
