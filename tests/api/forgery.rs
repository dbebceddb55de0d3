//! A corpus of forged and broken tokens. Every one answers 401 problem+json, and
//! none a 500. The forgeries are signed with the app's own key (read from its
//! data folder) so that each differs from a valid token in exactly one way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::helpers::{TestApp, assert_problem, spawn_app};

struct Signer {
    kid: String,
    key: EncodingKey,
}

fn app_key(app: &TestApp) -> Signer {
    let dir = app.data_dir.path().join("keys");
    let kid = std::fs::read_to_string(dir.join("active")).expect("active key").trim().to_owned();
    let der = std::fs::read(dir.join(format!("{kid}.p8"))).expect("key file");
    Signer { kid, key: EncodingKey::from_ec_der(&der) }
}

fn other_key() -> EncodingKey {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
        .expect("generate");
    EncodingKey::from_ec_der(der.as_ref())
}

fn claims(sub: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "urn:stampede:local", "sub": sub, "iat": now, "nbf": now, "exp": now + 600,
        "jti": "x", "token_use": "access", "client_id": "stampede-customer"
    })
}

fn sign(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn es256(kid: Option<&str>) -> Header {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = kid.map(str::to_owned);
    h
}

fn unsigned(alg: &str, kid: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

fn with(mut c: Value, key: &str, v: Value) -> Value {
    c[key] = v;
    c
}

async fn corpus(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let t = app.verified_customer("victim@example.com", "correct horse battery", "V").await;
    let real = t["access_token"].as_str().expect("a").to_owned();
    let sub = jsonwebtoken::dangerous::insecure_decode_claims::<Value>(&real).expect("claims")["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let s = app_key(&app);
    let good = claims(&sub);
    let now = chrono::Utc::now().timestamp();

    // The control: a token built here the same way is accepted.
    let control = sign(es256(Some(&s.kid)), &good, &s.key);
    assert_eq!(app.get_auth("/v1/me", &control).await.status(), 200, "the control token must work");

    let hs_key = EncodingKey::from_secret(
        app.client.get(app.url("/.well-known/jwks.json")).send().await.expect("r").text().await.expect("t").as_bytes(),
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(s.kid.clone());
    let es_sig = sign(es256(Some(&s.kid)), &good, &s.key);
    let rs_mislabelled = {
        let parts: Vec<&str> = es_sig.split('.').collect();
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT", "kid": s.kid}).to_string());
        format!("{header}.{}.{}", parts[1], parts[2])
    };
    let tampered = {
        let parts: Vec<&str> = control.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode(with(good.clone(), "sub", json!(uuid::Uuid::now_v7())).to_string());
        format!("{}.{evil}.{}", parts[0], parts[2])
    };
    let id_token = with(with(good.clone(), "token_use", json!("id")), "aud", json!("stampede-customer"));

    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned("none", &s.kid, &good)),
        ("alg None", unsigned("None", &s.kid, &good)),
        ("alg NONE", unsigned("NONE", &s.kid, &good)),
        ("alg nOnE", unsigned("nOnE", &s.kid, &good)),
        ("HS256 keyed with the public JWKS", sign(hs, &good, &hs_key)),
        ("ES256 signature labelled RS256", rs_mislabelled),
        ("missing kid", sign(es256(None), &good, &s.key)),
        ("empty kid", sign(es256(Some("")), &good, &s.key)),
        ("unknown kid", sign(es256(Some("0000")), &good, &s.key)),
        ("right kid, another key", sign(es256(Some(&s.kid)), &good, &other_key())),
        ("wrong iss", sign(es256(Some(&s.kid)), &with(good.clone(), "iss", json!("https://evil.test")), &s.key)),
        ("no iss", sign(es256(Some(&s.kid)), &with(good.clone(), "iss", Value::Null), &s.key)),
        ("wrong client_id", sign(es256(Some(&s.kid)), &with(good.clone(), "client_id", json!("someone-else")), &s.key)),
        (
            "staff client_id on a customer route",
            sign(es256(Some(&s.kid)), &with(good.clone(), "client_id", json!("stampede-staff")), &s.key),
        ),
        ("no client_id", sign(es256(Some(&s.kid)), &with(good.clone(), "client_id", Value::Null), &s.key)),
        ("ID token where an access token is required", sign(es256(Some(&s.kid)), &id_token, &s.key)),
        ("no token_use", sign(es256(Some(&s.kid)), &with(good.clone(), "token_use", Value::Null), &s.key)),
        ("expired", sign(es256(Some(&s.kid)), &with(good.clone(), "exp", json!(now - 120)), &s.key)),
        ("no exp", sign(es256(Some(&s.kid)), &with(good.clone(), "exp", Value::Null), &s.key)),
        ("not yet valid", sign(es256(Some(&s.kid)), &with(good.clone(), "nbf", json!(now + 600)), &s.key)),
        ("tampered payload", tampered),
        ("truncated signature", control[..control.len() - 10].to_owned()),
        ("two segments", control.rsplit_once('.').map(|x| x.0).expect("prefix").to_owned()),
        ("garbage", "not.a.token".to_owned()),
        ("terminal-looking key", "stp_garbage".to_owned()),
    ];
    for (name, token) in &cases {
        let res = app.get_auth("/v1/me", token).await;
        assert_eq!(res.status(), 401, "{name}");
        assert_problem(res, 401, "unauthorized").await;
        let res = app.get_auth("/v1/staff/me", token).await;
        assert_eq!(res.status(), 401, "{name} on a staff route");
    }
    // No credentials, or the wrong scheme.
    assert_problem(app.client.get(app.url("/v1/me")).send().await.expect("r"), 401, "unauthorized").await;
    let basic = app.client.get(app.url("/v1/me")).header("authorization", format!("Basic {control}")).send().await;
    assert_problem(basic.expect("r"), 401, "unauthorized").await;
    // A customer token on a staff route.
    assert_problem(app.get_auth("/v1/staff/me", &control).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn forged_tokens_are_refused_sqlite() {
    corpus(DatabaseBackend::Sqlite).await;
}

#[tokio::test]
async fn forged_tokens_are_refused_postgres() {
    corpus(DatabaseBackend::Postgres).await;
}
