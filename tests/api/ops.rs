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
    let doc: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.expect("request").json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object(), "the problem schema is documented");
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
