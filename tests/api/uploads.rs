//! Customer uploads on the embedded default: the slot points back at the API,
//! which enforces type, size and ownership. (The S3 path, with presigned URLs,
//! is in `aws.rs`.)

use serde_json::json;
use stampede_store::DatabaseBackend;

use crate::admin::{customer, json_of};
use crate::helpers::{assert_problem, spawn_app};

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
    assert_eq!(url, format!("http://stampede.test/v1/me/uploads/{id}"));
    let path = format!("/v1/me/uploads/{id}");
    let put = |token: &str, ct: &'static str, body: &[u8]| {
        app.client.put(app.url(&path)).bearer_auth(token).header("content-type", ct).body(body.to_vec()).send()
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
