//! Staff invitations as records: listed, revoked, re-checked when accepted,
//! used only by the request that gives the role, and in the audit log.

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::admin::{json_of, shop};
use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, spawn_app, token_in};

both_backends!(
    invitations_are_listed_revoked_and_audited,
    a_request_refused_for_its_fields_leaves_the_invitation_usable,
    an_invitation_dies_with_its_senders_right_to_give_the_role,
    invitations_are_seen_and_revoked_only_by_who_may_give_their_role,
);

const ACCEPT: &str = "/v1/auth/staff/invitations/accept";

async fn invite(app: &TestApp, token: &str, bid: &str, body: Value) -> Value {
    let res = app.post_auth(&format!("/v1/businesses/{bid}/invitations"), token, body).await;
    assert_eq!(res.status(), 201);
    json_of(res).await
}

async fn actions(app: &TestApp, token: &str, bid: &str) -> Vec<String> {
    let log = json_of(app.get_auth(&format!("/v1/businesses/{bid}/audit"), token).await).await;
    log["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str().map(str::to_owned)).collect()
}

async fn invitations_are_listed_revoked_and_audited(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store) = shop(&app, &owner).await;
    let sent =
        invite(&app, &owner, &bid, json!({"email": "cas@shop.test", "role": "cashier", "store_id": store})).await;
    assert_eq!(sent["status"], "pending");
    let id = sent["id"].as_str().expect("id");
    let list = json_of(app.get_auth(&format!("/v1/businesses/{bid}/invitations"), &owner).await).await;
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["email"], "cas@shop.test");
    assert!(list["items"][0].get("token").is_none() && list["items"][0].get("token_hash").is_none());

    let revoke = app.delete_auth(&format!("/v1/businesses/{bid}/invitations/{id}"), &owner).await;
    assert_eq!(revoke.status(), 204);
    let list = json_of(app.get_auth(&format!("/v1/businesses/{bid}/invitations"), &owner).await).await;
    assert_eq!(list["items"][0]["status"], "revoked");
    let token = app.token_from_mail("cas@shop.test", "invited you").await;
    let late = app.post_json(ACCEPT, json!({"token": token, "name": "Cas", "password": "till password 1"})).await;
    assert_problem(late, 422, "validation_failed").await;
    let again = app.delete_auth(&format!("/v1/businesses/{bid}/invitations/{id}"), &owner).await;
    assert_problem(again, 409, "conflict").await;

    // A second one, accepted: every step is in the business's audit log.
    invite(&app, &owner, &bid, json!({"email": "dee@shop.test", "role": "cashier", "store_id": store})).await;
    app.accept_invitation("dee@shop.test", "Dee", "tills password 2").await;
    let seen = actions(&app, &owner, &bid).await;
    for action in ["invitation.create", "invitation.revoke", "invitation.accept"] {
        assert!(seen.iter().any(|a| a == action), "{action} in {seen:?}");
    }
    let list = json_of(app.get_auth(&format!("/v1/businesses/{bid}/invitations"), &owner).await).await;
    assert_eq!(list["items"][0]["status"], "accepted");
}

async fn a_request_refused_for_its_fields_leaves_the_invitation_usable(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store) = shop(&app, &owner).await;
    invite(&app, &owner, &bid, json!({"email": "new@shop.test", "role": "cashier", "store_id": store})).await;
    let token = app.token_from_mail("new@shop.test", "invited you").await;
    // Someone holding the link tries it bare: refused, and nothing used up.
    let bare = app.post_json(ACCEPT, json!({"token": token})).await;
    assert_problem(bare, 422, "validation_failed").await;
    let weak = app.post_json(ACCEPT, json!({"token": token, "name": "New", "password": "short"})).await;
    assert_problem(weak, 422, "validation_failed").await;
    let ok = app.post_json(ACCEPT, json!({"token": token, "name": "New", "password": "newcomers password"})).await;
    assert_eq!(ok.status(), 200, "the invitee still gets in");
    let twice = app.post_json(ACCEPT, json!({"token": token, "name": "New", "password": "newcomers password"})).await;
    assert_problem(twice, 422, "validation_failed").await;
}

async fn an_invitation_dies_with_its_senders_right_to_give_the_role(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, _) = shop(&app, &owner).await;
    invite(&app, &owner, &bid, json!({"email": "adm@shop.test", "role": "admin"})).await;
    let admin = app.accept_invitation("adm@shop.test", "Adm", "admins password 1").await;
    // The admin invites a second address of their own, then is removed.
    invite(&app, &admin, &bid, json!({"email": "adm.spare@shop.test", "role": "admin"})).await;
    let me = json_of(app.get_auth("/v1/staff/me", &admin).await).await;
    let admin_id = me["staff"]["id"].as_str().expect("id").to_owned();
    let removed = app.delete_auth(&format!("/v1/businesses/{bid}/staff/{admin_id}"), &owner).await;
    assert_eq!(removed.status(), 204);
    let token = token_in(&app.mails_to("adm.spare@shop.test", "invited you", 1).await[0]);
    let back = app.post_json(ACCEPT, json!({"token": token, "name": "Spare", "password": "spare password 1"})).await;
    let body = assert_problem(back, 422, "validation_failed").await;
    assert!(body["errors"][0]["message"].as_str().expect("m").contains("no longer valid"), "{body}");
    let staff = json_of(app.get_auth(&format!("/v1/businesses/{bid}/staff"), &owner).await).await;
    let emails: Vec<&str> = staff["items"].as_array().expect("i").iter().filter_map(|s| s["email"].as_str()).collect();
    assert!(!emails.contains(&"adm.spare@shop.test"), "{emails:?}");
}

async fn invitations_are_seen_and_revoked_only_by_who_may_give_their_role(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let owner = app.owner_token().await;
    let (bid, _, store) = shop(&app, &owner).await;
    invite(&app, &owner, &bid, json!({"email": "mgr@shop.test", "role": "store_manager", "store_id": store})).await;
    let manager = app.accept_invitation("mgr@shop.test", "Mgr", "managers password").await;
    let admin_invite = invite(&app, &owner, &bid, json!({"email": "a2@shop.test", "role": "admin"})).await;
    let cashier_invite =
        invite(&app, &owner, &bid, json!({"email": "c2@shop.test", "role": "cashier", "store_id": store})).await;
    // The store manager may give cashier at their store, not admin.
    let list = json_of(app.get_auth(&format!("/v1/businesses/{bid}/invitations"), &manager).await).await;
    let ids: Vec<&str> = list["items"].as_array().expect("i").iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(ids, [cashier_invite["id"].as_str().expect("id")]);
    let admin_path = format!("/v1/businesses/{bid}/invitations/{}", admin_invite["id"].as_str().expect("id"));
    assert_problem(app.delete_auth(&admin_path, &manager).await, 404, "not_found").await;
    let cashier_path = format!("/v1/businesses/{bid}/invitations/{}", cashier_invite["id"].as_str().expect("id"));
    assert_eq!(app.delete_auth(&cashier_path, &manager).await.status(), 204);
    // Another business's owner sees none of it.
    let other = app.post_auth("/v1/businesses", &owner, json!({"name": "Other"})).await;
    let other_id = json_of(other).await["id"].as_str().expect("id").to_owned();
    let wrong = app
        .delete_auth(
            &format!("/v1/businesses/{other_id}/invitations/{}", admin_invite["id"].as_str().expect("id")),
            &owner,
        )
        .await;
    assert_problem(wrong, 404, "not_found").await;
}
