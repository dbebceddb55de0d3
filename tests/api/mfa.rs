//! Second factors: set up with an authenticator app, then sign-in is the
//! password and a code (each code counts once) or a recovery code (each
//! works once); a business may require them of its owners and admins.

use serde_json::{Value, json};
use stampede::auth::totp;
use stampede_store::DatabaseBackend;

use crate::admin::{etag_of, json_of, patch, shop};
use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

both_backends!(
    a_second_factor_guards_a_customers_sign_in,
    a_business_that_requires_a_second_factor_limits_its_admins_until_they_set_one_up,
);

/// The code of the step `offset` steps from now.
fn code(secret: &str, offset: i64) -> String {
    let secret = totp::from_base32(secret).expect("base32");
    totp::code(&secret, totp::step_at(chrono::Utc::now().timestamp()) + offset)
}

/// Set up a second factor: (the secret, the recovery codes). Uses the code
/// of the current step.
async fn set_up(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let started = json_of(app.post_auth("/v1/auth/mfa/totp", token, json!({})).await).await;
    let secret = started["secret"].as_str().expect("secret").to_owned();
    assert!(started["otpauth_uri"].as_str().expect("uri").contains(&format!("secret={secret}")));
    let res = app.post_auth("/v1/auth/mfa/totp/confirm", token, json!({"code": code(&secret, 0)})).await;
    assert_eq!(res.status(), 200);
    let codes: Vec<String> = json_of(res).await["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    (secret, codes)
}

async fn challenge(app: &TestApp, path: &str, email: &str, password: &str) -> String {
    let answer = json_of(app.post_json(path, json!({"email": email, "password": password})).await).await;
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer.get("access_token").is_none(), "no tokens before the second factor");
    answer["mfa_token"].as_str().expect("challenge").to_owned()
}

async fn verify(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/v1/auth/mfa/verify", body).await
}

async fn a_second_factor_guards_a_customers_sign_in(backend: DatabaseBackend) {
    // Codes are tried as often as passwords (10 in 15 minutes by default);
    // this test tries more.
    let app = spawn_app_with(backend, "[rate_limits]\nlogin_per_account = { count = 30, period_secs = 900 }\n").await;
    let (email, password) = ("mo@example.com", "mos long password");
    let tokens = app.verified_customer(email, password, "Mo").await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();

    let started = json_of(app.post_auth("/v1/auth/mfa/totp", &access, json!({})).await).await;
    let secret = started["secret"].as_str().expect("secret").to_owned();
    let status = json_of(app.get_auth("/v1/auth/mfa", &access).await).await;
    assert_eq!((status["enabled"].clone(), status["pending"].clone()), (json!(false), json!(true)));
    let wrong = app.post_auth("/v1/auth/mfa/totp/confirm", &access, json!({"code": "000000"})).await;
    assert_problem(wrong, 401, "mfa_code_invalid").await;
    // Codes taken once and kept: computed again, a step may have passed.
    let (first, second) = (code(&secret, 0), code(&secret, 1));
    let ok = app.post_auth("/v1/auth/mfa/totp/confirm", &access, json!({"code": first})).await;
    assert_eq!(ok.status(), 200);
    let recovery: Vec<String> = serde_json::from_value(json_of(ok).await["recovery_codes"].clone()).expect("codes");
    assert_eq!(recovery.len(), 10);
    let status = json_of(app.get_auth("/v1/auth/mfa", &access).await).await;
    assert_eq!((status["enabled"].clone(), status["recovery_codes_left"].clone()), (json!(true), json!(10)));
    let again = app.post_auth("/v1/auth/mfa/totp", &access, json!({})).await;
    assert_problem(again, 409, "conflict").await;

    // Sign-in: the password alone gives a challenge.
    let login = "/v1/auth/customers/login";
    let mfa_token = challenge(&app, login, email, password).await;
    let used = verify(&app, json!({"mfa_token": mfa_token, "code": first})).await;
    assert_problem(used, 401, "mfa_code_invalid").await;
    let forged = verify(&app, json!({"mfa_token": format!("{mfa_token}x"), "code": second})).await;
    assert_problem(forged, 401, "unauthorized").await;
    let res = verify(&app, json!({"mfa_token": mfa_token, "code": second})).await;
    assert_eq!(res.status(), 200);
    let signed_in = json_of(res).await;
    let access = signed_in["access_token"].as_str().expect("access").to_owned();
    assert_eq!(app.get_auth("/v1/me", &access).await.status(), 200);
    let replay = verify(&app, json!({"mfa_token": mfa_token, "code": second})).await;
    assert_problem(replay, 401, "mfa_code_invalid").await;

    // A recovery code works once, however it is spelled.
    let mfa_token = challenge(&app, login, email, password).await;
    let spelled = recovery[0].to_lowercase().replace('-', " ");
    let res = verify(&app, json!({"mfa_token": mfa_token, "recovery_code": spelled})).await;
    assert_eq!(res.status(), 200);
    let res = verify(&app, json!({"mfa_token": mfa_token, "recovery_code": recovery[0]})).await;
    assert_problem(res, 401, "mfa_code_invalid").await;
    let both = verify(&app, json!({"mfa_token": mfa_token})).await;
    assert_problem(both, 422, "validation_failed").await;

    // Off, proven with a recovery code: the password alone signs in again,
    // and every session was signed out.
    let off = |body: Value| app.client.delete(app.url("/v1/auth/mfa/totp")).bearer_auth(&access).json(&body).send();
    assert_problem(off(json!({"recovery_code": "AAAAA-AAAAA"})).await.expect("send"), 401, "mfa_code_invalid").await;
    assert_eq!(off(json!({"recovery_code": recovery[1]})).await.expect("send").status(), 204);
    assert_eq!(
        app.post_json("/v1/auth/token/refresh", json!({"refresh_token": signed_in["refresh_token"]})).await.status(),
        401
    );
    let plain = json_of(app.post_json(login, json!({"email": email, "password": password})).await).await;
    assert!(plain["access_token"].is_string(), "{plain}");

    // An erased account leaves no secret behind.
    let access = plain["access_token"].as_str().expect("access").to_owned();
    set_up(&app, &access).await;
    let id = json_of(app.get_auth("/v1/me", &access).await).await["id"].as_str().expect("id").parse().expect("uuid");
    assert!(app.store.get_mfa(id).await.expect("read").is_some());
    assert_eq!(app.delete_auth("/v1/me", &access).await.status(), 204);
    assert!(app.store.get_mfa(id).await.expect("read").is_none());
}

async fn a_business_that_requires_a_second_factor_limits_its_admins_until_they_set_one_up(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store) = shop(&app, &owner).await;
    let business = format!("/v1/businesses/{bid}");
    let require = |token: String, on: bool| {
        let (app, business) = (&app, business.clone());
        async move {
            let tag = etag_of(&app.get_auth(&business, &token).await);
            patch(app, &business, &token, Some(&tag), json!({"require_mfa": on})).await
        }
    };
    assert_problem(require(owner.clone(), true).await, 409, "conflict").await;
    let (owner_secret, _) = set_up(&app, &owner).await;
    let res = require(owner.clone(), true).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_of(res).await["require_mfa"], true);

    // An admin who joins is limited to setting it up.
    let invite = json!({"email": "ada@shop.test", "role": "admin"});
    assert_eq!(app.post_auth(&format!("{business}/invitations"), &owner, invite).await.status(), 201);
    let token = app.token_from_mail("ada@shop.test", "invited you").await;
    let body = json!({"token": token, "name": "Ada", "password": "adas password 1"});
    let tokens = json_of(app.post_json("/v1/auth/staff/invitations/accept", body).await).await;
    assert_eq!(tokens["mfa_setup_required"], true);
    let ada = tokens["access_token"].as_str().expect("access").to_owned();
    assert_problem(app.get_auth(&business, &ada).await, 403, "mfa_setup_required").await;
    assert_eq!(json_of(app.get_auth("/v1/auth/mfa", &ada).await).await["required"], true);
    let pos =
        app.post_auth(&format!("/v1/pos/stores/{store}/stamps"), &ada, json!({"card_code": "X", "count": 1})).await;
    assert_eq!(pos.status(), 403, "not at the counter either");
    // Signing in again changes nothing until a factor is on.
    let login = json!({"email": "ada@shop.test", "password": "adas password 1"});
    let again = json_of(app.post_json("/v1/auth/staff/login", login.clone()).await).await;
    assert_eq!(again["mfa_setup_required"], true);

    let (ada_secret, ada_codes) = set_up(&app, &ada).await;
    let refreshed =
        json_of(app.post_json("/v1/auth/token/refresh", json!({"refresh_token": tokens["refresh_token"]})).await).await;
    assert!(refreshed.get("mfa_setup_required").is_none(), "{refreshed}");
    let ada = refreshed["access_token"].as_str().expect("access").to_owned();
    assert_eq!(app.get_auth(&business, &ada).await.status(), 200);
    // It stays on while the business requires it, and only an owner changes the rule.
    let off =
        app.client.delete(app.url("/v1/auth/mfa/totp")).bearer_auth(&ada).json(&json!({"recovery_code": ada_codes[0]}));
    assert_problem(off.send().await.expect("send"), 409, "conflict").await;
    assert_problem(require(ada.clone(), false).await, 403, "forbidden").await;
    // Her next sign-in takes the code.
    let mfa_token = challenge(&app, "/v1/auth/staff/login", "ada@shop.test", "adas password 1").await;
    let res = verify(&app, json!({"mfa_token": mfa_token, "code": code(&ada_secret, 1)})).await;
    assert_eq!(res.status(), 200);
    assert!(json_of(res).await.get("mfa_setup_required").is_none());

    // A cashier is not asked.
    let invite = json!({"email": "cas@shop.test", "role": "cashier", "store_id": store});
    assert_eq!(app.post_auth(&format!("{business}/invitations"), &owner, invite).await.status(), 201);
    app.accept_invitation("cas@shop.test", "Cas", "cass password 1").await;
    let cas = json_of(
        app.post_json("/v1/auth/staff/login", json!({"email": "cas@shop.test", "password": "cass password 1"})).await,
    )
    .await;
    assert!(cas["access_token"].is_string() && cas.get("mfa_setup_required").is_none(), "{cas}");

    // The owner's next sign-in takes a code too; the log has both set-ups and
    // the failed try, and no secret.
    let (email, _) = &app.owner;
    let mfa_token = challenge(&app, "/v1/auth/staff/login", email, "a much better password").await;
    assert_problem(verify(&app, json!({"mfa_token": mfa_token, "code": "123456"})).await, 401, "mfa_code_invalid")
        .await;
    let res = verify(&app, json!({"mfa_token": mfa_token, "code": code(&owner_secret, 1)})).await;
    assert_eq!(res.status(), 200);
    let log = json_of(app.get_auth(&format!("{business}/audit?limit=200"), &owner).await).await;
    let actions: Vec<&str> =
        log["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "staff.mfa_enabled").count(), 2, "{actions:?}");
    assert!(actions.contains(&"staff.mfa_failed"), "{actions:?}");
    assert!(!log.to_string().contains(&owner_secret) && !log.to_string().contains(&ada_secret));
}
