//! Finding a customer's cards at the counter by email or phone, and
//! enrolling a walk-in customer whose card they claim later in the app.

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::admin::{customer, json_of};
use crate::helpers::assert_problem;
use crate::pos::{Counter, counter};

async fn find(c: &Counter, query: &str) -> reqwest::Response {
    c.app.get_auth(&format!("/v1/pos/stores/{}/customers?{query}", c.store_id), &c.key).await
}

fn program_ids(found: &Value) -> Vec<String> {
    let mut ids: Vec<String> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["program"]["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

async fn the_counter_finds_cards_by_email_or_phone(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    let pat = customer(&c.app, "pat@example.com").await;
    let res = c.app.client.patch(c.app.url("/v1/me")).bearer_auth(&pat).json(&json!({"phone": "+34 600 12 34 56"}));
    assert_eq!(res.send().await.expect("profile").status(), 200);
    let mut both = vec![c.stamp_program.clone(), c.points_program.clone()];
    both.sort();

    let by_email = json_of(find(&c, "email=Pat@Example.com").await).await;
    assert_eq!(program_ids(&by_email), both, "{by_email}");
    let by_phone = json_of(find(&c, "phone=%2B34%20600-123-456").await).await;
    assert_eq!(program_ids(&by_phone), both, "another layout of the same number");
    assert!(by_phone["items"][0].get("email").is_none() && by_phone["items"][0].get("name").is_none(), "names no one");
    let nobody = json_of(find(&c, "email=nobody@example.com").await).await;
    assert_eq!(nobody["items"], json!([]));

    assert_problem(find(&c, "email=pat@example.com&phone=600123456").await, 422, "validation_failed").await;
    assert_problem(find(&c, "").await, 422, "validation_failed").await;
    assert_problem(find(&c, "phone=call%20me").await, 422, "validation_failed").await;
    // A found card is then read by its id, as a scanned one by its code.
    let card = by_email["items"][0]["card_id"].as_str().expect("id").to_owned();
    let read = c.app.get_auth(&format!("/v1/pos/stores/{}/cards/{card}", c.store_id), &c.key).await;
    assert_eq!(json_of(read).await["card_id"], card);
}

async fn a_walk_in_is_enrolled_stamped_and_claims_the_card(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    let enroll = |body: Value| c.pos("enrollments", None, body);
    let walk_in =
        json!({"program_id": c.stamp_program, "email": "walk.in@example.com", "phone": "600 999 888", "name": "Wen"});

    let other_business = json!({"program_id": uuid::Uuid::now_v7(), "email": "walk.in@example.com"});
    let refused = assert_problem(enroll(other_business).await, 422, "validation_failed").await;
    assert_eq!(refused["errors"][0]["field"], "program_id");
    assert_problem(
        enroll(json!({"program_id": c.stamp_program, "email": "not an address"})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(json_of(find(&c, "email=walk.in@example.com").await).await["items"], json!([]), "nothing made");

    let first = enroll(walk_in.clone()).await;
    assert_eq!(first.status(), 201);
    let card = json_of(first).await;
    assert_eq!((card["program"]["id"].as_str(), card["balance"].as_i64()), (Some(c.stamp_program.as_str()), Some(0)));
    let card_id = card["card_id"].as_str().expect("id").to_owned();
    let again = enroll(walk_in).await;
    assert_eq!(again.status(), 200, "enrolling twice gives the same card");
    assert_eq!(json_of(again).await["card_id"], card_id.as_str());
    assert_eq!(program_ids(&json_of(find(&c, "phone=600999888").await).await), std::slice::from_ref(&c.stamp_program));

    let stamped = c.pos("stamps", Some("walk-in-1"), json!({"card_id": card_id, "count": 1})).await;
    assert_eq!(stamped.status(), 201);

    // The mail's link lets them choose a password; the card is in their app.
    let token = c.app.token_from_mail("walk.in@example.com", "card at").await;
    let confirm = c
        .app
        .post_json(
            "/v1/auth/customers/password-reset/confirm",
            json!({"token": token, "password": "the walk-in's password"}),
        )
        .await;
    assert_eq!(confirm.status(), 204);
    let login = c
        .app
        .post_json(
            "/v1/auth/customers/login",
            json!({"email": "walk.in@example.com", "password": "the walk-in's password"}),
        )
        .await;
    let access = json_of(login).await["access_token"].as_str().expect("token").to_owned();
    let mine = json_of(c.app.get_auth("/v1/me/cards", &access).await).await;
    let items = mine["items"].as_array().or(mine.as_array()).expect("cards").clone();
    assert_eq!(items.len(), 1, "{mine}");
    assert_eq!(items[0]["id"], card_id.as_str());
    assert_eq!(items[0]["balance"], 1);

    // An existing customer gets the card on their own account, and no claim mail.
    let before = c.app.mails().len();
    let pat = enroll(json!({"program_id": c.stamp_program, "email": "pat@example.com"})).await;
    assert_eq!(pat.status(), 200, "pat holds this program's card already");
    assert_eq!(c.app.mails().len(), before);
}

crate::both_backends!(the_counter_finds_cards_by_email_or_phone, a_walk_in_is_enrolled_stamped_and_claims_the_card);
