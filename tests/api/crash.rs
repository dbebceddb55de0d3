//! The crash test: a server process is killed with SIGKILL in the middle of a
//! burst of stamps sent with idempotency keys. After a restart the client
//! retries everything that was not acknowledged. Every stamp must be there
//! exactly once, and every acknowledged one among them; so must its side
//! effects: each stamp counted once in the analytics, and each reward the
//! card came to cover announced by exactly one mail. On SQLite and on
//! PostgreSQL.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::{Running, start_with};

const BURST: usize = 2000;
/// What the program's rewards cost: the burst crosses each once.
const REWARD_COSTS: [i64; 6] = [10, 50, 100, 500, 1000, 1500];
const LIMITS: [(&str, &str); 4] = [
    ("STAMPEDE_RATE_LIMITS__POS_PER_TERMINAL__COUNT", "1000000"),
    ("STAMPEDE_RATE_LIMITS__POS_PER_TERMINAL__PERIOD_SECS", "60"),
    ("STAMPEDE_DATABASE__SQLITE_SYNCHRONOUS", "full"),
    // What the killed server had taken from its queues (the database-kept
    // ones) comes back to the restarted one after this.
    ("STAMPEDE_QUEUE__LEASE_SECS", "2"),
];

async fn call(client: &reqwest::Client, base: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = client.post(format!("{base}{path}")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    if res.status() == 204 { Value::Null } else { res.json().await.expect("json") }
}

/// Through the API of a fresh server: owner, business, store, program,
/// terminal, customer, card. Returns (store id, terminal key, card id).
async fn world(
    client: &reqwest::Client,
    base: &str,
    running: &Running,
    dir: &std::path::Path,
) -> (String, String, String) {
    let otp = running
        .printed
        .iter()
        .find_map(|l| l.split("one-time password:").nth(1))
        .map(|p| p.trim().to_owned())
        .expect("one-time password printed");
    let t = call(client, base, "/v1/auth/staff/login", None, json!({"email": "owner@stampede.local", "password": otp}))
        .await;
    let t = call(
        client,
        base,
        "/v1/auth/staff/password",
        t["access_token"].as_str(),
        json!({"current_password": otp, "new_password": "the owner's password"}),
    )
    .await;
    let owner = t["access_token"].as_str().expect("token").to_owned();
    let b = call(client, base, "/v1/businesses", Some(&owner), json!({"name": "Crash Café"})).await;
    let bid = b["id"].as_str().expect("id");
    let s = call(client, base, &format!("/v1/businesses/{bid}/stores"), Some(&owner), json!({"name": "Main"})).await;
    let sid = s["id"].as_str().expect("id").to_owned();
    let p = call(
        client,
        base,
        &format!("/v1/businesses/{bid}/programs"),
        Some(&owner),
        json!({"name": "Stamps", "rules": {"kind": "stamps", "stamps_per_reward": 10, "max_stamps_per_visit": 1}}),
    )
    .await;
    let pid = p["id"].as_str().expect("id");
    for cost in REWARD_COSTS {
        let reward = json!({"name": format!("Reward {cost}"), "cost": cost});
        call(client, base, &format!("/v1/programs/{pid}/rewards"), Some(&owner), reward).await;
    }
    let term = call(client, base, &format!("/v1/stores/{sid}/terminals"), Some(&owner), json!({"name": "Till"})).await;
    let key = term["api_key"].as_str().expect("key").to_owned();
    call(
        client,
        base,
        "/v1/auth/customers/register",
        None,
        json!({"email": "c@x.test", "password": "customer password", "name": "C"}),
    )
    .await;
    let token = confirmation_token(&dir.join("data/mail"), "c@x.test").await;
    call(client, base, "/v1/auth/customers/verify-email", None, json!({"token": token})).await;
    let ct = call(
        client,
        base,
        "/v1/auth/customers/login",
        None,
        json!({"email": "c@x.test", "password": "customer password"}),
    )
    .await;
    let card = call(client, base, &format!("/v1/programs/{pid}/join"), ct["access_token"].as_str(), json!({})).await;
    (sid, key, card["id"].as_str().expect("id").to_owned())
}

/// The token of the confirmation mail the server wrote to `to` (mails are
/// files in its data folder on the embedded default).
async fn confirmation_token(mail_dir: &std::path::Path, to: &str) -> String {
    for _ in 0..500 {
        let mails = crate::helpers::read_mails(mail_dir);
        if let Some(mail) = mails.iter().find(|m| m.to == to && m.subject.contains("Confirm your email")) {
            return crate::helpers::token_in(mail);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no confirmation mail to {to} in {}", mail_dir.display());
}

async fn stamp(client: &reqwest::Client, base: &str, store: &str, key: &str, card: &str, i: usize) -> Option<u16> {
    let res = client
        .post(format!("{base}/v1/pos/stores/{store}/stamps"))
        .bearer_auth(key)
        .header("idempotency-key", format!("crash-{i}"))
        .json(&json!({"card_id": card}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    Some(res.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_loses_and_doubles_nothing_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let mut opts = stampede_store::testing::TestDatabase::sqlite().options.clone();
    opts.url = dir.path().join("data/stampede.db").display().to_string();
    sigkill_during_a_burst(dir.path(), &LIMITS, &opts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_loses_and_doubles_nothing_on_postgres() {
    let dir = tempfile::tempdir().expect("dir");
    let db = stampede_store::testing::TestDatabase::postgres().await;
    let mut env = LIMITS.to_vec();
    env.extend([("STAMPEDE_DATABASE__BACKEND", "postgres"), ("STAMPEDE_DATABASE__URL", db.options.url.as_str())]);
    sigkill_during_a_burst(dir.path(), &env, &db.options).await;
}

async fn sigkill_during_a_burst(dir: &std::path::Path, env: &[(&str, &str)], db: &stampede_store::DatabaseOptions) {
    let mut first = start_with(dir, env);
    let base = format!("http://127.0.0.1:{}", first.port);
    let client = reqwest::Client::new();
    let (store, key, card) = world(&client, &base, &first, dir).await;

    // The burst: 50 clients at once; the server dies part-way.
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..50 {
        let (client, base, store, key, card) = (client.clone(), base.clone(), store.clone(), key.clone(), card.clone());
        let (acked, next) = (Arc::clone(&acknowledged), Arc::clone(&next));
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= BURST {
                    return;
                }
                match stamp(&client, &base, &store, &key, &card, i).await {
                    Some(201) => {
                        acked.lock().expect("lock").insert(i);
                    }
                    None => return, // the server is gone
                    Some(_) => {}
                }
            }
        }));
    }
    // Let part of the burst through, then kill the server mid-flight.
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acknowledged.lock().expect("lock").len() >= 300 {
            break;
        }
    }
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reaped");
    for c in clients {
        let _ = c.await;
    }
    let acked_before: HashSet<usize> = acknowledged.lock().expect("lock").clone();
    assert!(
        acked_before.len() >= 300 && acked_before.len() < BURST,
        "killed mid-burst: {} acknowledged",
        acked_before.len()
    );

    // Restart on the same data and retry everything not acknowledged (and,
    // to check replays, everything that was).
    let second = start_with(dir, env);
    let base = format!("http://127.0.0.1:{}", second.port);
    for i in 0..BURST {
        let mut tries = 0;
        loop {
            match stamp(&client, &base, &store, &key, &card, i).await {
                Some(201) => break,
                other => {
                    tries += 1;
                    assert!(tries < 50, "stamp {i} never acknowledged: {other:?}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    let db = stampede_store::open(db).await.expect("open");
    let card =
        db.get_card(stampede_domain::ids::CardId(card.parse().expect("uuid"))).await.expect("get").expect("card");

    // The side effects outlive the crash too: every stamp is in the
    // analytics exactly once (each commit counted its own, in its
    // transaction), and each reward the card came to cover was announced
    // once: the notices the killed server had committed and not yet sent
    // (their outbox rows, then their queued mails, stay until handled) are
    // sent by the restarted one, and none twice.
    let query = stampede_domain::analytics::AnalyticsQuery {
        business_id: card.business_id,
        from: chrono::Utc::now().date_naive() - chrono::Days::new(1),
        to: chrono::Utc::now().date_naive() + chrono::Days::new(1),
        store_id: None,
        program_id: None,
    };
    let mut counted = 0;
    for _ in 0..300 {
        let days = db.daily_aggregates(&query).await.expect("aggregates");
        counted = days.iter().map(|d| d.stamps_issued).sum::<i64>();
        if counted >= BURST as i64 && db.queue_depth().await.expect("depth").0 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counted, BURST as i64, "analytics counted every stamp once");
    for _ in 0..300 {
        let sent = reward_notices(&dir.join("data/mail")).len();
        if sent >= REWARD_COSTS.len() && db.queue_depth().await.expect("depth").0 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A repeat would come at once behind the first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let notices = reward_notices(&dir.join("data/mail"));
    let expected: Vec<String> = REWARD_COSTS.iter().map(|c| format!("Reward {c}")).collect();
    assert_eq!(notices, expected, "one notice per reward the card came to cover");
    assert_eq!(db.queue_depth().await.expect("depth"), (0, 0), "queues drained, nothing buried");

    // Exactly BURST stamps: each key applied once, acknowledged ones included.
    let mut second = second;
    let _ = second.child.kill();
    let _ = second.child.wait();
    assert_eq!(card.balance, BURST as i64, "every stamp once");
    let mut rows = 0;
    let mut cursor = None;
    loop {
        let page = db
            .card_entries(card.id, stampede_domain::page::PageRequest::new(cursor, Some(200)))
            .await
            .expect("entries");
        rows += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(rows, BURST, "one ledger row per key");
}

/// The rewards named in the "reward earned" mails in `mail_dir`, sorted by
/// cost (a name twice means a notice sent twice).
fn reward_notices(mail_dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = crate::helpers::read_mails(mail_dir)
        .iter()
        .filter(|m| m.subject.contains("reward"))
        .filter_map(|m| {
            REWARD_COSTS.iter().map(|c| format!("Reward {c}")).find(|n| m.text.contains(&format!("\"{n}\"")))
        })
        .collect();
    names.sort_by_key(|n| n[7..].parse::<i64>().unwrap_or(0));
    names
}
