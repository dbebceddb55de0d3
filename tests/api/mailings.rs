//! Marketing mailings through the API: the audience previewed and fixed,
//! bad requests refused with nothing sent, the mail reaching only members
//! who consent, with progress counted once.

use serde_json::{Value, json};
use stampede_store::DatabaseBackend;

use crate::admin::{customer, json_of};
use crate::helpers::assert_problem;
use crate::pos::counter;

async fn a_mailing_reaches_only_members_who_consent(backend: DatabaseBackend) {
    let c = counter(backend, "actors", "").await;
    let app = &c.app;
    let bid = &c.business_id;
    // pat@example.com (the counter's customer) agrees to hear from the
    // business; sam@example.com holds a card and does not.
    let pat = customer(app, "pat@example.com").await;
    let consent = app
        .client
        .put(app.url(&format!("/v1/me/consents/{bid}")))
        .bearer_auth(&pat)
        .json(&json!({"marketing": true}))
        .send()
        .await
        .expect("consent");
    assert_eq!(consent.status(), 200);
    let sam = customer(app, "sam@example.com").await;
    let joined = app.post_auth(&format!("/v1/programs/{}/join", c.stamp_program), &sam, json!({})).await;
    assert_eq!(joined.status(), 201);

    let preview =
        async |query: String| app.get_auth(&format!("/v1/businesses/{bid}/mailings/audience?{query}"), &c.owner).await;
    let size = json_of(preview(format!("program_id={}", c.stamp_program)).await).await;
    assert_eq!(size["recipients"], 1);
    let lapsed = json_of(preview(format!("program_id={}&inactive_for_days=30", c.stamp_program)).await).await;
    assert_eq!(lapsed["recipients"], 0, "every card here was used today");
    let both = preview(format!("program_id={}&active_within_days=7&inactive_for_days=30", c.stamp_program)).await;
    assert_problem(both, 422, "validation_failed").await;

    let path = format!("/v1/businesses/{bid}/mailings");
    let send = |body: Value| app.post_auth(&path, &c.owner, body);
    let foreign = send(json!({"program_id": uuid::Uuid::now_v7(), "subject": "Hi", "body": "News"})).await;
    let problem = assert_problem(foreign, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "program_id");
    let empty = send(json!({"program_id": c.stamp_program, "subject": "  ", "body": "News"})).await;
    assert_problem(empty, 422, "validation_failed").await;
    let unknown = send(json!({"program_id": c.stamp_program, "subject": "Hi", "body": "News", "to": "all"})).await;
    assert_eq!(unknown.status(), 400, "an unknown field is refused");
    assert_eq!(json_of(app.get_auth(&path, &c.owner).await).await["items"], json!([]), "nothing was sent");
    // Customers and other businesses' staff see no such thing.
    assert_problem(app.get_auth(&path, &pat).await, 401, "unauthorized").await;

    let body = "Double stamps all Friday.\nSee you there.";
    let created =
        send(json!({"program_id": c.stamp_program, "subject": "Double stamps on Friday", "body": body})).await;
    assert_eq!(created.status(), 201);
    let mailing = json_of(created).await;
    assert_eq!(mailing["recipients"], 1);

    let mails = app.mails_to("pat@example.com", "Double stamps on Friday", 1).await;
    assert!(mails[0].text.contains("Double stamps all Friday.\nSee you there."), "{}", mails[0].text);
    assert!(mails[0].text.contains("/v1/unsubscribe?token="), "with its unsubscribe link");
    // The progress the console shows: one sent, nothing left on the way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listed = loop {
        let listed = json_of(app.get_auth(&path, &c.owner).await).await;
        if listed["items"][0]["sent"] == 1 || std::time::Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let m = &listed["items"][0];
    assert_eq!(
        (&m["recipients"], &m["sent"], &m["pending"], &m["skipped"]),
        (&json!(1), &json!(1), &json!(0), &json!(0))
    );
    assert_eq!(m["subject"], "Double stamps on Friday");
    assert!(app.mails().iter().all(|m| m.to != "sam@example.com" || !m.subject.contains("Double stamps")));
    let audit = json_of(app.get_auth(&format!("/v1/businesses/{bid}/audit"), &c.owner).await).await;
    assert!(audit["items"].as_array().expect("items").iter().any(|e| e["action"] == "mailing.create"), "{audit}");
}

crate::both_backends!(a_mailing_reaches_only_members_who_consent);
