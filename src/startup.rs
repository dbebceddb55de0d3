//! Wiring: settings in, a bound, ready-to-run server out.
//!
//! [`Application::build`] opens the store (migrating if configured), creates the
//! first owner on first start, builds the shared state (keys, verifier, cache,
//! rate limiter, mailer) and metrics once, binds the listener (port 0 in tests)
//! and builds the actix-web server.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Condition, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use jsonwebtoken::Algorithm;
use secrecy::ExposeSecret;
use stampede_domain::ports::{AuditRepo, Cache, HistoryStore, Mailer, ObjectStore, Queue, RateLimiter, SessionRepo};
use stampede_store::cache::{MemoryCache, RedisCache, connect_redis};
use stampede_store::mailbox::FileMailer;
use stampede_store::objects::FileObjects;
use stampede_store::queue::StoreQueue;
use stampede_store::ratelimit::{MemoryRateLimiter, RedisRateLimiter};

use crate::api::{self, observe, rejections};
use crate::auth::keys::KeyRing;
use crate::auth::tokens::{CUSTOMER_CLIENT_ID, LocalIssuer, STAFF_CLIENT_ID};
use crate::auth::verify::{AccessIssuer, IdIssuer, KeySource, PrincipalKind, RemoteJwks, TokenVerifier};
use crate::bootstrap::{FirstOwner, ensure_first_owner};
use crate::configuration::{
    CacheBackend, Engine, HistoryBackend, IdentityBackend, MailBackend, ObjectBackend, QueueBackend, RecordBackend,
    Settings, SocialSettings,
};
use crate::metrics::Metrics;
use crate::password::PasswordHasher;
use crate::relay::{Consumers, Relay};
use crate::state::{AppState, Limits, Links, Policy, PosPolicy};
use crate::workers::QueueGauges;

pub struct Application {
    port: u16,
    server: Server,
    first_owner: Option<FirstOwner>,
}

fn id_issuer(s: &SocialSettings, http: &reqwest::Client) -> Option<IdIssuer> {
    (!s.client_ids.is_empty()).then(|| IdIssuer {
        issuers: s.issuers.clone(),
        keys: Arc::new(RemoteJwks::new(&s.jwks_url, http.clone())),
        audiences: s.client_ids.clone(),
    })
}

async fn cache_and_limiter(settings: &Settings) -> anyhow::Result<(Arc<dyn Cache>, Arc<dyn RateLimiter>)> {
    match settings.cache.backend {
        CacheBackend::InProcess => {
            let limiter = Arc::new(MemoryRateLimiter::default());
            let evict = Arc::clone(&limiter);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    evict.evict_idle();
                }
            });
            Ok((Arc::new(MemoryCache::new(settings.cache.memory_bytes)), limiter))
        }
        CacheBackend::Redis => {
            let url = settings.cache.redis_url.as_ref().map(|u| u.expose_secret().to_owned()).unwrap_or_default();
            let conn = connect_redis(&url, Duration::from_secs(3))
                .await
                .map_err(|e| anyhow::anyhow!("cache.redis_url: {e}"))?;
            let prefix = settings.cache.key_prefix.clone();
            Ok((Arc::new(RedisCache::new(conn.clone(), prefix.clone())), Arc::new(RedisRateLimiter::new(conn, prefix))))
        }
    }
}

/// The adapters behind the mail, object, history and queue ports: the embedded
/// default's, or AWS services sharing one SDK configuration.
pub struct Adapters {
    pub mailer: Arc<dyn Mailer>,
    pub objects: Arc<dyn ObjectStore>,
    pub history: Arc<dyn HistoryStore>,
    pub queue: Arc<dyn Queue>,
    /// The in-process queues, when the queue backend is in process: the
    /// workers run inside this server then.
    pub in_process: Option<Arc<StoreQueue>>,
    pub sessions: Arc<dyn SessionRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub aws: Option<stampede_aws::SdkConfig>,
}

pub async fn build_adapters(settings: &Settings, store: &Arc<dyn stampede_domain::ports::Store>) -> Adapters {
    let aws = match settings.uses_aws() {
        true => Some(stampede_aws::sdk_config(&settings.aws.options()).await),
        false => None,
    };
    let a = &settings.aws;
    let mailer: Arc<dyn Mailer> = match (&aws, settings.mail.backend) {
        (Some(conf), MailBackend::Ses) => Arc::new(stampede_aws::ses::SesMailer::from_conf(
            conf,
            settings.mail.from.clone(),
            a.ses_configuration_set.clone(),
        )),
        _ => Arc::new(FileMailer::new(settings.data_dir().join("mail"), settings.mail.from.clone())),
    };
    let objects: Arc<dyn ObjectStore> = match (&aws, settings.objects.backend) {
        (Some(conf), ObjectBackend::S3) => Arc::new(stampede_aws::s3::S3Objects::from_conf(conf, a.bucket.clone())),
        _ => Arc::new(FileObjects::new(settings.data_dir().join("objects"))),
    };
    let history: Arc<dyn HistoryStore> = match (&aws, settings.history.backend) {
        (Some(conf), HistoryBackend::Dynamodb) => Arc::new(stampede_aws::history::DynamoHistory::from_conf(
            conf,
            a.transactions_table.clone(),
            a.history_retention_days,
        )),
        _ => store.clone(),
    };
    let (queue, in_process): (Arc<dyn Queue>, _) = match (&aws, settings.queue.backend) {
        (Some(conf), QueueBackend::Sqs) => {
            (Arc::new(stampede_aws::sqs::SqsQueue::from_conf(conf, a.queue_prefix.clone())), None)
        }
        _ => {
            let q = Arc::new(StoreQueue::new(store.clone()));
            (q.clone(), Some(q))
        }
    };
    let sessions: Arc<dyn SessionRepo> = match (&aws, settings.sessions.backend) {
        (Some(conf), RecordBackend::Dynamodb) => {
            Arc::new(stampede_aws::sessions::DynamoSessions::from_conf(conf, a.sessions_table.clone()))
        }
        _ => store.clone(),
    };
    let audit: Arc<dyn AuditRepo> = match (&aws, settings.audit.backend) {
        (Some(conf), RecordBackend::Dynamodb) => {
            Arc::new(stampede_aws::audit::DynamoAudit::from_conf(conf, a.audit_table.clone(), a.audit_retention_days))
        }
        _ => store.clone(),
    };
    Adapters { mailer, objects, history, queue, in_process, sessions, audit, aws }
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        // Whatever the engine: each password hash takes a 19 MiB block, and
        // with glibc's thresholds free to rise, the blocks of a burst of
        // sign-ins stay in the blocking threads' arenas. 200 sign-ins left
        // a naive-engine server at 477 MiB resident, against 49 MiB with
        // the thresholds fixed (the actor engine already fixed them).
        stampede_actors::memory::fix_allocator_thresholds();
        // The data folder holds keys, the SQLite file, mail and uploads: ours alone.
        let data_dir = settings.data_dir();
        stampede_store::private::dir(&data_dir).with_context(|| format!("data_dir: {}", data_dir.display()))?;
        let store = stampede_store::open(&settings.database_options()).await?;
        let passwords = PasswordHasher::new(settings.identity.max_concurrent_hashes);
        let first_owner = ensure_first_owner(store.as_ref(), &passwords, &settings.bootstrap).await?;

        let id = &settings.identity;
        let keys_dir = settings.data_dir().join("keys");
        let retain = Duration::from_secs(id.access_token_ttl_secs + 300);
        let ring = Arc::new(KeyRing::load_or_create(&keys_dir, retain).context("signing keys")?);
        let (cache, limiter) = cache_and_limiter(settings).await?;
        let records = crate::cached::Records::new(Arc::clone(&cache), Arc::clone(&store));
        records.spawn_retries();
        let Adapters { mailer, objects, history, queue, in_process, sessions, audit, aws } =
            build_adapters(settings, &store).await;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().context("HTTP client")?;
        let local = AccessIssuer {
            iss: id.local_issuer.clone(),
            keys: KeySource::Local(Arc::clone(&ring)),
            algorithms: vec![Algorithm::ES256],
            client_ids: HashMap::from([
                (CUSTOMER_CLIENT_ID.to_owned(), PrincipalKind::Customer),
                (STAFF_CLIENT_ID.to_owned(), PrincipalKind::Staff),
            ]),
        };
        let mut access = vec![local];
        let cognito = match (&aws, id.backend) {
            (Some(conf), IdentityBackend::Cognito) => {
                let region = &settings.aws.region;
                let pools =
                    [(&id.cognito.customers, PrincipalKind::Customer), (&id.cognito.staff, PrincipalKind::Staff)];
                for (pool, kind) in pools {
                    // Cognito signs with RS256; its issuer and where its keys are
                    // served are separate settings (a local endpoint differs).
                    access.push(AccessIssuer {
                        iss: pool.issuer(region),
                        keys: KeySource::Remote(Arc::new(RemoteJwks::new(pool.jwks_url(region), http.clone()))),
                        algorithms: vec![Algorithm::RS256],
                        client_ids: HashMap::from([(pool.client_id.clone(), kind)]),
                    });
                }
                Some(crate::state::CognitoPools {
                    customers: stampede_aws::cognito::CognitoPool::from_conf(
                        conf,
                        id.cognito.customers.pool_id.clone(),
                        id.cognito.customers.client_id.clone(),
                    ),
                    staff: stampede_aws::cognito::CognitoPool::from_conf(
                        conf,
                        id.cognito.staff.pool_id.clone(),
                        id.cognito.staff.client_id.clone(),
                    ),
                })
            }
            _ => None,
        };
        let verifier =
            TokenVerifier::new(access, id_issuer(&id.google, &http), id_issuer(&id.apple, &http), Arc::clone(&cache));
        let issuer = LocalIssuer {
            ring: Arc::clone(&ring),
            iss: id.local_issuer.clone(),
            access_ttl_secs: id.access_token_ttl_secs,
            refresh_ttl_days: id.refresh_token_ttl_days,
        };
        let dummy_hash = passwords.hash(crate::auth::secret::random_token()).await?;

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener =
            TcpListener::bind(&address).map_err(|e| anyhow::anyhow!("server.port: cannot listen on {address}: {e}"))?;
        let port = listener.local_addr()?.port();

        let mut metrics = Metrics::new();
        let runtime_metrics = stampede_actors::RuntimeMetrics::new();
        runtime_metrics.register(metrics.registry_mut());
        let backlog = prometheus_client::metrics::gauge::Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        metrics.registry_mut().register("outbox_backlog", "Outbox rows not yet relayed", backlog.clone());
        let handled = prometheus_client::metrics::counter::Counter::<u64>::default();
        let dead_letters = prometheus_client::metrics::counter::Counter::<u64>::default();
        metrics.registry_mut().register(
            "worker_messages_handled",
            "Queue messages handled in process",
            handled.clone(),
        );
        metrics.registry_mut().register("worker_dead_letters", "Queue messages given up on", dead_letters.clone());
        let queued = QueueGauges::default();
        metrics.registry_mut().register(
            "queue_waiting",
            "Messages waiting in the in-process queues (kept in the database)",
            queued.waiting.clone(),
        );
        metrics.registry_mut().register(
            "queue_buried",
            "Messages the in-process workers gave up on, kept in the database",
            queued.buried.clone(),
        );
        if store.backend() == "sqlite" {
            metrics.registry_mut().register_collector(Box::new(crate::metrics::SqliteWrites));
        }
        let metrics = web::Data::new(metrics);
        let rt = &settings.runtime;
        // Cold cards are read many to a query, for the POS path and the actors alike.
        let card_reads = stampede_actors::CardReads::start(Arc::clone(&store), runtime_metrics.read_batch_size.clone());
        let engine: Arc<dyn stampede_actors::CardEngine> = match rt.engine {
            Engine::Actors => stampede_actors::ActorEngine::start_with_reads(
                Arc::clone(&store),
                stampede_actors::RuntimeConfig {
                    writers: rt.writers,
                    max_batch: rt.max_batch,
                    commit_window: Duration::from_micros(rt.commit_window_us),
                    writer_queue: rt.writer_queue,
                    mailbox: rt.mailbox,
                    idle_timeout: Duration::from_secs(rt.idle_timeout_secs),
                    max_actors: rt.max_actors,
                    relay_all: in_process.is_none()
                        || (aws.is_some() && matches!(settings.history.backend, HistoryBackend::Dynamodb)),
                    // What actors remember of idempotency keys: the runtime's defaults.
                    ..Default::default()
                },
                runtime_metrics.clone(),
                Arc::clone(&card_reads),
            ),
            Engine::Naive => stampede_actors::NaiveEngine::new(Arc::clone(&store), runtime_metrics.clone()),
        };
        let unsubscribe =
            Arc::new(crate::auth::links::LinkKey::from_settings(settings).map_err(|e| anyhow::anyhow!(e))?);
        // App usage: counted here beside the in-process workers, else sent to
        // the workers elsewhere as events.
        let usage = crate::usage::Usage::start(match in_process {
            Some(_) => crate::usage::Sink::Counts(store.clone()),
            None => crate::usage::Sink::Queue(Arc::clone(&queue)),
        });
        let consumers = match in_process {
            Some(q) => {
                let handlers = Arc::new(crate::workers::Handlers::new(
                    settings,
                    Arc::clone(&store),
                    mailer,
                    Arc::clone(&objects),
                    Arc::clone(&queue),
                    Arc::clone(&unsubscribe),
                ));
                tokio::spawn(
                    crate::workers::InProcessWorkers {
                        queue: q,
                        handlers: Arc::clone(&handlers),
                        handled: handled.clone(),
                        dead_letters,
                        queued,
                        lease: Duration::from_secs(settings.queue.lease_secs),
                    }
                    .run(),
                );
                Arc::new(crate::schedule::Schedules {
                    store: Arc::clone(&store),
                    records: Arc::clone(&records),
                    engine: Arc::clone(&engine),
                    handlers: Arc::clone(&handlers),
                })
                .spawn();
                Consumers::InProcess { handlers, retry: Arc::clone(&queue), handled }
            }
            None => Consumers::Queues(Arc::clone(&queue)),
        };
        tokio::spawn(Relay { store: Arc::clone(&store), history: Arc::clone(&history), consumers, batch: 500 }.run());
        tokio::spawn(crate::relay::watch_backlog(Arc::clone(&store), backlog, Duration::from_secs(1)));
        tokio::spawn(crate::audit::relay(Arc::clone(&store), Arc::clone(&audit), Duration::from_secs(1)));
        tokio::spawn(crate::mailings::relay(Arc::clone(&store), Arc::clone(&queue), Duration::from_secs(1)));
        crate::sweeps::spawn(
            Arc::clone(&store),
            Arc::clone(&records),
            Arc::clone(&engine),
            Duration::from_secs(rt.expiry_sweep_secs),
        );
        crate::sweeps::spawn_upload_retention(
            Arc::clone(&objects),
            chrono::Duration::days(i64::from(settings.uploads.retention_days)),
        );
        let state = web::Data::new(AppState {
            store: Arc::clone(&store),
            sessions,
            audit,
            passwords,
            verifier,
            issuer,
            cache,
            records,
            limiter,
            limits: Limits::from_settings(&settings.rate_limits),
            objects,
            history,
            history_reads: settings.history.backend,
            engine,
            runtime_metrics,
            directory: crate::directory::Directory::new(card_reads, 1_000_000),
            pos: PosPolicy {
                idempotency_ttl: Duration::from_secs(rt.idempotency_ttl_hours * 3600),
                cancel_window: chrono::Duration::seconds(rt.cancel_window_secs as i64),
            },
            usage,
            uploads: settings.uploads,
            queue,
            touched: moka::future::Cache::builder().max_capacity(100_000).time_to_live(Duration::from_secs(60)).build(),
            links: Links { public_url: settings.server.public_url.clone() },
            policy: Policy {
                min_password_length: id.min_password_length,
                email_token_ttl: Duration::from_secs(id.email_token_ttl_hours * 3600),
                invitation_ttl: Duration::from_secs(id.invitation_ttl_days * 86400),
            },
            dummy_hash,
            cognito,
            mfa: Arc::new(crate::auth::totp::Sealer::new(&unsubscribe)),
            link_key: unsubscribe,
        });
        let body_limit = settings.server.body_limit_bytes;
        let cors_origins = settings.server.cors_origins.clone();
        let proxies =
            settings.server.trusted_proxy_nets().map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?;
        let client_ip = web::Data::new(api::ClientIp::new(proxies));

        let mut server = HttpServer::new(move || {
            App::new()
                // Innermost: every answer carries its headers, and its own
                // refusals (an origin not allowed) become problems too.
                .wrap(Condition::new(!cors_origins.is_empty(), cors(&cors_origins)))
                .wrap(ErrorHandlers::new().default_handler(rejections::ensure_problem))
                .wrap(from_fn(observe::observe))
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(client_ip.clone())
                .app_data(rejections::json_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(rejections::path_config())
                .app_data(rejections::query_config())
                .configure(api::routes)
                .default_service(web::to(rejections::not_found))
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_secs(10));
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self { port, server, first_owner })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The owner created by this start, if it was the first; shown once.
    pub fn take_first_owner(&mut self) -> Option<FirstOwner> {
        self.first_owner.take()
    }

    /// Serve until SIGTERM or SIGINT, then finish in-flight requests (up to
    /// `server.shutdown_timeout_secs`) and return.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// CORS for the configured origins: the API's methods, the headers its
/// clients send, the `ETag` they read; credentials are bearer tokens, never
/// cookies, so none are allowed.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{Method, header};
    let cors = origins.iter().fold(actix_cors::Cors::default(), |c, o| c.allowed_origin(o));
    cors.allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::ETAG, header::RETRY_AFTER, header::LOCATION])
        .max_age(600)
}
