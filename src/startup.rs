//! Wiring: settings in, a bound, ready-to-run server out.
//!
//! [`Application::build`] opens the store (migrating if configured), creates the
//! first owner on first start, builds the shared state and metrics once, binds
//! the listener (port 0 in tests) and builds the actix-web server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};

use crate::api::{self, observe, rejections};
use crate::bootstrap::{FirstOwner, ensure_first_owner};
use crate::configuration::Settings;
use crate::metrics::Metrics;
use crate::password::PasswordHasher;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    first_owner: Option<FirstOwner>,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let store = stampede_store::open(&settings.database_options()).await?;
        let passwords = PasswordHasher::new(2);
        let first_owner = ensure_first_owner(store.as_ref(), &passwords, &settings.bootstrap).await?;

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener =
            TcpListener::bind(&address).map_err(|e| anyhow::anyhow!("server.port: cannot listen on {address}: {e}"))?;
        let port = listener.local_addr()?.port();

        let state = web::Data::new(AppState { store: Arc::clone(&store), passwords });
        let metrics = web::Data::new(Metrics::new());
        let body_limit = settings.server.body_limit_bytes;

        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(ErrorHandlers::new().default_handler(rejections::ensure_problem))
                .wrap(from_fn(observe::observe))
                .app_data(state.clone())
                .app_data(metrics.clone())
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
