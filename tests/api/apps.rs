//! The web apps served by the binary: pages with a strict CSP and never
//! cached, hashed assets cached as immutable, client routes answered with the
//! app's page, a missing asset a problem.

use stampede_store::DatabaseBackend;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_tuned};

both_backends!(
    the_apps_pages_are_served_with_a_strict_policy_and_never_cached,
    client_routes_answer_the_apps_page,
    hashed_assets_are_immutable_and_a_missing_one_is_a_problem,
    the_root_and_an_apps_bare_name_lead_to_the_app,
    other_origins_get_cors_headers_only_when_configured,
);

async fn the_apps_pages_are_served_with_a_strict_policy_and_never_cached(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    for path in ["/staff/", "/pos/"] {
        let res = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["cache-control"], "no-cache");
        let csp = h["content-security-policy"].to_str().expect("csp");
        for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        let html = res.text().await.expect("body");
        assert!(html.contains(r#"<div id="root"></div>"#), "{path}: {html}");
        assert!(!html.contains("<script>") && !html.contains("<style>"), "no inline code: {html}");
    }
}

async fn client_routes_answer_the_apps_page(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let console = app.client.get(app.url("/staff/")).send().await.expect("request").text().await.expect("body");
    for path in ["/staff/accept-invitation?token=abc", "/staff/sign-in", "/staff/programs/1/rewards"] {
        let res = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text().await.expect("body"), console, "{path}");
    }
    let pos = app.client.get(app.url("/pos/pair")).send().await.expect("request").text().await.expect("body");
    assert_ne!(pos, console, "each app its own page");
}

async fn hashed_assets_are_immutable_and_a_missing_one_is_a_problem(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let html = app.client.get(app.url("/staff/")).send().await.expect("request").text().await.expect("body");
    let script = html.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("a script");
    assert!(script.starts_with("/assets/") && script.ends_with(".js"), "{script}");
    let res = app.client.get(app.url(script)).send().await.expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(res.headers()["content-type"], "text/javascript; charset=utf-8");
    let res = app.client.get(app.url("/assets/nothing-here.js")).send().await.expect("request");
    assert_problem(res, 404, "not_found").await;
}

async fn the_root_and_an_apps_bare_name_lead_to_the_app(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/")).send().await.expect("request");
    assert_eq!(res.status(), 307);
    assert_eq!(res.headers()["location"], "/staff/");
    let res = app.client.get(app.url("/pos")).send().await.expect("request");
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/pos/");
}

/// A preflight from `origin` for a POS write, and a plain read from it.
async fn from_origin(app: &TestApp, origin: &str) -> (reqwest::Response, reqwest::Response) {
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/pos/stores/00000000-0000-0000-0000-000000000000/stamps"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, idempotency-key")
        .send()
        .await
        .expect("preflight");
    let read = app.client.get(app.url("/v1/businesses")).header("origin", origin).send().await.expect("read");
    (preflight, read)
}

async fn other_origins_get_cors_headers_only_when_configured(backend: DatabaseBackend) {
    const SHOP: &str = "https://shop.example.com";
    let allow = |r: &reqwest::Response| r.headers().get("access-control-allow-origin").cloned();
    // The default: no CORS at all.
    let app = spawn_app(backend).await;
    let (preflight, read) = from_origin(&app, SHOP).await;
    assert_eq!(allow(&preflight), None);
    assert_eq!(allow(&read), None);
    assert_eq!(read.status(), 401);

    let app = spawn_app_tuned(backend, "", |s| s.server.cors_origins = vec![SHOP.into()]).await;
    let (preflight, read) = from_origin(&app, SHOP).await;
    assert_eq!(preflight.status(), 200);
    assert_eq!(allow(&preflight).as_ref().map(|v| v.to_str().expect("ascii")), Some(SHOP));
    let methods = preflight.headers().get("access-control-allow-methods").expect("methods").to_str().expect("ascii");
    assert!(methods.contains("POST"), "{methods}");
    assert!(preflight.headers().get("access-control-allow-credentials").is_none(), "bearer tokens, no cookies");
    // An answer, a problem included, carries the header so the page can read it.
    assert_eq!(allow(&read).as_ref().map(|v| v.to_str().expect("ascii")), Some(SHOP));
    assert_problem(read, 401, "unauthorized").await;
    // Any other origin is refused, as a problem.
    let (preflight, _) = from_origin(&app, "https://evil.example.com").await;
    assert_eq!(allow(&preflight), None);
    assert_problem(preflight, 400, "bad_request").await;
}
