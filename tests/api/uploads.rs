//! Customer uploads on the embedded default: the slot points back at the API,
//! which enforces type, size and ownership. (The S3 path, with presigned URLs,
//! is in `aws.rs`.)

use serde_json::json;
use stampede_domain::ports::ObjectStore;
use stampede_store::DatabaseBackend;
use uuid::Uuid;

use crate::admin::{customer, json_of};
use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

both_backends!(uploads_take_only_issued_slots_once_within_quota_and_go_away);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

#[tokio::test]
async fn customers_upload_private_files_through_the_api_and_only_they_read_them() {
    let app = spawn_app(DatabaseBackend::Sqlite).await;
    let ada = customer(&app, "ada@example.com").await;
    let bob = customer(&app, "bob@example.com").await;

    let slot =
        app.post_auth("/v1/me/uploads", &ada, json!({"content_type": "application/pdf", "size": PDF.len()})).await;
    assert_eq!(slot.status(), 201);
    let slot = json_of(slot).await;
    assert_eq!(slot["direct"], false);
    assert_eq!(slot["method"], "PUT");
    let id = slot["id"].as_str().expect("id").to_owned();
    let url = slot["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("http://stampede.test/v1/me/uploads/{id}?slot=")), "{url}");
    let path = format!("/v1/me/uploads/{id}");
    let slot_path = url.trim_start_matches("http://stampede.test").to_owned();
    let put = |token: &str, ct: &'static str, body: &[u8]| {
        app.client.put(app.url(&slot_path)).bearer_auth(token).header("content-type", ct).body(body.to_vec()).send()
    };

    // Wrong type for the slot, bytes that are not a PDF: refused, nothing stored.
    assert_problem(put(&ada, "image/png", PDF).await.expect("put"), 415, "unsupported_media_type").await;
    assert_problem(put(&ada, "application/pdf", b"<html>").await.expect("put"), 422, "validation_failed").await;
    assert_problem(app.get_auth(&path, &ada).await, 404, "not_found").await;

    assert_eq!(put(&ada, "application/pdf", PDF).await.expect("put").status(), 204);
    let got = app.get_auth(&path, &ada).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/pdf"));
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), PDF);
    // Another customer sees nothing under the same id; the public route does not serve it.
    assert_problem(app.get_auth(&path, &bob).await, 404, "not_found").await;
    let public = app.client.get(app.url(&format!("/v1/objects/public/../private/{id}"))).send().await.expect("get");
    assert_eq!(public.status(), 404);

    // Slots: allowed types only, at most 5 MiB, a real size.
    let ask = |ct: &str, size: u64| app.post_auth("/v1/me/uploads", &ada, json!({"content_type": ct, "size": size}));
    assert_problem(ask("text/html", 10).await, 415, "unsupported_media_type").await;
    assert_problem(ask("image/png", 6 * 1024 * 1024).await, 413, "payload_too_large").await;
    assert_problem(ask("image/png", 0).await, 422, "validation_failed").await;
    assert_problem(
        app.post_json("/v1/me/uploads", json!({"content_type": "image/png", "size": 10})).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(app.get_auth("/v1/me/uploads/not-an-id", &ada).await, 404, "not_found").await;
}

/// The path (with its slot) a slot answer says to PUT to.
fn slot_path(slot: &serde_json::Value) -> String {
    slot["url"].as_str().expect("url").trim_start_matches("http://stampede.test").to_owned()
}

async fn put(app: &TestApp, token: &str, path: &str, body: &[u8]) -> reqwest::Response {
    let req = app.client.put(app.url(path)).bearer_auth(token).header("content-type", "application/pdf");
    req.body(body.to_vec()).send().await.expect("put")
}

async fn ask(app: &TestApp, token: &str, size: usize) -> reqwest::Response {
    app.post_auth("/v1/me/uploads", token, json!({"content_type": "application/pdf", "size": size})).await
}

/// Only slots the API issued, for their customer and size, once each, before
/// they expire; at most `uploads.max_per_customer` files and
/// `max_bytes_per_customer` bytes held; slots rate limited; uploads deleted by
/// their owner, with the account, and after the retention.
async fn uploads_take_only_issued_slots_once_within_quota_and_go_away(backend: DatabaseBackend) {
    let app = spawn_app_with(
        backend,
        "[uploads]\nmax_per_customer = 2\nmax_bytes_per_customer = 200\nretention_days = 30\n\
         [rate_limits]\nuploads_per_customer = { count = 6, period_secs = 3600 }\n",
    )
    .await;
    let ada = customer(&app, "ada@example.com").await;
    let bob = customer(&app, "bob@example.com").await;
    let objects = stampede_store::objects::FileObjects::new(app.data_dir.path().join("objects"));
    let stored = || async { objects.list("private/customers/").await.expect("list").len() };

    // A made-up upload id, or a slot tampered with: nothing is stored.
    let made_up = format!("/v1/me/uploads/{}.pdf", Uuid::now_v7());
    assert_problem(put(&app, &ada, &made_up, PDF).await, 404, "not_found").await;
    assert_problem(put(&app, &ada, &format!("{made_up}?slot=1.99999999999.AAAA"), PDF).await, 404, "not_found").await;
    let first = json_of(ask(&app, &ada, PDF.len()).await).await;
    let path = slot_path(&first);
    let forged = path.replacen(&format!("slot={}.", PDF.len()), &format!("slot={}.", PDF.len() + 1), 1);
    assert_problem(put(&app, &ada, &forged, &[PDF, b" "].concat()).await, 404, "not_found").await;
    // Another customer's token with Ada's slot; a body of another size.
    assert_problem(put(&app, &bob, &path, PDF).await, 404, "not_found").await;
    assert_problem(put(&app, &ada, &path, &PDF[..PDF.len() - 1]).await, 422, "validation_failed").await;
    assert_eq!(stored().await, 0);

    // Once.
    assert_eq!(put(&app, &ada, &path, PDF).await.status(), 204);
    assert_problem(put(&app, &ada, &path, PDF).await, 409, "conflict").await;

    // Two files at most: a third slot is refused until one is deleted.
    let second = json_of(ask(&app, &ada, PDF.len()).await).await;
    assert_eq!(put(&app, &ada, &slot_path(&second), PDF).await.status(), 204);
    assert_problem(ask(&app, &ada, PDF.len()).await, 422, "upload_quota_exceeded").await;
    let listed = json_of(app.get_auth("/v1/me/uploads", &ada).await).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(listed["items"][0]["id"], first["id"]);
    assert_eq!(listed["items"][0]["size"], PDF.len());
    assert_eq!(listed["max_count"], 2);
    let first_path = format!("/v1/me/uploads/{}", first["id"].as_str().expect("id"));
    let delete = |token: &str| app.client.delete(app.url(&first_path)).bearer_auth(token).send();
    assert_problem(delete(&bob).await.expect("delete"), 404, "not_found").await;
    assert_eq!(delete(&ada).await.expect("delete").status(), 204);
    assert_problem(delete(&ada).await.expect("delete"), 404, "not_found").await;
    assert_problem(app.get_auth(&first_path, &ada).await, 404, "not_found").await;
    // Bytes: 200 at most, one file of PDF.len() held.
    assert_problem(ask(&app, &ada, 200).await, 422, "upload_quota_exceeded").await;
    // Slots asked for at once pass the quota each; the bytes that would pass it are refused.
    let (a, b) = (json_of(ask(&app, &ada, PDF.len()).await).await, json_of(ask(&app, &ada, PDF.len()).await).await);
    assert_eq!(put(&app, &ada, &slot_path(&a), PDF).await.status(), 204);
    assert_problem(put(&app, &ada, &slot_path(&b), PDF).await, 422, "upload_quota_exceeded").await;
    // Six slots an hour.
    assert_problem(ask(&app, &ada, PDF.len()).await, 429, "rate_limited").await;
    assert_eq!(stored().await, 2);

    // Bob's upload goes with his account.
    let bobs = json_of(ask(&app, &bob, PDF.len()).await).await;
    assert_eq!(put(&app, &bob, &slot_path(&bobs), PDF).await.status(), 204);
    assert_eq!(stored().await, 3);
    let gone = app.client.delete(app.url("/v1/me")).bearer_auth(&bob).send().await.expect("delete account");
    assert_eq!(gone.status(), 204);
    assert_eq!(stored().await, 2);

    // Retention: nothing is due today; 30 days on, everything is.
    let now = chrono::Utc::now();
    let keep = chrono::Duration::days(30);
    assert_eq!(stampede::sweeps::expire_uploads(&objects, now, keep).await, 0);
    assert_eq!(stampede::sweeps::expire_uploads(&objects, now + chrono::Duration::days(31), keep).await, 2);
    let listed = json_of(app.get_auth("/v1/me/uploads", &ada).await).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "{listed}");
}
