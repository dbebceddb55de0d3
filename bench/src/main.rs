//! `stampede-bench`: see `--help`, and the README's performance section.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use stampede_bench::load::{Mix, Shared, Step};
use stampede_bench::report::{Report, RunReport, write_all};
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
    /// Seconds per step.
    #[arg(long, global = true, default_value_t = 10)]
    step_secs: u64,
    /// First offered rate of a sweep (ops/s).
    #[arg(long, global = true, default_value_t = 500.0)]
    start: f64,
    /// Factor between sweep steps.
    #[arg(long, global = true, default_value_t = 1.6)]
    growth: f64,
    #[arg(long, global = true, default_value_t = 12)]
    max_steps: usize,
    /// p99 target (ms) a sweep step must meet.
    #[arg(long, global = true, default_value_t = 10.0)]
    p99_ms: f64,
    /// Requests in flight before the client counts itself saturated.
    #[arg(long, global = true, default_value_t = 20_000)]
    max_inflight: u64,
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
        hot_card: hot,
        max_inflight: cli.max_inflight,
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
        ("sweep", _) => sweep(&shared, &t, "external", &plan(cli, false), &targets, cli.mix.mix(), &say).await?,
        ("hot-card", _) => sweep(&shared, &t, "external", &plan(cli, true), &targets, cli.mix.mix(), &say).await?,
        (name, Some(rate)) => {
            let step = Step { rate, duration: Duration::from_secs(cli.step_secs), hot_card: false, abuser: false };
            let r = fixed(&shared, &t, "external", name, step, cli.mix.mix(), cli.max_inflight).await?;
            say(&format!(
                "  {name}: achieved {:.0}/s p99 {:.1} ms check {}; disk before {}, after {}",
                r.steps[0].achieved_rps,
                r.steps[0].p99_ms,
                r.check.passed,
                stampede_bench::disk::describe(&r.disk_before),
                stampede_bench::disk::describe(&r.disk_after)
            ));
            r
        }
        _ => anyhow::bail!("unknown scenario"),
    };
    Ok(vec![run])
}

async fn compare(
    cli: &Cli,
    dbs: &[Db],
    engines: &[EngineKind],
    bin: PathBuf,
) -> anyhow::Result<(Vec<RunReport>, Vec<(String, f64)>)> {
    let mut runs = Vec::new();
    let mut ratios = Vec::new();
    for db in dbs {
        let backend = match db {
            Db::Sqlite => DatabaseBackend::Sqlite,
            Db::Postgres => DatabaseBackend::Postgres,
        };
        let mut best: Vec<(EngineKind, f64, f64)> = Vec::new();
        for engine in engines {
            let engine_name = match engine {
                EngineKind::Naive => "naive",
                EngineKind::Actors => "actors",
            };
            let label = format!(
                "{} / {engine_name}",
                match db {
                    Db::Sqlite => "sqlite",
                    Db::Postgres => "postgres",
                }
            );
            let label = match cli.second_server_percent {
                0 => label,
                p => format!("{label} + {p}% beside"),
            };
            let db_delay = match (db, cli.db_delay_us) {
                (Db::Postgres, us) if us > 0 => Some(std::time::Duration::from_micros(us)),
                _ => None,
            };
            let label = match db_delay {
                Some(_) => format!("{label}, database {} µs away each way", cli.db_delay_us),
                None => label,
            };
            let mut pair = (0.0, 0.0);
            // Settings to try on the servers it starts come from this
            // process's own `STAMPEDE_*` variables (the engine, database and
            // port are set by the bench itself).
            let extra: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("STAMPEDE_")).collect();
            for hot in [false, true] {
                say(&format!("starting a server: {label}…"));
                let server = Server::start_with_delay(&bin, backend, engine_name, &extra, db_delay).await?;
                say(&format!("seeding {} cards…", cli.cards));
                let world = seed(&server.db, &seed_options(cli)).await?;
                // Kept until the run ends: dropping it stops the process.
                let beside = match cli.second_server_percent {
                    0 => None,
                    _ => {
                        say("starting a second server (naive) on the same database…");
                        Some(server.start_beside(&bin, backend, "naive", &extra).await?)
                    }
                };
                let shared = match &beside {
                    Some(second) => Shared::with_second_server(
                        server.base.clone(),
                        second.base.clone(),
                        cli.second_server_percent,
                        world,
                    ),
                    None => Shared::new(server.base.clone(), world),
                };
                shared.sign_in(&say).await?;
                let t = Target { base: &server.base, pid: Some(server.pid()), db: &server.db };
                let targets = Targets { p99_ms: if hot { 20.0 } else { cli.p99_ms }, ..Default::default() };
                let run = sweep(&shared, &t, &label, &plan(cli, hot), &targets, cli.mix.mix(), &say).await?;
                if hot {
                    pair.1 = run.max_sustainable_rps
                } else {
                    pair.0 = run.max_sustainable_rps
                }
                runs.push(run);
            }
            best.push((*engine, pair.0, pair.1));
        }
        let get = |k: EngineKind| best.iter().find(|b| b.0 == k).copied();
        if let (Some(n), Some(a)) = (get(EngineKind::Naive), get(EngineKind::Actors)) {
            let name = match db {
                Db::Sqlite => "sqlite",
                Db::Postgres => "postgres",
            };
            if n.1 > 0.0 {
                ratios.push((format!("{name}: actors / naive, max sustainable"), a.1 / n.1));
            }
            if n.2 > 0.0 {
                ratios.push((format!("{name}: actors / naive, hot card"), a.2 / n.2));
            }
        }
    }
    Ok((runs, ratios))
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
    let (runs, ratios, stem) = match &cli.command {
        Scenario::Compare { dbs, engines, server_bin } => {
            let bin = server_bin.clone().unwrap_or_else(default_binary);
            let (runs, ratios) = compare(&cli, dbs, engines, bin).await?;
            (runs, ratios, "compare")
        }
        Scenario::Sweep(ext) => (external(&cli, ext, "sweep", None).await?, Vec::new(), "sweep"),
        Scenario::HotCard(ext) => (external(&cli, ext, "hot-card", None).await?, Vec::new(), "hot-card"),
        Scenario::Burst { ext, rate } => (external(&cli, ext, "burst", Some(*rate)).await?, Vec::new(), "burst"),
        Scenario::Soak { ext, rate } => (external(&cli, ext, "soak", Some(*rate)).await?, Vec::new(), "soak"),
    };
    let report = Report { command, machine: machine(), started_at: started_at.to_rfc3339(), runs, ratios };
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
