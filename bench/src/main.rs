//! `stampede-bench`: see `--help`, and the README's performance section.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use stampede_bench::load::{Load, Mix, Shared, Step};
use stampede_bench::plan::RetryDelay;
use stampede_bench::report::{Ratio, References, Report, RunReport, write_all};
use stampede_bench::run::{SweepPlan, Target, Targets, fixed, sweep};
use stampede_bench::seed::{SeedOptions, seed};
use stampede_bench::server::{Server, default_binary};
use stampede_store::{DatabaseBackend, DatabaseOptions, SqliteSync};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum EngineKind {
    Naive,
    Actors,
}

#[derive(Debug, Parser)]
#[command(
    name = "stampede-bench",
    about = "Open-loop POS load against Stampede, with a correctness check after every run"
)]
struct Cli {
    #[command(subcommand)]
    command: Scenario,
    /// Cards to seed: one stamp card and one points card per customer.
    #[arg(long, global = true, default_value_t = 100_000)]
    cards: usize,
    /// Customers who use the app (the most popular ones): they sign in
    /// through the API before the load, and make its balance reads and card
    /// views.
    #[arg(long, global = true, default_value_t = 200)]
    app_users: usize,
    #[command(flatten)]
    mix: MixArgs,
    #[arg(long, global = true, default_value_t = 10)]
    stores: usize,
    #[arg(long, global = true, default_value_t = 20)]
    terminals_per_store: usize,
    /// Seconds per step (each rate runs `--repeats` times).
    #[arg(long, global = true, default_value_t = 15)]
    step_secs: u64,
    /// Seconds of load before a sweep's first step, not reported: long
    /// enough that the popular cards are in memory, as on a server that has
    /// been up a while.
    #[arg(long, global = true, default_value_t = 15)]
    warmup_secs: u64,
    /// Runs of each rate; a rate is judged on them pooled.
    #[arg(long, global = true, default_value_t = 2)]
    repeats: u32,
    /// Bisections between the last rate that met the targets and the first
    /// that did not.
    #[arg(long, global = true, default_value_t = 3)]
    refine: u32,
    /// First offered rate of a sweep (requests/s).
    #[arg(long, global = true, default_value_t = 500.0)]
    start: f64,
    /// Factor between sweep rates until the knee is passed.
    #[arg(long, global = true, default_value_t = 1.5)]
    growth: f64,
    #[arg(long, global = true, default_value_t = 12)]
    max_steps: usize,
    /// p99 target (ms) a sweep rate must meet.
    #[arg(long, global = true, default_value_t = 10.0)]
    p99_ms: f64,
    /// The rate-limited terminal's own rate (requests/s) during sweeps,
    /// beside the offered rate; 0 for none. The servers `compare` starts
    /// allow a terminal 100/s.
    #[arg(long, global = true, default_value_t = 200.0)]
    abuser_rps: f64,
    /// The abuser's rate is at most this share of the offered rate.
    #[arg(long, global = true, default_value_t = 0.1)]
    abuser_share: f64,
    /// A retry follows its write after a delay drawn uniformly between these.
    #[arg(long, global = true, default_value_t = RetryDelay::default().min_ms)]
    retry_delay_min_ms: u64,
    #[arg(long, global = true, default_value_t = RetryDelay::default().max_ms)]
    retry_delay_max_ms: u64,
    /// `compare` only: skip the HTTP and database ceilings.
    #[arg(long, global = true)]
    no_ceilings: bool,
    /// `compare` only: the rate offered to `GET /healthz` for the HTTP ceiling.
    #[arg(long, global = true, default_value_t = 100_000.0)]
    http_ceiling_rps: f64,
    /// Where reports go.
    #[arg(long, global = true, default_value = "bench/results")]
    out: PathBuf,
    /// `compare` only: also start a second server, with the naive engine, on
    /// each run's database, and send it this percent of the writes (by
    /// idempotency key): another process writing to the same cards, as the
    /// expiry sweep in Lambda or a second host does. The check then covers
    /// both. Server CPU and memory are the first server's.
    #[arg(long, global = true, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
    second_server_percent: u64,
    /// `compare` only, PostgreSQL runs only: the servers reach the database
    /// through a proxy that holds each chunk of bytes this many microseconds
    /// each way, as if it were across a network (RDS in the reference
    /// deployment; a same-zone round trip is a few hundred microseconds).
    #[arg(long, global = true, default_value_t = 0)]
    db_delay_us: u64,
}

/// The workload mix: the share of each kind of request (issuance takes the
/// rest).
#[derive(Debug, Clone, clap::Args)]
struct MixArgs {
    /// Customers checking their balances in the app (`GET /v1/me/cards`).
    #[arg(long, global = true, default_value_t = Mix::default().balance_reads)]
    balance_reads: f64,
    /// Customers showing a card's code in the app (app usage, counted through
    /// the server's analytics queue).
    #[arg(long, global = true, default_value_t = Mix::default().card_views)]
    card_views: f64,
    /// The cashier's screen (`GET /v1/pos/stores/{store}/cards/{code}`).
    #[arg(long, global = true, default_value_t = Mix::default().lookups)]
    lookups: f64,
    #[arg(long, global = true, default_value_t = Mix::default().redemptions)]
    redemptions: f64,
    /// Earlier writes sent again with the same Idempotency-Key.
    #[arg(long, global = true, default_value_t = Mix::default().retries)]
    retries: f64,
    /// Writes sent twice at once with one key.
    #[arg(long, global = true, default_value_t = Mix::default().duplicates)]
    duplicates: f64,
}

impl Cli {
    fn load(&self) -> Load {
        Load {
            mix: self.mix.mix(),
            retry_delay: RetryDelay { min_ms: self.retry_delay_min_ms, max_ms: self.retry_delay_max_ms },
        }
    }
}

impl MixArgs {
    fn mix(&self) -> Mix {
        Mix {
            balance_reads: self.balance_reads,
            card_views: self.card_views,
            lookups: self.lookups,
            redemptions: self.redemptions,
            retries: self.retries,
            duplicates: self.duplicates,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Both engines on each database, side by side: a sweep and a hot-card sweep
    /// for each, against servers this command starts.
    Compare {
        #[arg(long, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        dbs: Vec<Db>,
        #[arg(long, value_delimiter = ',', default_values = ["naive", "actors"])]
        engines: Vec<EngineKind>,
        /// The `stampede` binary (default: beside this one).
        #[arg(long)]
        server_bin: Option<PathBuf>,
    },
    /// Step the rate up until p99 or errors break the target, against a running
    /// server (seeded through `--database`).
    Sweep(External),
    /// One card, many terminals.
    HotCard(External),
    /// A store-opening spike: `--rate` for `--step-secs`.
    Burst {
        #[command(flatten)]
        ext: External,
        #[arg(long, default_value_t = 5000.0)]
        rate: f64,
    },
    /// A fixed rate for a long time, watching memory.
    Soak {
        #[command(flatten)]
        ext: External,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
    },
}

#[derive(Debug, clap::Args)]
struct External {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The server's database: a SQLite file (default ./data/stampede.db) or a
    /// postgres:// URL. The bench seeds its world there.
    #[arg(long, default_value = "data/stampede.db")]
    database: String,
    /// The server's process id, to report its CPU time and memory.
    #[arg(long)]
    pid: Option<u32>,
}

fn say(s: &str) {
    eprintln!("{s}");
}

fn db_options(url: &str) -> DatabaseOptions {
    let backend = if url.starts_with("postgres") { DatabaseBackend::Postgres } else { DatabaseBackend::Sqlite };
    DatabaseOptions {
        backend,
        url: url.to_owned(),
        max_connections: 2,
        min_connections: 1,
        connect_timeout: Duration::from_secs(5),
        migrate: false,
        sqlite_sync: SqliteSync::Normal,
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    format!("{cpus} cores ({model}); server, database and load generator on one machine")
}

fn seed_options(cli: &Cli) -> SeedOptions {
    SeedOptions {
        cards: cli.cards,
        stores: cli.stores,
        terminals_per_store: cli.terminals_per_store,
        initial_balance: 1000,
        app_users: cli.app_users,
    }
}

fn plan(cli: &Cli, hot: bool) -> SweepPlan {
    SweepPlan {
        start_rps: cli.start,
        growth: cli.growth,
        max_steps: cli.max_steps,
        step: Duration::from_secs(cli.step_secs),
        warmup: Duration::from_secs(cli.warmup_secs),
        repeats: cli.repeats,
        refine: cli.refine,
        hot_card: hot,
        // One card takes every write: the abuser's would be the fleet's.
        abuser_rps: if hot { 0.0 } else { cli.abuser_rps },
        abuser_share: cli.abuser_share,
    }
}

async fn external(cli: &Cli, ext: &External, scenario: &str, rate: Option<f64>) -> anyhow::Result<Vec<RunReport>> {
    let db = db_options(&ext.database);
    say(&format!("seeding {} cards into {}…", cli.cards, ext.database));
    let world = seed(&db, &seed_options(cli)).await?;
    let shared = Shared::new(ext.url.clone(), world);
    shared.sign_in(&say).await?;
    let t = Target { base: &ext.url, pid: ext.pid, db: &db };
    let targets = Targets { p99_ms: cli.p99_ms, ..Default::default() };
    let run = match (scenario, rate) {
        ("sweep", _) => sweep(&shared, &t, "external", &plan(cli, false), &targets, cli.load(), &say).await?,
        ("hot-card", _) => sweep(&shared, &t, "external", &plan(cli, true), &targets, cli.load(), &say).await?,
        (name, Some(rate)) => {
            let step = Step { abuser_rps: cli.abuser_rps, ..Step::new(rate, Duration::from_secs(cli.step_secs)) };
            let r = fixed(&shared, &t, "external", name, step, cli.load()).await?;
            if let Some(p) = &r.peak {
                say(&format!(
                    "  {name}: committed {:.0} w/s, p99 {:.1} ms, check {}; disk before {}, after {}",
                    p.committed_wps,
                    p.p99_ms,
                    r.check.passed,
                    stampede_bench::disk::describe(&r.disk_before),
                    stampede_bench::disk::describe(&r.disk_after)
                ));
            }
            r
        }
        _ => anyhow::bail!("unknown scenario"),
    };
    Ok(vec![run])
}

fn db_name(db: Db) -> &'static str {
    match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    }
}

fn engine_name(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Naive => "naive",
        EngineKind::Actors => "actors",
    }
}

fn backend(db: Db) -> DatabaseBackend {
    match db {
        Db::Sqlite => DatabaseBackend::Sqlite,
        Db::Postgres => DatabaseBackend::Postgres,
    }
}

/// The label of one engine on one database, with what `compare` changed.
fn label(cli: &Cli, db: Db, engine: EngineKind) -> String {
    let mut label = format!("{} / {}", db_name(db), engine_name(engine));
    if cli.second_server_percent > 0 {
        label = format!("{label} + {}% beside", cli.second_server_percent);
    }
    if db == Db::Postgres && cli.db_delay_us > 0 {
        label = format!("{label}, database {} µs away each way", cli.db_delay_us);
    }
    label
}

/// One engine on one database, sweep or hot card, against a server of its own.
async fn compare_one(
    cli: &Cli,
    bin: &std::path::Path,
    db: Db,
    engine: EngineKind,
    hot: bool,
) -> anyhow::Result<RunReport> {
    let label = label(cli, db, engine);
    let db_delay = (db == Db::Postgres && cli.db_delay_us > 0).then(|| Duration::from_micros(cli.db_delay_us));
    // Settings to try on the servers it starts come from this process's own
    // `STAMPEDE_*` variables (the engine, database and port are the bench's).
    let extra: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("STAMPEDE_")).collect();
    say(&format!("starting a server: {label}…"));
    let server = Server::start_with_delay(bin, backend(db), engine_name(engine), &extra, db_delay).await?;
    say(&format!("seeding {} cards…", cli.cards));
    let world = seed(&server.db, &seed_options(cli)).await?;
    // Kept until the run ends: dropping it stops the process.
    let beside = match cli.second_server_percent {
        0 => None,
        _ => {
            say("starting a second server (naive) on the same database…");
            Some(server.start_beside(bin, backend(db), "naive", &extra).await?)
        }
    };
    let shared = match &beside {
        Some(second) => {
            Shared::with_second_server(server.base.clone(), second.base.clone(), cli.second_server_percent, world)
        }
        None => Shared::new(server.base.clone(), world),
    };
    shared.sign_in(&say).await?;
    let t = Target { base: &server.base, pid: Some(server.pid()), db: &server.db };
    let targets = Targets { p99_ms: if hot { 20.0 } else { cli.p99_ms }, ..Default::default() };
    sweep(&shared, &t, &label, &plan(cli, hot), &targets, cli.load(), &say).await
}

/// Actors ÷ naive for each database and scenario both engines ran.
fn ratios(runs: &[RunReport]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for db in ["sqlite", "postgres"] {
        for scenario in ["sweep", "hot-card"] {
            let find = |engine: &str| {
                runs.iter().find(|r| r.scenario == scenario && r.label.starts_with(&format!("{db} / {engine}")))
            };
            let (Some(a), Some(n)) = (find("actors"), find("naive")) else { continue };
            let peak = |r: &RunReport| r.peak.as_ref().map(|p| p.committed_wps);
            let sustainable = |r: &RunReport| r.max_sustainable.as_ref().map(|p| p.committed_wps);
            let div = |a: Option<f64>, n: Option<f64>| Some(a? / n.filter(|n| *n > 0.0)?);
            out.push(Ratio {
                database: db.into(),
                scenario: scenario.into(),
                peak: div(peak(a), peak(n)),
                max_sustainable: div(sustainable(a), sustainable(n)),
            });
        }
    }
    out
}

/// The HTTP ceiling against a server of its own, and each database's.
async fn ceilings(cli: &Cli, bin: &std::path::Path, dbs: &[Db]) -> anyhow::Result<References> {
    let mut refs = References::default();
    say("the HTTP ceiling: GET /healthz over the fleet's connections…");
    let server = Server::start(bin, DatabaseBackend::Sqlite, "actors", &[]).await?;
    let world = seed(&server.db, &SeedOptions { cards: 100, app_users: 0, ..seed_options(cli) }).await?;
    let shared = Shared::new(server.base.clone(), world);
    let t = Target { base: &server.base, pid: Some(server.pid()), db: &server.db };
    let h = stampede_bench::ceiling::http(&shared, &t, cli.http_ceiling_rps, 3).await?;
    say(&format!("  {:.0} answers/s, p99 {:.1} ms", h.reads_ps, h.p99_ms));
    refs.http_ceiling = Some(h);
    drop(server);
    for db in dbs {
        say(&format!("the database ceiling: {}…", db_name(*db)));
        let d = stampede_bench::ceiling::database(backend(*db), 100_000, 1000).await?;
        say(&format!("  {:.0} rows/s", d.rows_per_s));
        refs.db_ceiling.push(d);
    }
    Ok(refs)
}

async fn compare(
    cli: &Cli,
    dbs: &[Db],
    engines: &[EngineKind],
    bin: PathBuf,
) -> anyhow::Result<(Vec<RunReport>, References)> {
    let refs = if cli.no_ceilings { References::default() } else { ceilings(cli, &bin, dbs).await? };
    let mut runs = Vec::new();
    for db in dbs {
        for engine in engines {
            for hot in [false, true] {
                runs.push(compare_one(cli, &bin, *db, *engine, hot).await?);
            }
        }
    }
    Ok((runs, refs))
}

/// The commit the harness was built from, if it runs in a checkout.
fn commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mix = cli.mix.mix();
    if let Err(e) = mix.validate() {
        eprintln!("stampede-bench: {e}");
        std::process::exit(2);
    }
    if cli.app_users == 0 && mix.balance_reads + mix.card_views > 0.0 {
        eprintln!("stampede-bench: --balance-reads and --card-views need app users (--app-users > 0)");
        std::process::exit(2);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let started_at = chrono::Utc::now();
    let (runs, references, stem) = match &cli.command {
        Scenario::Compare { dbs, engines, server_bin } => {
            let bin = server_bin.clone().unwrap_or_else(default_binary);
            let (runs, refs) = compare(&cli, dbs, engines, bin).await?;
            (runs, refs, "compare")
        }
        Scenario::Sweep(ext) => (external(&cli, ext, "sweep", None).await?, References::default(), "sweep"),
        Scenario::HotCard(ext) => (external(&cli, ext, "hot-card", None).await?, References::default(), "hot-card"),
        Scenario::Burst { ext, rate } => {
            (external(&cli, ext, "burst", Some(*rate)).await?, References::default(), "burst")
        }
        Scenario::Soak { ext, rate } => {
            (external(&cli, ext, "soak", Some(*rate)).await?, References::default(), "soak")
        }
    };
    let report = Report {
        command,
        machine: machine(),
        commit: commit(),
        started_at: started_at.to_rfc3339(),
        ratios: ratios(&runs),
        runs,
        references,
    };
    let stem = format!("{stem}-{}", started_at.format("%Y%m%d-%H%M%S"));
    write_all(&report, &cli.out, &stem)?;
    write_all(
        &report,
        &cli.out,
        &format!("latest-{}", report.runs.first().map(|r| r.scenario.as_str()).unwrap_or("run")),
    )?;
    println!("{}", stampede_bench::report::markdown(&report));
    say(&format!("reports written to {}/{stem}.{{json,md,svg}}", cli.out.display()));
    if report.runs.iter().any(|r| !r.check.passed) {
        say("CORRECTNESS CHECK FAILED: the database does not hold exactly what was acknowledged");
        std::process::exit(1);
    }
    Ok(())
}
