//! The security log: sign-ins and failed ones, replayed refresh tokens,
//! password changes, terminal keys, in the audit log of the business the
//! account works for.

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::admin::{json_of, shop};
use crate::both_backends;
use crate::helpers::spawn_app;

both_backends!(staff_security_events_reach_their_business_log);

async fn staff_security_events_reach_their_business_log(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store) = shop(&app, &owner).await;
    let invite = json!({"email": "kim@shop.test", "role": "store_manager", "store_id": store});
    assert_eq!(app.post_auth(&format!("/v1/businesses/{bid}/invitations"), &owner, invite).await.status(), 201);
    app.accept_invitation("kim@shop.test", "Kim", "kims password 1").await;

    let wrong = app.post_json("/v1/auth/staff/login", json!({"email": "kim@shop.test", "password": "guess"})).await;
    assert_eq!(wrong.status(), 401);
    let res =
        app.post_json("/v1/auth/staff/login", json!({"email": "kim@shop.test", "password": "kims password 1"})).await;
    let tokens: Value = json_of(res).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    assert_eq!(app.post_json("/v1/auth/token/refresh", refresh.clone()).await.status(), 200);
    assert_eq!(app.post_json("/v1/auth/token/refresh", refresh).await.status(), 401, "a replay");
    let terminal =
        json_of(app.post_auth(&format!("/v1/stores/{store}/terminals"), &access, json!({"name": "Till 1"})).await)
            .await;
    let tid = terminal["terminal"]["id"].as_str().expect("id");
    let gone = app.delete_auth(&format!("/v1/stores/{store}/terminals/{tid}"), &access).await;
    assert_eq!(gone.status(), 204);

    let log = json_of(app.get_auth(&format!("/v1/businesses/{bid}/audit?limit=200"), &owner).await).await;
    let items = log["items"].as_array().expect("items");
    let me = json_of(app.get_auth("/v1/staff/me", &access).await).await["staff"]["id"].clone();
    let find = |action: &str| items.iter().find(|e| e["action"] == action).cloned();
    let failed = find("staff.sign_in_failed").expect("the failed sign-in");
    assert_eq!((failed["resource_id"].clone(), failed["actor_kind"].as_str()), (me.clone(), Some("anonymous")));
    assert_eq!(failed["after"]["ip"], "127.0.0.1");
    let signed_in = find("staff.sign_in").expect("the sign-in");
    assert_eq!((signed_in["actor_id"].clone(), signed_in["resource_id"].clone()), (me.clone(), me.clone()));
    assert_eq!(find("staff.session_replayed").expect("the replay")["resource_id"], me);
    assert_eq!(find("terminal.create").expect("key made")["after"]["name"], "Till 1");
    assert_eq!(find("terminal.revoke").expect("key revoked")["resource_id"], json!(tid));
    for e in items {
        let text = e.to_string();
        assert!(!text.contains("kims password") && !text.contains("guess"), "no password in the log: {text}");
    }
}
