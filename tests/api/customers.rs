//! Customer identity: registration, verification, sign-in, sessions, reset,
//! profile, deletion, export.

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_tuned};

both_backends!(
    register_verify_login_and_profile,
    registration_does_not_reveal_existing_accounts,
    login_failures_look_alike,
    refresh_rotates_and_replay_revokes_the_family,
    logout_revokes,
    password_reset_flow,
    profile_update_validation,
    delete_account_erases_and_signs_out,
    export_contains_the_profile,
    bad_bodies_are_problems,
    registration_limits_count_the_real_client_and_the_inbox,
    consent_is_given_to_one_business_at_a_time,
);

async fn register(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json("/v1/auth/customers/register", json!({"email": email, "password": password, "name": "Ada Lovelace"}))
        .await
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json("/v1/auth/customers/login", json!({"email": email, "password": password})).await
}

/// Register and follow the confirmation link.
async fn signed_up(app: &TestApp, email: &str, password: &str) {
    assert_eq!(register(app, email, password).await.status(), 202);
    let token = app.token_from_mail(email, "Confirm your email").await;
    assert_eq!(app.post_json("/v1/auth/customers/verify-email", json!({"token": token})).await.status(), 204);
}

async fn tokens(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn register_verify_login_and_profile(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let res = register(&app, "Ada@Example.com", "correct horse battery").await;
    assert_eq!(res.status(), 202);
    let token = app.token_from_mail("ada@example.com", "Confirm your email").await;
    let mail = app.mails().into_iter().find(|m| m.subject.contains("Confirm")).expect("mail");
    assert!(mail.text.contains("http://stampede.test/verify-email?token="), "{}", mail.text);
    assert!(mail.html.contains("Ada Lovelace"));

    // The password alone does not open an unconfirmed account: whoever knows
    // it is told so, and a fresh link is mailed.
    let res = login(&app, "ada@example.com", "correct horse battery").await;
    let body = assert_problem(res, 403, "email_not_verified").await;
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("confirm")), "{body}");
    let links = app.mails_to("ada@example.com", "Confirm your email", 2).await;
    assert_ne!(crate::helpers::token_in(&links[0]), crate::helpers::token_in(&links[1]));
    // A wrong password gets the ordinary answer, revealing nothing.
    assert_problem(login(&app, "ada@example.com", "wrong horse battery").await, 401, "unauthorized").await;

    assert_eq!(app.post_json("/v1/auth/customers/verify-email", json!({"token": token})).await.status(), 204);
    let t = tokens(login(&app, "ada@example.com", "correct horse battery").await).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    let access = t["access_token"].as_str().expect("access");
    let me: Value = app.get_auth("/v1/me", access).await.json().await.expect("json");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["email_verified"], true);
    assert!(me.get("marketing_consent").is_none(), "consent is given per business, not to the platform");

    // A token works once.
    let res = app.post_json("/v1/auth/customers/verify-email", json!({"token": token})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "token");
}

async fn registration_does_not_reveal_existing_accounts(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let first = register(&app, "eve@example.com", "correct horse battery").await;
    let (s1, b1) = (first.status(), first.text().await.expect("body"));
    let token = app.token_from_mail("eve@example.com", "Confirm your email").await;
    assert_eq!(app.post_json("/v1/auth/customers/verify-email", json!({"token": token})).await.status(), 204);
    let again = register(&app, "eve@example.com", "another password here").await;
    let (s2, b2) = (again.status(), again.text().await.expect("body"));
    assert_eq!((s1, &b1), (s2, &b2), "the same answer either way");
    let mails = app.mails_to("eve@example.com", "", 2).await;
    assert_eq!(app.mails().len(), 2);
    assert!(mails[1].subject.contains("Someone tried to sign up"), "{:?}", mails[1]);
    // The original password still works; the second attempt changed nothing.
    assert_eq!(login(&app, "eve@example.com", "correct horse battery").await.status(), 200);
    assert_eq!(login(&app, "eve@example.com", "another password here").await.status(), 401);
}

async fn login_failures_look_alike(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    register(&app, "bob@example.com", "correct horse battery").await;
    let wrong = login(&app, "bob@example.com", "wrong password!!").await;
    let b1 = assert_problem(wrong, 401, "unauthorized").await;
    let unknown = login(&app, "nobody@example.com", "wrong password!!").await;
    let b2 = assert_problem(unknown, 401, "unauthorized").await;
    assert_eq!(b1, b2);
    let malformed = login(&app, "not an email", "wrong password!!").await;
    assert_eq!(assert_problem(malformed, 401, "unauthorized").await, b1);
}

async fn refresh_rotates_and_replay_revokes_the_family(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "kim@example.com", "correct horse battery").await;
    let t1 = tokens(login(&app, "kim@example.com", "correct horse battery").await).await;
    let r1 = t1["refresh_token"].as_str().expect("refresh").to_owned();
    let t2 = tokens(app.post_json("/v1/auth/token/refresh", json!({"refresh_token": r1})).await).await;
    let r2 = t2["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(r1, r2, "rotated");
    assert_eq!(app.get_auth("/v1/me", t2["access_token"].as_str().expect("a")).await.status(), 200);
    // Replaying r1 is refused and revokes the family: r2 dies too.
    let replay = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": r1})).await;
    assert_problem(replay, 401, "unauthorized").await;
    let after = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": r2})).await;
    assert_problem(after, 401, "unauthorized").await;
    // Another sign-in is a separate family and unaffected.
    let t3 = tokens(login(&app, "kim@example.com", "correct horse battery").await).await;
    let ok = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": t3["refresh_token"]})).await;
    assert_eq!(ok.status(), 200);
}

async fn logout_revokes(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "lou@example.com", "correct horse battery").await;
    let t = tokens(login(&app, "lou@example.com", "correct horse battery").await).await;
    let res = app.post_json("/v1/auth/logout", json!({"refresh_token": t["refresh_token"]})).await;
    assert_eq!(res.status(), 204);
    let res = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": t["refresh_token"]})).await;
    assert_problem(res, 401, "unauthorized").await;
    // Logging out an unknown token answers the same.
    assert_eq!(app.post_json("/v1/auth/logout", json!({"refresh_token": "nope"})).await.status(), 204);
}

async fn password_reset_flow(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "max@example.com", "correct horse battery").await;
    let session = tokens(login(&app, "max@example.com", "correct horse battery").await).await;
    let unknown = app.post_json("/v1/auth/customers/password-reset", json!({"email": "who@example.com"})).await;
    assert_eq!(unknown.status(), 202, "no hint that the address is unknown");
    let res = app.post_json("/v1/auth/customers/password-reset", json!({"email": "MAX@example.com"})).await;
    assert_eq!(res.status(), 202);
    // Queued mails go out in order: once max's is written, one for the
    // unknown address would have been too.
    let token = app.token_from_mail("max@example.com", "Reset your Stampede password").await;
    assert_eq!(app.mails().iter().filter(|m| m.subject.contains("Reset")).count(), 1);

    let short =
        app.post_json("/v1/auth/customers/password-reset/confirm", json!({"token": token, "password": "x"})).await;
    assert_problem(short, 422, "validation_failed").await;
    let res = app
        .post_json(
            "/v1/auth/customers/password-reset/confirm",
            json!({"token": token, "password": "new horse battery"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(login(&app, "max@example.com", "correct horse battery").await.status(), 401);
    assert_eq!(login(&app, "max@example.com", "new horse battery").await.status(), 200);
    // Every earlier session was signed out.
    let res = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": session["refresh_token"]})).await;
    assert_eq!(res.status(), 401);
}

async fn profile_update_validation(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "pat@example.com", "correct horse battery").await;
    let t = tokens(login(&app, "pat@example.com", "correct horse battery").await).await;
    let access = t["access_token"].as_str().expect("a");
    let patch = |body: Value| app.client.patch(app.url("/v1/me")).bearer_auth(access).json(&body).send();
    let res = patch(json!({"name": "Pat Doe", "phone": "+49 30 123", "preferences": {"lang": "de"}})).await.expect("r");
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.expect("json");
    assert_eq!((me["name"].as_str(), me["phone"].as_str()), (Some("Pat Doe"), Some("+4930123")));
    let res = patch(json!({"phone": null})).await.expect("r");
    assert_eq!(res.json::<Value>().await.expect("json")["phone"], Value::Null);
    let bad = assert_problem(
        patch(json!({"name": " ", "phone": "call me", "preferences": [1]})).await.expect("r"),
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        bad["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["name", "phone", "preferences"], "{bad}");
    // Mass assignment is refused: unknown fields are a 400, and change nothing.
    let res = patch(json!({"email": "evil@example.com"})).await.expect("r");
    let body = assert_problem(res, 400, "invalid_json").await;
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("unknown field")), "{body}");
    let me: Value = app.get_auth("/v1/me", access).await.json().await.expect("json");
    assert_eq!(me["email"], "pat@example.com");
}

async fn delete_account_erases_and_signs_out(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "del@example.com", "correct horse battery").await;
    let t = tokens(login(&app, "del@example.com", "correct horse battery").await).await;
    let access = t["access_token"].as_str().expect("a");
    let res = app.client.delete(app.url("/v1/me")).bearer_auth(access).send().await.expect("r");
    assert_eq!(res.status(), 204);
    assert_eq!(login(&app, "del@example.com", "correct horse battery").await.status(), 401);
    let res = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": t["refresh_token"]})).await;
    assert_eq!(res.status(), 401);
    // The access token issued before the erasure opens nothing any more:
    // not the profile, not the cards and their codes.
    for path in ["/v1/me", "/v1/me/cards", "/v1/me/transactions", "/v1/me/uploads"] {
        assert_problem(app.get_auth(path, access).await, 401, "unauthorized").await;
    }
    // The address can register again, as a new person.
    assert_eq!(register(&app, "del@example.com", "correct horse battery").await.status(), 202);
    app.mails_to("del@example.com", "Confirm", 2).await;
}

async fn export_contains_the_profile(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    signed_up(&app, "exp@example.com", "correct horse battery").await;
    let t = tokens(login(&app, "exp@example.com", "correct horse battery").await).await;
    let res = app.get_auth("/v1/me/export", t["access_token"].as_str().expect("a")).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-disposition").is_some());
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["profile"]["email"], "exp@example.com");
    assert!(body["exported_at"].is_string());
}

/// Malformed JSON, a wrong content type and an oversized body are 4xx problems
/// that change nothing.
async fn bad_bodies_are_problems(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let url = app.url("/v1/auth/customers/register");
    let res = app.client.post(&url).header("content-type", "application/json").body("{\"email\": ").send().await;
    assert_problem(res.expect("r"), 400, "invalid_json").await;
    let res = app.client.post(&url).header("content-type", "text/plain").body("hello").send().await;
    assert_problem(res.expect("r"), 415, "unsupported_media_type").await;
    let big = format!("{{\"email\": \"{}\"}}", "a".repeat(70_000));
    let res = app.client.post(&url).header("content-type", "application/json").body(big).send().await;
    assert_problem(res.expect("r"), 413, "payload_too_large").await;
    let res = app.client.post(&url).json(&json!({"email": 5})).send().await;
    assert_problem(res.expect("r"), 400, "invalid_json").await;
    let res = app.post_json("/v1/auth/customers/register", json!({"email": "x", "password": "y", "name": ""})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(3), "{body}");
    assert!(app.mails().is_empty(), "nothing happened");
}

/// Behind a trusted proxy, registrations count per client: the right-most
/// `X-Forwarded-For` address the proxy wrote, never what the client put to its
/// left, IPv6 by its /64; and per inbox, whatever the client.
async fn registration_limits_count_the_real_client_and_the_inbox(backend: DatabaseBackend) {
    let app = spawn_app_tuned(backend, "[rate_limits]\nregister_per_ip = { count = 2, period_secs = 3600 }\n", |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".into(), "::1".into()];
    })
    .await;
    let register_from = |email: String, forwarded: String| {
        let body = json!({"email": email, "password": "correct horse battery", "name": "Ada"});
        let req = app.client.post(app.url("/v1/auth/customers/register")).header("x-forwarded-for", forwarded);
        async move { req.json(&body).send().await.expect("request") }
    };
    // A fresh left-most claim each time is still the one client the proxy saw.
    for n in 0..2 {
        let res = register_from(format!("c{n}@example.com"), format!("1.1.1.{n}, 198.51.100.9")).await;
        assert_eq!(res.status(), 202);
    }
    let res = register_from("c2@example.com".into(), "1.1.1.2, 198.51.100.9".into()).await;
    assert_problem(res, 429, "rate_limited").await;
    // Another client behind the same proxy is not held back.
    assert_eq!(register_from("c3@example.com".into(), "198.51.100.10".into()).await.status(), 202);
    // IPv6: one /64 is one client.
    for (n, addr) in ["2001:db8:1:2::1", "2001:db8:1:2::2"].into_iter().enumerate() {
        assert_eq!(register_from(format!("v{n}@example.com"), addr.into()).await.status(), 202);
    }
    let res = register_from("v2@example.com".into(), "2001:db8:1:2:ffff::3".into()).await;
    assert_problem(res, 429, "rate_limited").await;
    assert_eq!(register_from("v3@example.com".into(), "2001:db8:1:3::1".into()).await.status(), 202);
    // One inbox gets at most three mails an hour, from however many clients.
    for n in 0..3 {
        let res = register_from("inbox@example.com".into(), format!("203.0.113.{n}")).await;
        assert_eq!(res.status(), 202);
    }
    let res = register_from("inbox@example.com".into(), "203.0.113.9".into()).await;
    assert_problem(res, 429, "rate_limited").await;
    assert_eq!(app.mails_to("inbox@example.com", "", 3).await.len(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mails().iter().filter(|m| m.to == "inbox@example.com").count(), 3, "no fourth mail");
}

/// Marketing consent goes to one business at a time: given when joining its
/// program (or later, per business), it lists the customer in that
/// business's customer export only.
async fn consent_is_given_to_one_business_at_a_time(backend: DatabaseBackend) {
    use stampede_domain::ids::BusinessId;
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let mut shops = Vec::new();
    for _ in 0..2 {
        let (bid, _, _) = crate::admin::shop(&app, &owner).await;
        let program =
            app.post_auth(&format!("/v1/businesses/{bid}/programs"), &owner, crate::admin::stamp_program()).await;
        let pid = crate::admin::json_of(program).await["id"].as_str().expect("id").to_owned();
        shops.push((bid, pid));
    }
    let customer = crate::admin::customer(&app, "cleo@example.com").await;
    let (yes, no) = (&shops[0], &shops[1]);
    let join = async |pid: &str, body: Value| app.post_auth(&format!("/v1/programs/{pid}/join"), &customer, body).await;
    assert_eq!(join(&yes.1, json!({"marketing_consent": true})).await.status(), 201);
    assert_eq!(join(&no.1, json!({})).await.status(), 201);
    let consenting = async |bid: &str| {
        let b = BusinessId(bid.parse().expect("uuid"));
        app.store.consenting_customers(b, None, 10).await.expect("consenting").len()
    };
    assert_eq!((consenting(&yes.0).await, consenting(&no.0).await), (1, 0), "only the business agreed to");

    let listed = crate::admin::json_of(app.get_auth("/v1/me/consents", &customer).await).await;
    let answer =
        |bid: &str| listed["items"].as_array().expect("items").iter().find(|i| i["business_id"] == bid).cloned();
    assert_eq!(answer(&yes.0).expect("asked")["marketing"], true);
    let unasked = answer(&no.0).expect("a card there");
    assert_eq!((unasked["marketing"].clone(), unasked["updated_at"].clone()), (json!(false), Value::Null));

    let given = app.client.put(app.url(&format!("/v1/me/consents/{}", no.0))).bearer_auth(&customer);
    let given = given.json(&json!({"marketing": true})).send().await.expect("put");
    assert_eq!(crate::admin::json_of(given).await["marketing"], true);
    assert_eq!(consenting(&no.0).await, 1);
    // No consent to a business whose card the customer does not hold.
    let stranger = app.post_auth("/v1/businesses", &owner, json!({"name": "Stranger"})).await;
    let stranger = crate::admin::json_of(stranger).await["id"].as_str().expect("id").to_owned();
    let refused = app.client.put(app.url(&format!("/v1/me/consents/{stranger}"))).bearer_auth(&customer);
    assert_problem(refused.json(&json!({"marketing": true})).send().await.expect("put"), 404, "not_found").await;
}
