//! Liveness, readiness, metrics, the OpenAPI document, and error rendering.

use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::helpers::{assert_problem, spawn_app};

both_backends!(
    healthz_and_readyz_answer,
    openapi_document_is_served,
    metrics_count_requests,
    unknown_route_is_a_problem,
    wrong_method_is_a_problem,
    request_id_is_echoed_or_made,
);

async fn healthz_and_readyz_answer(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.expect("json")["status"], "ok");
    let res = app.client.get(app.url("/readyz")).send().await.expect("request");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    let expected = match backend {
        DatabaseBackend::Sqlite => "sqlite",
        DatabaseBackend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
}

async fn openapi_document_is_served(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    // What the apps ask first: how people sign in here.
    let config: serde_json::Value =
        app.client.get(app.url("/v1/config")).send().await.expect("request").json().await.expect("json");
    assert_eq!(config, serde_json::json!({"identity": "local", "social": [], "min_password_length": 10}));
    let doc: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.expect("request").json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object(), "the problem schema is documented");
    // A client generated from the document keys operations by id: each id once.
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if let Some(id) = op["operationId"].as_str() {
                ids.entry(id.to_owned()).or_default().push(format!("{method} {path}"));
            }
        }
    }
    let shared: Vec<_> = ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(shared.is_empty(), "operation ids used twice: {shared:?}");
    // The generated client types every answer: each success with a body
    // says what the body is (204 and redirects carry none).
    let mut bare = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for (status, answer) in op["responses"].as_object().into_iter().flatten() {
                if status.starts_with('2')
                    && status != "204"
                    && answer["content"].as_object().is_none_or(|c| c.is_empty())
                {
                    bare.push(format!("{method} {path} {status}"));
                }
            }
        }
    }
    assert!(bare.is_empty(), "successes documented without a body: {bare:?}");
}

async fn metrics_count_requests(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    app.client.get(app.url("/healthz")).send().await.expect("request");
    let text = app.client.get(app.url("/metrics")).send().await.expect("request").text().await.expect("text");
    assert!(text.contains(r#"stampede_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{text}");
    assert!(text.contains("stampede_http_request_duration_seconds_bucket"), "{text}");
    // The embedded database counts what it writes; PostgreSQL keeps its own statistics.
    let counted = text.contains("stampede_db_transactions_total ") && text.contains("stampede_db_rows_written_total ");
    assert_eq!(counted, backend == DatabaseBackend::Sqlite, "{text}");
}

async fn unknown_route_is_a_problem(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/v1/no/such/thing")).send().await.expect("request");
    assert_problem(res, 404, "not_found").await;
}

async fn wrong_method_is_a_problem(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let res = app.client.delete(app.url("/healthz")).send().await.expect("request");
    assert_eq!(res.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    assert_problem(res, 405, "method_not_allowed").await;
}

async fn request_id_is_echoed_or_made(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "pos-7:abc").send().await.expect("request");
    assert_eq!(res.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("pos-7:abc"));
    // An id with characters we will not log is replaced by a fresh one.
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "a b\"c").send().await.expect("request");
    let made = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("header").to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
}

/// Readiness follows the database: 503 with a reason while PostgreSQL refuses
/// connections to our database, 200 again by itself once it accepts them.
#[tokio::test]
async fn readyz_reports_and_recovers_from_a_lost_database() {
    use sqlx::Connection;
    let app = spawn_app(DatabaseBackend::Postgres).await;
    let name = app.db.options.url.rsplit('/').next().expect("db name").to_owned();
    let mut admin = sqlx::PgConnection::connect(&stampede_store::testing::pg_admin_url()).await.expect("admin");
    let exec = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    exec(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).execute(&mut admin).await.expect("block");
    exec(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        .execute(&mut admin)
        .await
        .expect("terminate");

    let res = app.client.get(app.url("/readyz")).send().await.expect("request");
    assert_eq!(res.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body = assert_problem(res, 503, "unavailable").await;
    assert_eq!(body["detail"], "database unreachable");
    // Liveness does not depend on the database.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.expect("request").status(), 200);

    exec(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).execute(&mut admin).await.expect("unblock");
    let res = app.client.get(app.url("/readyz")).send().await.expect("request");
    assert_eq!(res.status(), 200, "recovers without a restart");
}

/// What the embedded default writes holds keys, personal data and reset
/// links: the data folder is owner-only even when it was made with a loose
/// mode, and so are the keys, the database file, mail and uploads.
#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_its_secrets_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let app = crate::helpers::spawn_app_tuned(DatabaseBackend::Sqlite, "", |s| {
        std::fs::set_permissions(&s.data_dir, std::fs::Permissions::from_mode(0o755)).expect("loosen");
    })
    .await;
    let token = crate::admin::customer(&app, "ada@example.com").await;
    let pdf = b"%PDF-1.4\n%%EOF\n";
    let slot = crate::admin::json_of(
        app.post_auth(
            "/v1/me/uploads",
            &token,
            serde_json::json!({"content_type": "application/pdf", "size": pdf.len()}),
        )
        .await,
    )
    .await;
    let path = slot["url"].as_str().expect("url").trim_start_matches("http://stampede.test").to_owned();
    let put = app.client.put(app.url(&path)).bearer_auth(&token).header("content-type", "application/pdf");
    assert_eq!(put.body(pdf.to_vec()).send().await.expect("put").status(), 204);

    let data = app.data_dir.path();
    assert_eq!(mode(data), 0o700, "the data folder");
    let mut secrets: Vec<std::path::PathBuf> = Vec::new();
    for folder in ["keys", "mail"] {
        assert_eq!(mode(&data.join(folder)), 0o700, "{folder}");
        secrets.extend(std::fs::read_dir(data.join(folder)).expect("read").map(|e| e.expect("entry").path()));
    }
    let uploads = std::fs::read_dir(data.join("objects/private/customers")).expect("uploads").next().expect("one");
    secrets.extend(
        std::fs::read_dir(uploads.expect("entry").path().join("uploads")).expect("read").map(|e| e.expect("e").path()),
    );
    // The test database lives in a folder of its own; it is made owner-only all the same.
    secrets.push(std::path::PathBuf::from(&app.db.options.url));
    assert!(secrets.iter().any(|p| p.extension().is_some_and(|x| x == "eml")), "{secrets:?}");
    assert!(secrets.iter().any(|p| p.extension().is_some_and(|x| x == "pdf")), "{secrets:?}");
    for file in &secrets {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}
