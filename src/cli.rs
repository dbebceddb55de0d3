//! Subcommands. `main` parses, loads settings, and calls one of these.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::configuration::Settings;
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(name = "stampede", version, about = "Stampede loyalty platform")]
pub struct Cli {
    /// A TOML settings file (default: ./stampede.toml if present). `STAMPEDE_*`
    /// environment variables override it; see stampede.example.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default). With no configuration: SQLite in ./data.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the AWS resources (DynamoDB tables with their indexes and TTL, SQS
    /// queues with dead-letter queues, the SES sender, the S3 bucket) at
    /// `aws.endpoint_url` or in AWS. Idempotent; for development and tests.
    Bootstrap,
    /// Run the queue handlers (email, transaction) against the SQS queues:
    /// long polling, visibility extended while a message is handled, deleted
    /// on success. For the AWS shape on a plain host (Lambda runs the same
    /// handlers); the embedded default runs them inside `serve`.
    Worker,
    /// Load and validate the configuration, print where things are, and exit.
    CheckConfig,
    /// Print the API document (OpenAPI 3.1, JSON) and exit: what `/openapi.json`
    /// answers, and what the web apps' typed client is generated from.
    Openapi,
    /// Manage the local issuer's signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Make a new signing key active. The old one stays in the JWKS until the
    /// tokens it signed have expired. Restart the server(s) to pick it up.
    Rotate,
}

pub fn print_openapi() -> anyhow::Result<()> {
    use std::io::Write as _;
    use utoipa::OpenApi as _;
    let document = crate::api::ops::openapi::ApiDoc::openapi().to_pretty_json()?;
    // A closed pipe (`| head`) is an error to report, not a panic.
    writeln!(std::io::stdout().lock(), "{document}")?;
    Ok(())
}

pub fn rotate_keys(settings: &Settings) -> anyhow::Result<()> {
    let dir = settings.data_dir().join("keys");
    let kid = crate::auth::keys::KeyRing::rotate(&dir)?;
    println!("New active signing key {kid} in {}. Restart the server to use it.", dir.display());
    Ok(())
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let mut app = Application::build(&settings).await?;
    let opts = settings.database_options();
    let database = match opts.backend {
        stampede_store::DatabaseBackend::Sqlite => format!("sqlite at {}", opts.url),
        stampede_store::DatabaseBackend::Postgres => "postgres".to_owned(),
    };
    let base = format!("http://{}:{}", settings.server.host, app.port());
    // The first-owner block comes first; the listening lines close the start-up
    // message (scripts and tests wait for the "health:" line).
    if let Some(owner) = app.take_first_owner() {
        println!("First start: created the owner account of \"{}\".", owner.business_name);
        println!("  email:             {}", owner.email);
        println!("  one-time password: {}", owner.password);
        println!("This password is shown only now. Sign in as staff with it; you will be asked");
        println!("to choose a new one.");
        println!();
    }
    println!("Stampede is listening on {base} (database: {database}).");
    println!("  health: {base}/healthz   readiness: {base}/readyz   API document: {base}/openapi.json");
    println!("  staff console: {base}/staff/   POS app: {base}/pos/");
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// What `stampede worker` needs of the settings, checked before anything
/// opens (a configuration error, exit code 2, naming the key).
pub fn check_worker(settings: &Settings) -> Result<(), String> {
    if settings.queue.backend != crate::configuration::QueueBackend::Sqs {
        return Err("queue.backend: `stampede worker` reads the SQS queues; set queue.backend = \"sqs\" \
             (the embedded default runs the workers inside `stampede serve`)"
            .into());
    }
    Ok(())
}

pub async fn worker(settings: Settings) -> anyhow::Result<()> {
    use std::sync::Arc;
    check_worker(&settings).map_err(anyhow::Error::msg)?;
    let store = stampede_store::open(&settings.database_options()).await?;
    let adapters = crate::startup::build_adapters(&settings, &store).await;
    let conf = adapters.aws.clone().ok_or_else(|| anyhow::anyhow!("aws: no AWS configuration"))?;
    let unsubscribe = Arc::new(crate::auth::links::LinkKey::from_settings(&settings).map_err(|e| anyhow::anyhow!(e))?);
    let workers = Arc::new(crate::workers::SqsWorkers {
        queue: Arc::new(stampede_aws::sqs::SqsQueue::from_conf(&conf, settings.aws.queue_prefix.clone())),
        handlers: crate::workers::Handlers::new(
            &settings,
            store,
            adapters.mailer,
            adapters.objects,
            adapters.queue,
            unsubscribe,
        ),
        visibility_secs: i32::try_from(settings.aws.visibility_timeout_secs).unwrap_or(60),
    });
    println!(
        "stampede worker: handling {} from SQS (queues {}*); Ctrl-C or SIGTERM stops it.",
        crate::workers::TOPICS.join(", "),
        settings.aws.queue_prefix
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        () = workers.run() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    // A message being handled when the signal came is not deleted: SQS hands
    // it out again after its visibility timeout, and the inbox skips what was done.
    println!("stampede worker: stopped");
    Ok(())
}

pub async fn bootstrap(settings: Settings) -> anyhow::Result<()> {
    let conf = stampede_aws::sdk_config(&settings.aws.options()).await;
    let target = settings.aws.endpoint_url.clone().unwrap_or_else(|| format!("AWS ({})", settings.aws.region));
    println!("Bootstrapping AWS resources at {target}:");
    let report = stampede_aws::bootstrap::run(&conf, &settings.aws.resources(&settings.sender_address()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for line in report {
        println!("  {line}");
    }
    Ok(())
}

pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let mut opts = settings.database_options();
    opts.migrate = true;
    let store = stampede_store::open(&opts).await?;
    println!("Migrations applied ({}).", store.backend());
    Ok(())
}

pub fn check_config(settings: &Settings) {
    let opts = settings.database_options();
    println!("configuration is valid");
    println!("  listen:   {}:{}", settings.server.host, settings.server.port);
    println!("  database: {:?}", opts.backend);
    println!("  data_dir: {}", settings.data_dir().display());
}
