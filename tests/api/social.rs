//! Google and Apple sign-in against a local JWKS server standing in for the
//! provider (the URLs and client ids are settings).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{App, HttpResponse, HttpServer, web};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app_with};

both_backends!(google_sign_in_links_a_verified_account, google_sign_in_claims_an_address_someone_squatted);

pub struct Provider {
    kid: String,
    key: EncodingKey,
    pub jwks_url: String,
    fetches: Arc<AtomicUsize>,
}

/// A provider with one ES256 key, serving its JWKS on a loopback port and
/// counting how often it is fetched.
pub async fn provider() -> Provider {
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
        .expect("generate");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).expect("pair");
    let point = pair.public_key().as_ref().to_vec();
    let kid = uuid::Uuid::now_v7().simple().to_string();
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let server = HttpServer::new(move || {
        let jwks = jwks.clone();
        let counter = Arc::clone(&counter);
        App::new().route(
            "/certs",
            web::get().to(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = jwks.clone();
                async move { HttpResponse::Ok().json(body) }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Provider {
        kid,
        key: EncodingKey::from_ec_der(der.as_ref()),
        jwks_url: format!("http://127.0.0.1:{port}/certs"),
        fetches,
    }
}

impl Provider {
    pub fn id_token(&self, iss: &str, aud: &str, sub: &str, email: &str, verified: Value) -> String {
        self.sign(&self.kid, iss, aud, sub, email, verified)
    }

    fn sign(&self, kid: &str, iss: &str, aud: &str, sub: &str, email: &str, verified: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let nonce = format!("nonce-{}", uuid::Uuid::now_v7().simple());
        self.sign_claims(
            kid,
            json!({
                "iss": iss, "aud": aud, "sub": sub, "email": email, "email_verified": verified,
                "iat": now, "exp": now + 600, "nonce": nonce,
            }),
        )
    }

    fn sign_claims(&self, kid: &str, claims: Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign")
    }
}

/// What an app sends: the token and the nonce it asked the provider to sign.
pub fn body(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64"))
            .expect("json");
    json!({"id_token": token, "nonce": claims["nonce"]})
}

async fn app_with(google: &Provider, apple: &Provider) -> TestApp {
    app_on(DatabaseBackend::Sqlite, google, apple).await
}

async fn app_on(backend: DatabaseBackend, google: &Provider, apple: &Provider) -> TestApp {
    let extra = format!(
        "[identity.google]\nissuers = [\"https://accounts.google.com\"]\njwks_url = \"{}\"\nclient_ids = [\"g-client\"]\n\
         [identity.apple]\nissuers = [\"https://appleid.apple.com\"]\njwks_url = \"{}\"\nclient_ids = [\"a-client\"]\n",
        google.jwks_url, apple.jwks_url
    );
    spawn_app_with(backend, &extra).await
}

async fn me(app: &TestApp, res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.expect("json");
    app.get_auth("/v1/me", t["access_token"].as_str().expect("a")).await.json().await.expect("json")
}

#[tokio::test]
async fn google_sign_in_creates_links_and_refuses_forgeries() {
    let google = provider().await;
    let apple = provider().await;
    let app = app_with(&google, &apple).await;
    let post = |token: String| app.post_json("/v1/auth/customers/google", body(&token));

    // A new person: an account is created, the email counts as verified.
    let first = me(&app, post(google.id_token(G, "g-client", "g-1", "Gina@Example.com", json!(true))).await).await;
    assert_eq!(first["email"], "gina@example.com");
    assert_eq!(first["email_verified"], true);
    assert_eq!(first["linked"], json!(["google"]));
    // The same Google subject signs in to the same account.
    let again = me(&app, post(google.id_token(G, "g-client", "g-1", "gina@example.com", json!(true))).await).await;
    assert_eq!(again["id"], first["id"]);

    // Refusals.
    let unverified = post(google.id_token(G, "g-client", "g-3", "new@example.com", json!(false))).await;
    assert_problem(unverified, 422, "validation_failed").await;
    for (name, token) in [
        ("wrong audience", google.id_token(G, "someone-else", "g-1", "gina@example.com", json!(true))),
        ("wrong issuer", google.id_token("https://evil.test", "g-client", "g-1", "gina@example.com", json!(true))),
        ("signed by Apple's key", apple.id_token(G, "g-client", "g-1", "gina@example.com", json!(true))),
    ] {
        let res = post(token).await;
        assert_eq!(res.status(), 401, "{name}");
    }
    // Unknown kids refetch the JWKS at most once per 10 s.
    let before = google.fetches.load(Ordering::SeqCst);
    for i in 0..5 {
        let token = google.sign(&format!("unknown-{i}"), G, "g-client", "g-1", "gina@example.com", json!(true));
        assert_eq!(post(token).await.status(), 401);
    }
    let after = google.fetches.load(Ordering::SeqCst);
    assert!(after - before <= 1, "{} refetches", after - before);
}

#[tokio::test]
async fn apple_sign_in_accepts_its_string_booleans() {
    let google = provider().await;
    let apple = provider().await;
    let app = app_with(&google, &apple).await;
    let token = apple.id_token("https://appleid.apple.com", "a-client", "a-1", "ann@example.com", json!("true"));
    let res = app.post_json("/v1/auth/customers/apple", body(&token)).await;
    let profile = me(&app, res).await;
    assert_eq!(profile["linked"], json!(["apple"]));
    // A Google token is not an Apple token.
    let g = google.id_token("https://accounts.google.com", "g-client", "g-9", "x@example.com", json!(true));
    assert_eq!(app.post_json("/v1/auth/customers/apple", body(&g)).await.status(), 401);
}

#[tokio::test]
async fn social_sign_in_is_off_without_client_ids() {
    let app = spawn_app_with(DatabaseBackend::Sqlite, "").await;
    let res =
        app.post_json("/v1/auth/customers/google", json!({"id_token": "a.b.c", "nonce": "0123456789abcdef"})).await;
    assert_problem(res, 401, "unauthorized").await;
}

const G: &str = "https://accounts.google.com";

async fn google_sign_in_links_a_verified_account(backend: DatabaseBackend) {
    let (google, apple) = (provider().await, provider().await);
    let app = app_on(backend, &google, &apple).await;
    let own = app.verified_customer("hal@example.com", "correct horse battery", "Hal").await;
    let token = google.id_token(G, "g-client", "g-2", "hal@example.com", json!(true));
    let linked = me(&app, app.post_json("/v1/auth/customers/google", body(&token)).await).await;
    assert_eq!((linked["name"].as_str(), linked["email_verified"].as_bool()), (Some("Hal"), Some(true)));
    assert_eq!(linked["linked"], json!(["google"]));
    // The owner proved the address: their password and sessions stay.
    let login = json!({"email": "hal@example.com", "password": "correct horse battery"});
    assert_eq!(app.post_json("/v1/auth/customers/login", login).await.status(), 200);
    let refresh = json!({"refresh_token": own["refresh_token"]});
    assert_eq!(app.post_json("/v1/auth/token/refresh", refresh).await.status(), 200);
}

/// Pre-account takeover: someone registers the victim's address with a
/// password of their own and waits for the victim to sign in with Google.
async fn google_sign_in_claims_an_address_someone_squatted(backend: DatabaseBackend) {
    let (google, apple) = (provider().await, provider().await);
    let app = app_on(backend, &google, &apple).await;
    let squat = json!({"email": "victim@gmail.test", "password": "the squatter's password", "name": "Mallory"});
    assert_eq!(app.post_json("/v1/auth/customers/register", squat).await.status(), 202);
    let login = json!({"email": "victim@gmail.test", "password": "the squatter's password"});
    // The squatter cannot use the account: the address was never confirmed.
    assert_problem(app.post_json("/v1/auth/customers/login", login.clone()).await, 403, "email_not_verified").await;
    // A session they might hold (opened before sign-in required a confirmed
    // address) is put in place by hand.
    let squatter = app
        .store
        .find_customer_by_email(&stampede_domain::email::Email::parse("victim@gmail.test").expect("email"))
        .await
        .expect("find")
        .expect("registered");
    let held = "a refresh token the squatter held";
    app.store
        .insert_refresh_token(stampede_domain::identity::NewRefreshToken {
            token_hash: stampede::auth::secret::sha256(held.as_bytes()),
            family_id: uuid::Uuid::now_v7(),
            subject_kind: stampede_domain::identity::SubjectKind::Customer,
            subject_id: squatter.id.0,
            expires_at: chrono::Utc::now() + chrono::Duration::days(30),
        })
        .await
        .expect("session");

    let token = google.id_token(G, "g-client", "g-victim", "victim@gmail.test", json!(true));
    let victim = me(&app, app.post_json("/v1/auth/customers/google", body(&token)).await).await;
    assert_eq!(victim["id"], squatter.id.0.to_string(), "the address's account, now the victim's");
    assert_eq!((victim["email_verified"].as_bool(), &victim["linked"]), (Some(true), &json!(["google"])));
    // Nothing the squatter had opens it any more.
    assert_problem(app.post_json("/v1/auth/customers/login", login).await, 401, "unauthorized").await;
    let refresh = app.post_json("/v1/auth/token/refresh", json!({"refresh_token": held})).await;
    assert_problem(refresh, 401, "unauthorized").await;
}

/// A token signs in with the nonce it carries (as given, or its SHA-256 in
/// hex), once: the same token and nonce again, another nonce, or none, sign
/// nobody in.
#[tokio::test]
async fn a_nonce_binds_the_token_to_one_sign_in() {
    let google = provider().await;
    let apple = provider().await;
    let app = app_with(&google, &apple).await;
    let post = |b: Value| app.post_json("/v1/auth/customers/google", b);
    let token = google.id_token(G, "g-client", "g-n", "nia@example.com", json!(true));
    let mut other = body(&token);
    other["nonce"] = json!("a-different-nonce-0001");
    assert_problem(post(other).await, 401, "unauthorized").await;
    assert_problem(post(json!({"id_token": token})).await, 400, "invalid_json").await;
    assert_eq!(post(body(&token)).await.status(), 200);
    assert_problem(post(body(&token)).await, 401, "unauthorized").await;

    // Apple's way: the app hashes its nonce for the provider and sends us the original.
    let raw = format!("raw-nonce-{}", uuid::Uuid::now_v7().simple());
    let now = chrono::Utc::now().timestamp();
    let hashed = stampede::auth::secret::sha256_hex(raw.as_bytes());
    let token = apple.sign_claims(
        &apple.kid,
        json!({"iss": "https://appleid.apple.com", "aud": "a-client", "sub": "a-n", "email": "ann@example.com",
               "email_verified": "true", "iat": now, "exp": now + 600, "nonce": hashed}),
    );
    let res = app.post_json("/v1/auth/customers/apple", json!({"id_token": token, "nonce": raw})).await;
    assert_eq!(res.status(), 200);
    // A token without a nonce is refused whatever nonce comes with it.
    let bare = google.sign_claims(
        &google.kid,
        json!({"iss": G, "aud": "g-client", "sub": "g-b", "email": "bo@example.com", "email_verified": true,
               "iat": now, "exp": now + 600}),
    );
    assert_problem(post(json!({"id_token": bare, "nonce": "whatever-nonce-0001"})).await, 401, "unauthorized").await;
}
