//! A short run of the load harness, so it cannot rot: seed, sign the app
//! users in, a few seconds of open-loop load at a small rate with the default
//! mix, the correctness check. Nothing about speed is asserted.

use std::time::Duration;

use stampede_bench::load::{Load, Shared, Step};
use stampede_bench::netdelay::DelayProxy;
use stampede_bench::report::RunReport;
use stampede_bench::run::{Target, fixed};
use stampede_bench::seed::{SeedOptions, seed};
use stampede_store::DatabaseBackend;

use crate::helpers::{spawn_app_with, spawn_beside_at};

/// A terminal may send 20 requests/s (bursts of 60): the fleet's five stay
/// under it, the abuser's 60/s on the sixth does not.
const LIMITS: &str = "[rate_limits.pos_per_terminal]\ncount = 60\nperiod_secs = 3\n";

async fn smoke(backend: DatabaseBackend, engine: &str) {
    let app = spawn_app_with(backend, &format!("{LIMITS}[runtime]\nengine = \"{engine}\"\n")).await;
    let world = seed(
        &app.db.options,
        &SeedOptions { cards: 200, stores: 2, terminals_per_store: 3, initial_balance: 20, app_users: 6 },
    )
    .await
    .expect("seed");
    let business = world.business;
    let shared = Shared::new(app.address.clone(), world);
    shared.sign_in(&|_| {}).await.expect("the app users sign in through the API");
    let target = Target { base: &app.address, pid: None, db: &app.db.options };
    let step = Step { abuser_rps: 60.0, ..Step::new(60.0, Duration::from_secs(3)) };
    let run = fixed(&shared, &target, engine, "smoke", step, Load::default()).await.expect("run");
    assert!(run.check.passed, "{:?}", run.check.problems);
    let measured = run.peak.as_ref().expect("the step");
    counters_add_up(&run);
    // Every request of the fleet had an answer it expected: the app's reads
    // were signed in, and both kinds of card took their writes; only the
    // abuser was refused for its rate.
    let outcomes = &measured.outcomes;
    let expected = |k: &String| k.starts_with("2xx") || k.starts_with("422") || k.starts_with("429");
    assert!(outcomes.keys().all(expected), "{outcomes:?}");
    assert_eq!(measured.counts.rate_limited, 0, "the fleet stays within its limits");
    let abuser = measured.abuser.as_ref().expect("the abuser's own line");
    assert_eq!(abuser.counts.sent, 180);
    assert!(abuser.counts.rate_limited > 0 && abuser.counts.committed > 0, "{abuser:?}");
    let kinds = &measured.by_kind;
    for kind in ["stamps", "points", "balance read", "card view", "abuser"] {
        assert!(kinds.get(kind).is_some_and(|k| k.requests > 0), "no {kind} in {:?}", kinds.keys());
    }
    let fleet: u64 = kinds.iter().filter(|(k, _)| *k != "abuser").map(|(_, k)| k.requests).sum();
    assert_eq!(fleet, measured.counts.sent);
    // 180 slots at 60/s for 3 s; a concurrent duplicate takes two requests.
    let pairs = kinds.get("duplicate").map_or(0, |k| k.requests) / 2;
    assert_eq!(measured.planned, 180 + pairs);
    assert_eq!(measured.counts.sent + measured.counts.not_sent, measured.planned);
    // The database's own counters were read around the step.
    assert!(measured.db_xacts_per_write.is_some_and(|x| x > 0.0), "{:?}", measured.db_xacts_per_write);
    assert!(measured.db_rows_per_write.is_some_and(|x| x > 0.0), "{:?}", measured.db_rows_per_write);
    assert_eq!(measured.cpu_per_write.postgres_us.is_some(), backend == DatabaseBackend::Postgres);
    // The card views went through the server's analytics queue and were
    // counted for the business (usage is gathered for up to 250 ms first).
    let today = chrono::Utc::now().date_naive();
    let mut views = 0;
    for _ in 0..50 {
        let counts = app
            .store
            .usage_counts(Some(stampede_domain::ids::BusinessId(business)), today, today)
            .await
            .expect("usage counts");
        views = counts.iter().filter(|c| c.event == "card_view").map(|c| c.count).sum::<i64>();
        if views > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(views > 0, "no card view was counted");
    // The disk was probed around the run (its figures are the machine's; none is asserted).
    let probe = run.disk_before.as_ref().expect("the disk probe ran before the run");
    assert_eq!(probe.writes, stampede_bench::disk::PROBE_WRITES);
    assert!(run.disk_after.is_some());
    // The writes pending before the run were finished first; on PostgreSQL
    // that includes a CHECKPOINT, which the test server's superuser may run.
    let flushed = run.flushed_before.as_ref().expect("pending writes were flushed before the run");
    match backend {
        DatabaseBackend::Postgres => assert_eq!(flushed.checkpoint, Some(Ok(()))),
        DatabaseBackend::Sqlite => assert_eq!(flushed.checkpoint, None),
    }
    assert!(run.check.acknowledged_writes > 50, "{:?}", run.check);
    let md = stampede_bench::report::markdown(&stampede_bench::report::Report {
        command: "test".into(),
        machine: "test".into(),
        commit: None,
        started_at: "now".into(),
        runs: vec![run],
        ratios: vec![],
        references: Default::default(),
    });
    assert!(md.contains("| smoke |"), "{md}");
    assert!(md.contains("Disk, 300 synced 4 KiB writes: before the run median"), "{md}");
    assert!(md.contains("Pending writes before the steps: "), "{md}");
    assert!(md.contains("Mix: 15% balance reads and 5% card views by 6 app users"), "{md}");
    assert!(md.contains("| balance read | "), "{md}");
    assert!(md.contains("Requests sent: "), "{md}");

    // A second run against the same database (as against a server someone
    // keeps running): the check counts this run's rows, not the first one's.
    let again = seed(
        &app.db.options,
        &SeedOptions { cards: 50, stores: 1, terminals_per_store: 2, initial_balance: 20, app_users: 2 },
    )
    .await
    .expect("seed again");
    let shared = Shared::new(app.address.clone(), again);
    shared.sign_in(&|_| {}).await.expect("sign in");
    let step = Step { hot_card: true, ..Step::new(40.0, Duration::from_secs(2)) };
    let second = fixed(&shared, &target, engine, "again", step, Load::default()).await.expect("run again");
    assert!(second.check.passed, "{:?}", second.check.problems);
    assert_eq!(second.check.ledger_rows, second.check.acknowledged_writes as i64);
    counters_add_up(&second);
}

/// Every request sent is counted once, under one answer; the commits counted
/// (during the run, and while resolving after it) are the ledger's rows.
fn counters_add_up(run: &RunReport) {
    let t = &run.totals;
    assert_eq!(t.sent, t.committed + t.replayed + t.refused + t.rate_limited + t.reads + t.errors, "{t:?}");
    let committed = t.committed + run.resolved.committed + run.resolved.committed_unseen;
    assert_eq!(committed as i64, run.check.ledger_rows, "{t:?} {:?} {:?}", run.resolved, run.check);
    assert_eq!(run.check.acknowledged_writes as i64, run.check.ledger_rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_actors_sqlite() {
    smoke(DatabaseBackend::Sqlite, "actors").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_naive_postgres() {
    smoke(DatabaseBackend::Postgres, "naive").await;
}

/// The harness's second writer (`compare --second-server-percent`): a naive
/// server on the same database takes a fifth of the hot card's writes while
/// the card's actor holds it, and the check covers what both acknowledged.
/// The second server reaches the database through the harness's delay proxy
/// (`compare --db-delay-us`), so that is exercised with a real server too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_with_a_second_writer_postgres() {
    let app = spawn_app_with(DatabaseBackend::Postgres, "[runtime]\nengine = \"actors\"\n").await;
    let (_proxy, far) = DelayProxy::for_url(&app.db.options.url, Duration::from_micros(200)).expect("delay proxy");
    let (beside, _dir) = spawn_beside_at(&app, &far, "[runtime]\nengine = \"naive\"\n").await;
    let world = seed(
        &app.db.options,
        &SeedOptions { cards: 50, stores: 1, terminals_per_store: 3, initial_balance: 20, app_users: 0 },
    )
    .await
    .expect("seed");
    let shared = Shared::with_second_server(app.address.clone(), beside, 20, world);
    let target = Target { base: &app.address, pid: None, db: &app.db.options };
    let step = Step { hot_card: true, ..Step::new(60.0, Duration::from_secs(3)) };
    let run = fixed(&shared, &target, "actors", "beside", step, Load::default()).await.expect("run");
    assert!(run.check.passed, "{:?}", run.check.problems);
    assert!(run.check.acknowledged_writes > 50, "{:?}", run.check);
    counters_add_up(&run);
}
