//! Contract tests shared by every implementation of a port, so the SQL stores
//! and the AWS adapters are held to the same behaviour (`store/tests/contract.rs`
//! runs them on SQLite and PostgreSQL, `aws/tests/moto.rs` on DynamoDB).

use chrono::{Duration, Utc};
use stampede_domain::identity::{NewOneTimeToken, NewRefreshToken, RefreshOutcome, SubjectKind, TokenPurpose};
use stampede_domain::ids::BusinessId;
use stampede_domain::page::PageRequest;
use stampede_domain::ports::{AuditRepo, SessionRepo};
use uuid::Uuid;

fn refresh(hash: &[u8], family: Uuid, subject: Uuid) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash.to_vec(),
        family_id: family,
        subject_kind: SubjectKind::Customer,
        subject_id: subject,
        expires_at: Utc::now() + Duration::days(30),
    }
}

pub async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(store: &dyn SessionRepo) {
    let family = Uuid::now_v7();
    let subject = Uuid::now_v7();
    store.insert_refresh_token(refresh(b"one", family, subject)).await.expect("insert");
    let now = Utc::now();
    assert_eq!(
        store.rotate_refresh_token(b"one", now).await.expect("rotate"),
        RefreshOutcome::Rotated { family_id: family, subject_kind: SubjectKind::Customer, subject_id: subject }
    );
    store.insert_refresh_token(refresh(b"two", family, subject)).await.expect("insert successor");
    // Replaying the rotated token revokes the family, successor included.
    assert_eq!(
        store.rotate_refresh_token(b"one", now).await.expect("replay"),
        RefreshOutcome::Reused { subject_kind: SubjectKind::Customer, subject_id: subject }
    );
    assert_eq!(store.rotate_refresh_token(b"two", now).await.expect("successor"), RefreshOutcome::Invalid);
    assert_eq!(store.rotate_refresh_token(b"unknown", now).await.expect("unknown"), RefreshOutcome::Invalid);
    // Expired tokens are invalid.
    let mut old = refresh(b"old", Uuid::now_v7(), subject);
    old.expires_at = Utc::now() - Duration::seconds(1);
    store.insert_refresh_token(old).await.expect("insert");
    assert_eq!(store.rotate_refresh_token(b"old", Utc::now()).await.expect("expired"), RefreshOutcome::Invalid);
}

/// Two racing uses of one token: the winner rotates it, the loser finds it
/// rotated and revokes the family before the winner has stored its successor.
/// The successor must not join the dead family.
pub async fn a_revoked_family_takes_no_new_tokens(store: &dyn SessionRepo) {
    let family = Uuid::now_v7();
    let subject = Uuid::now_v7();
    store.insert_refresh_token(refresh(b"first", family, subject)).await.expect("insert");
    let now = Utc::now();
    assert!(matches!(store.rotate_refresh_token(b"first", now).await.expect("winner"), RefreshOutcome::Rotated { .. }));
    assert_eq!(
        store.rotate_refresh_token(b"first", now).await.expect("loser"),
        RefreshOutcome::Reused { subject_kind: SubjectKind::Customer, subject_id: subject }
    );
    let late = store.insert_refresh_token(refresh(b"successor", family, subject)).await;
    assert!(matches!(late, Err(stampede_domain::ports::StoreError::Conflict(_))), "refused: {late:?}");
    assert_eq!(store.rotate_refresh_token(b"successor", now).await.expect("successor"), RefreshOutcome::Invalid);
    // Another family of the same account is untouched...
    let other = Uuid::now_v7();
    store.insert_refresh_token(refresh(b"elsewhere", other, subject)).await.expect("other family");
    // ...until the account logs out everywhere: then it takes no new token either.
    store.revoke_all_sessions(subject, Utc::now()).await.expect("revoke all");
    let late = store.insert_refresh_token(refresh(b"after logout", other, subject)).await;
    assert!(matches!(late, Err(stampede_domain::ports::StoreError::Conflict(_))), "refused: {late:?}");
}

pub async fn logout_revokes_the_family(store: &dyn SessionRepo) {
    let family = Uuid::now_v7();
    let subject = Uuid::now_v7();
    store.insert_refresh_token(refresh(b"a", family, subject)).await.expect("insert");
    assert!(store.revoke_by_token(b"a", Utc::now()).await.expect("revoke"));
    assert!(!store.revoke_by_token(b"nope", Utc::now()).await.expect("unknown"));
    assert_eq!(store.rotate_refresh_token(b"a", Utc::now()).await.expect("rotate"), RefreshOutcome::Invalid);
    store.insert_refresh_token(refresh(b"b", Uuid::now_v7(), subject)).await.expect("insert");
    store.revoke_all_sessions(subject, Utc::now()).await.expect("revoke all");
    assert_eq!(store.rotate_refresh_token(b"b", Utc::now()).await.expect("rotate"), RefreshOutcome::Invalid);
}

pub async fn one_time_tokens_are_used_once(store: &dyn SessionRepo) {
    let subject = Uuid::now_v7();
    let token = NewOneTimeToken {
        token_hash: b"reset".to_vec(),
        purpose: TokenPurpose::ResetPassword,
        subject_id: Some(subject),
        payload: serde_json::json!({"k": 1}),
        expires_at: Utc::now() + Duration::hours(1),
    };
    store.insert_one_time_token(token.clone()).await.expect("insert");
    // The wrong purpose does not consume it.
    assert!(store.consume_one_time_token(TokenPurpose::VerifyEmail, b"reset", Utc::now()).await.expect("x").is_none());
    let used = store.consume_one_time_token(TokenPurpose::ResetPassword, b"reset", Utc::now()).await.expect("use");
    let used = used.expect("first use works");
    assert_eq!(used.subject_id, Some(subject));
    assert_eq!(used.payload, serde_json::json!({"k": 1}));
    assert!(
        store.consume_one_time_token(TokenPurpose::ResetPassword, b"reset", Utc::now()).await.expect("x").is_none()
    );
    let expired =
        NewOneTimeToken { token_hash: b"late".to_vec(), expires_at: Utc::now() - Duration::seconds(1), ..token };
    store.insert_one_time_token(expired).await.expect("insert");
    assert!(store.consume_one_time_token(TokenPurpose::ResetPassword, b"late", Utc::now()).await.expect("x").is_none());
}

pub async fn audit_events_list_newest_first(store: &dyn AuditRepo, business: BusinessId) {
    for i in 0..3 {
        store
            .record_audit(&stampede_domain::identity::AuditEvent {
                id: Uuid::now_v7(),
                at: Utc::now(),
                business_id: Some(business),
                actor_kind: "staff".into(),
                actor_id: Some(Uuid::now_v7()),
                action: format!("thing.update.{i}"),
                resource_type: "thing".into(),
                resource_id: None,
                before: Some(serde_json::json!({"n": i})),
                after: None,
            })
            .await
            .expect("record");
    }
    let page = store.list_audit(business, PageRequest::new(None, Some(2))).await.expect("list");
    assert_eq!(page.items.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["thing.update.2", "thing.update.1"]);
    assert_eq!(page.items[0].before, Some(serde_json::json!({"n": 2})));
    let rest = store.list_audit(business, PageRequest::new(page.next_cursor, Some(2))).await.expect("list");
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
}

/// The inbox: one attempt at a time per message, a handled message is skipped,
/// a released or expired claim can be taken again.
pub async fn inbox_handles_each_message_once(store: std::sync::Arc<dyn stampede_domain::ports::Store>) {
    use stampede_domain::ports::Begin;
    let lease = std::time::Duration::from_secs(60);
    let t0 = Utc::now();
    let m = Uuid::now_v7();
    assert_eq!(store.begin_message("email", m, t0, lease).await.expect("begin"), Begin::Fresh);
    assert_eq!(store.begin_message("email", m, t0, lease).await.expect("again"), Begin::Busy);
    // Another consumer keeps its own record of the same message.
    assert_eq!(store.begin_message("analytics", m, t0, lease).await.expect("other"), Begin::Fresh);
    store.finish_message("email", m, t0).await.expect("finish");
    assert_eq!(store.begin_message("email", m, t0, lease).await.expect("done"), Begin::Done);
    store.abandon_message("email", m).await.expect("abandon after done changes nothing");
    assert_eq!(store.begin_message("email", m, t0, lease).await.expect("still done"), Begin::Done);

    let n = Uuid::now_v7();
    assert_eq!(store.begin_message("email", n, t0, lease).await.expect("begin"), Begin::Fresh);
    store.abandon_message("email", n).await.expect("abandon");
    assert_eq!(store.begin_message("email", n, t0, lease).await.expect("released"), Begin::Fresh);
    // A claim whose lease ran out (the attempt died) is taken over.
    let later = t0 + Duration::minutes(2);
    assert_eq!(store.begin_message("email", n, later, lease).await.expect("expired"), Begin::Fresh);

    // Concurrent deliveries of one message: exactly one goes ahead.
    let c = Uuid::now_v7();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = std::sync::Arc::clone(&store);
            tokio::spawn(async move { s.begin_message("loyalty", c, Utc::now(), lease).await.expect("begin") })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        if t.await.expect("task") == Begin::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

/// The database-kept queues: oldest first over all topics; a leased message
/// is hidden until its lease runs out (a taker that died only delays it), each
/// delivery counted; deleted, released and buried messages behave as named;
/// concurrent takers never share a message.
pub async fn queued_messages_are_leased_once_and_outlive_their_taker(
    store: std::sync::Arc<dyn stampede_domain::ports::Store>,
) {
    use stampede_domain::ports::QueueMessage;
    let msg = |body: &str| QueueMessage {
        id: Uuid::now_v7(),
        message_type: "t".into(),
        schema_version: 1,
        request_id: Some(format!("req-{body}")),
        body: body.into(),
    };
    let lease = std::time::Duration::from_secs(60);
    let t0 = Utc::now() + Duration::seconds(1);
    store.enqueue(&["email"], &[msg("e1"), msg("e2")]).await.expect("enqueue");
    store.enqueue(&["analytics"], &[msg("a1")]).await.expect("enqueue");
    store.enqueue(&["email"], &[]).await.expect("nothing to enqueue");
    assert_eq!(store.queue_depth().await.expect("depth"), (3, 0));

    let first = store.lease_messages(2, t0, lease).await.expect("lease");
    let got: Vec<(&str, &str, u32)> =
        first.iter().map(|m| (m.topic.as_str(), m.message.body.as_str(), m.receives)).collect();
    assert_eq!(got, [("email", "e1", 1), ("email", "e2", 1)]);
    assert_eq!(first[0].message.request_id.as_deref(), Some("req-e1"));
    assert_eq!(first[0].message.schema_version, 1);
    // Hidden while leased: the next taker gets the rest only.
    let second = store.lease_messages(10, t0, lease).await.expect("lease");
    assert_eq!(second.iter().map(|m| m.message.body.as_str()).collect::<Vec<_>>(), ["a1"]);
    assert!(store.lease_messages(10, t0, lease).await.expect("lease").is_empty());

    // e1 handled, e2's taker died, a1 failed and waits for its retry.
    store.delete_messages(&[first[0].seq]).await.expect("delete");
    let retry_at = t0 + Duration::seconds(30);
    store.release_message(second[0].seq, retry_at).await.expect("release");
    assert!(store.lease_messages(10, t0 + Duration::seconds(29), lease).await.expect("lease").is_empty());
    let again = store.lease_messages(10, retry_at, lease).await.expect("lease");
    assert_eq!(again.iter().map(|m| (m.message.body.as_str(), m.receives)).collect::<Vec<_>>(), [("a1", 2)]);
    // e2's lease runs out: it comes back, as the second delivery.
    let expired = t0 + Duration::seconds(61);
    let back = store.lease_messages(10, expired, lease).await.expect("lease");
    assert_eq!(back.iter().map(|m| (m.message.body.as_str(), m.receives)).collect::<Vec<_>>(), [("e2", 2)]);
    assert_eq!(back[0].message.id, first[1].message.id);

    // Buried: kept and counted, never taken again.
    store.bury_message(back[0].seq, "no such template").await.expect("bury");
    store.delete_messages(&[again[0].seq]).await.expect("delete");
    assert_eq!(store.queue_depth().await.expect("depth"), (0, 1));
    assert!(store.lease_messages(10, t0 + Duration::days(1), lease).await.expect("lease").is_empty());

    // One message on two topics (the relay's shape): two deliveries, one id.
    let both = msg("tx");
    store.enqueue(&["transaction", "analytics"], std::slice::from_ref(&both)).await.expect("enqueue");
    let two = store.lease_messages(10, Utc::now() + Duration::seconds(1), lease).await.expect("lease");
    assert_eq!(
        two.iter().map(|m| (m.topic.as_str(), m.message.id)).collect::<Vec<_>>(),
        [("transaction", both.id), ("analytics", both.id)]
    );
    store.delete_messages(&two.iter().map(|m| m.seq).collect::<Vec<_>>()).await.expect("delete");

    // Concurrent takers share nothing, and between them take everything.
    let many: Vec<QueueMessage> = (0..60).map(|i| msg(&i.to_string())).collect();
    store.enqueue(&["transaction"], &many).await.expect("enqueue");
    let takers: Vec<_> = (0..4)
        .map(|_| {
            let s = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = s.lease_messages(7, Utc::now(), lease).await.expect("lease");
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|m| m.message.body));
                }
            })
        })
        .collect();
    let mut taken = Vec::new();
    for t in takers {
        taken.extend(t.await.expect("taker"));
    }
    taken.sort_by_key(|b| b.parse::<u32>().expect("number"));
    assert_eq!(taken, (0..60).map(|i| i.to_string()).collect::<Vec<_>>(), "each message taken exactly once");
}

/// Analytics: an event counts once; active customers once per day, new ones
/// once per business; filters by store and program.
pub async fn analytics_count_each_event_once(store: &dyn stampede_domain::ports::AnalyticsRepo) {
    use stampede_domain::analytics::{AnalyticsQuery, DailyDelta};
    use stampede_domain::ids::{CustomerId, StoreId};
    let business = BusinessId(Uuid::now_v7());
    let (shop, program) = (StoreId(Uuid::now_v7()), Uuid::now_v7());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
    let (ada, bob) = (CustomerId(Uuid::now_v7()), CustomerId(Uuid::now_v7()));
    let delta = |customer, day, stamps, redeemed| DailyDelta {
        business_id: business,
        store_id: Some(shop),
        program_id: program,
        day,
        customer_id: customer,
        stamps_issued: stamps,
        points_earned: 0,
        rewards_redeemed: redeemed,
    };
    let e1 = Uuid::now_v7();
    assert!(store.apply_transaction(e1, &delta(ada, day, 2, 0), true).await.expect("apply"));
    assert!(!store.apply_transaction(e1, &delta(ada, day, 2, 0), true).await.expect("repeat"), "a repeat is skipped");
    assert!(store.apply_transaction(Uuid::now_v7(), &delta(ada, day, 3, 0), true).await.expect("again today"));
    assert!(store.apply_transaction(Uuid::now_v7(), &delta(bob, day, 1, 1), true).await.expect("bob"));
    let next = day.succ_opt().expect("next day");
    assert!(store.apply_transaction(Uuid::now_v7(), &delta(ada, next, 1, 0), true).await.expect("next day"));
    // An expiry is not a visit.
    assert!(store.apply_transaction(Uuid::now_v7(), &delta(bob, next, 0, 0), false).await.expect("expiry"));

    let q = AnalyticsQuery { business_id: business, from: day, to: next, store_id: None, program_id: None };
    let rows = store.daily_aggregates(&q).await.expect("read");
    assert_eq!(rows.len(), 2);
    let (first, second) = (&rows[0], &rows[1]);
    assert_eq!(first.day, day);
    assert_eq!((first.stamps_issued, first.rewards_redeemed), (6, 1));
    assert_eq!((first.active_customers, first.new_customers), (2, 2));
    assert_eq!((second.stamps_issued, second.active_customers, second.new_customers), (1, 1, 0));
    assert_eq!(first.store_id, Some(shop));
    let elsewhere = AnalyticsQuery { store_id: Some(StoreId(Uuid::now_v7())), ..q };
    assert!(store.daily_aggregates(&elsewhere).await.expect("read").is_empty());
    let one_day = AnalyticsQuery { to: day, program_id: Some(program), ..q };
    assert_eq!(store.daily_aggregates(&one_day).await.expect("read").len(), 1);

    // A batch in one transaction: only the new events count.
    use stampede_domain::analytics::TransactionEvent;
    let (b1, b2) = (Uuid::now_v7(), Uuid::now_v7());
    let batch = [
        TransactionEvent { event_id: b1, delta: delta(bob, next, 4, 0), visit: true },
        TransactionEvent { event_id: e1, delta: delta(ada, day, 2, 0), visit: true },
        TransactionEvent { event_id: b2, delta: delta(bob, next, 1, 0), visit: true },
        TransactionEvent { event_id: b1, delta: delta(bob, next, 4, 0), visit: true },
    ];
    assert_eq!(store.apply_transactions(&batch).await.expect("batch"), 2);
    let rows = store.daily_aggregates(&q).await.expect("read");
    assert_eq!((rows[1].stamps_issued, rows[1].active_customers), (6, 2));
    // A customer first seen inside a batch, twice on one day: active once, new once.
    let carl = CustomerId(Uuid::now_v7());
    let batch = [
        TransactionEvent { event_id: Uuid::now_v7(), delta: delta(carl, next, 1, 0), visit: true },
        TransactionEvent { event_id: Uuid::now_v7(), delta: delta(carl, next, 2, 0), visit: true },
    ];
    assert_eq!(store.apply_transactions(&batch).await.expect("batch"), 2);
    let rows = store.daily_aggregates(&q).await.expect("read");
    assert_eq!((rows[1].stamps_issued, rows[1].active_customers, rows[1].new_customers), (9, 3, 1));

    let u = Uuid::now_v7();
    assert!(store.apply_usage(u, day, "card_view", Some(business)).await.expect("usage"));
    assert!(!store.apply_usage(u, day, "card_view", Some(business)).await.expect("usage repeat"));
    assert!(store.apply_usage(Uuid::now_v7(), day, "card_view", Some(business)).await.expect("usage"));
    assert!(store.apply_usage(Uuid::now_v7(), day, "login", None).await.expect("login"));
    // A batch in one transaction: an event twice in it, and one seen before,
    // count once.
    let tally = |event_id| stampede_domain::analytics::UsageTally {
        event_id,
        day,
        event: "card_view".into(),
        business_id: Some(business),
    };
    let (again, fresh) = (Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(store.apply_usages(&[tally(again), tally(again), tally(fresh), tally(u)]).await.expect("batch"), 2);
    assert_eq!(store.apply_usages(&[tally(again), tally(fresh)]).await.expect("batch again"), 0);
    let usage = store.usage_counts(Some(business), day, next).await.expect("usage counts");
    assert_eq!(usage.iter().map(|c| (c.event.as_str(), c.count)).collect::<Vec<_>>(), [("card_view", 4)]);
    let logins = store.usage_counts(None, day, day).await.expect("logins");
    assert!(logins.iter().any(|c| c.event == "login" && c.count >= 1));
}

/// Export records round-trip and move through their states.
pub async fn exports_round_trip(store: &dyn stampede_domain::ports::ExportRepo) {
    use stampede_domain::export::{Export, ExportKind, ExportStatus};
    let mut e = Export {
        id: Uuid::now_v7(),
        kind: ExportKind::Transactions,
        business_id: Some(BusinessId(Uuid::now_v7())),
        customer_id: None,
        staff_id: Some(stampede_domain::ids::StaffId(Uuid::now_v7())),
        from: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
        to: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
        status: ExportStatus::Pending,
        object_key: None,
        rows: None,
        error: None,
        created_at: stampede_domain::ledger::now(),
        finished_at: None,
    };
    store.create_export(&e).await.expect("create");
    assert_eq!(store.get_export(e.id).await.expect("get"), Some(e.clone()));
    e.status = ExportStatus::Done;
    e.object_key = Some("private/exports/x.csv".into());
    e.rows = Some(42);
    e.finished_at = Some(stampede_domain::ledger::now());
    store.save_export(&e).await.expect("save");
    assert_eq!(store.get_export(e.id).await.expect("get"), Some(e));
    assert_eq!(store.get_export(Uuid::now_v7()).await.expect("get"), None);
}
