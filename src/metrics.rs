//! Prometheus metrics. One [`Metrics`] is built at start-up, outside
//! `HttpServer::new`, and shared; subsystems add their families to the registry
//! before it is frozen into an `Arc`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~6.5 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// 1 while the last readiness probe reached the database, else 0.
    pub database_up: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("stampede");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", http_requests.clone());
        let http_duration = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register("http_request_duration_seconds", "Time from request to response", http_duration.clone());
        let database_up = Gauge::default();
        registry.register("database_up", "Whether the last readiness probe reached the database", database_up.clone());
        Self { registry, http_requests, http_duration, database_up }
    }

    /// For subsystems that add their own families at start-up.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels { method: method.to_owned(), route: route.to_owned(), status })
            .inc();
        self.http_duration.get_or_create(&RouteLabels { route: route.to_owned() }).observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// SQLite's write transactions and rows written (`stampede_store::writes`),
/// read at each scrape: `stampede_db_transactions_total` and
/// `stampede_db_rows_written_total`. (PostgreSQL keeps its own, in
/// `pg_stat_database`.)
#[derive(Debug)]
pub struct SqliteWrites;

impl prometheus_client::collector::Collector for SqliteWrites {
    fn encode(&self, mut encoder: prometheus_client::encoding::DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::counter::ConstCounter;
        let (transactions, rows) = stampede_store::writes::sqlite_writes();
        for (name, help, value) in [
            ("db_transactions", "Write transactions SQLite committed", transactions),
            ("db_rows_written", "Rows SQLite inserted, updated or deleted", rows),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}
