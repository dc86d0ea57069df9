//! Prometheus metrics of the server (`--expose-prometheus DIR` or `HARVESTER_METRICS=true`), served at
//! `/metrics` in the text format: requests by route template and status with their latency, requests in
//! flight, the database pool, SQLite group commits, artifact bytes, and the background work (jobs by kind
//! and state, scans by status) read from the database at scrape time, so every replica reports the same
//! queue, and each served model's invocations (latency by version and status) and running workers.
//! Instruments live in one process-wide registry; when metrics are off, recording is a no-op.

pub mod http;

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    pub direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServedLabels {
    pub model: String,
    pub version: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: String,
}

/// Every instrument.
pub struct Metrics {
    pub requests: Family<RouteLabels, Counter>,
    pub latency: Family<LatencyLabels, Histogram>,
    pub in_flight: Gauge,
    pub pool_wait: Histogram,
    pub pool_size: Gauge,
    pub pool_idle: Gauge,
    pub group_commit: Histogram,
    pub artifact_bytes: Family<DirectionLabels, Counter>,
    pub jobs: Family<JobLabels, Gauge>,
    pub job_lag: Family<KindLabels, Gauge>,
    pub scans: Family<StatusLabels, Gauge>,
    pub serving_latency: Family<ServedLabels, Histogram>,
    pub serving_workers: Family<ModelLabels, Gauge>,
    registry: Registry,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The instruments, when metrics are on.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Turn metrics on for this process (idempotent).
pub fn enable() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("harvester");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being answered",
            in_flight.clone(),
        );
        let pool_wait = Histogram::new(exponential_buckets(0.0001, 4.0, 10));
        registry.register(
            "db_pool_wait_seconds",
            "Time a request waited for a database connection",
            pool_wait.clone(),
        );
        let pool_size = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Connections the database pool holds",
            pool_size.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Connections of the pool not in use",
            pool_idle.clone(),
        );
        let group_commit = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "sqlite_group_commit_writes",
            "Writes committed together by one SQLite group commit",
            group_commit.clone(),
        );
        let artifact_bytes = Family::<DirectionLabels, Counter>::default();
        registry.register(
            "artifact_bytes",
            "Artifact bytes through the proxy (in: uploaded, out: downloaded)",
            artifact_bytes.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Background jobs (bridge pulls, scans, webhook deliveries) by kind and state, shared by all replicas",
            jobs.clone(),
        );
        let job_lag = Family::<KindLabels, Gauge>::default();
        registry.register(
            "jobs_lag_seconds",
            "How long the oldest job of each kind has been due and not taken (the bridge's and scans' lag)",
            job_lag.clone(),
        );
        let scans = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "scans",
            "Model versions by the status of their latest scan",
            scans.clone(),
        );
        let serving_latency = Family::<ServedLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "serving_request_duration_seconds",
            "Time to answer an invocation of a served model, by model, version and status",
            serving_latency.clone(),
        );
        let serving_workers = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "serving_workers",
            "Worker processes running a served model's versions, by model (this replica's)",
            serving_workers.clone(),
        );
        Metrics {
            requests,
            latency,
            in_flight,
            pool_wait,
            pool_size,
            pool_idle,
            group_commit,
            artifact_bytes,
            jobs,
            job_lag,
            scans,
            serving_latency,
            serving_workers,
            registry,
        }
    }

    /// The text exposition of every instrument.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Count artifact bytes (a no-op with metrics off).
pub fn artifact_bytes(direction: &'static str, n: u64) {
    if let Some(m) = get() {
        m.artifact_bytes
            .get_or_create(&DirectionLabels { direction })
            .inc_by(n);
    }
}

/// Record one SQLite group commit of `writes` writes.
pub fn group_commit(writes: usize) {
    if let Some(m) = get() {
        m.group_commit.observe(writes as f64);
    }
}

/// Record a wait for a pooled connection.
pub fn pool_wait(secs: f64) {
    if let Some(m) = get() {
        m.pool_wait.observe(secs);
    }
}

/// Record one invocation of a served version (a no-op with metrics off).
pub fn served(model: &str, version: &str, status: u16, secs: f64) {
    if let Some(m) = get() {
        m.serving_latency
            .get_or_create(&ServedLabels {
                model: model.to_string(),
                version: version.to_string(),
                status,
            })
            .observe(secs);
    }
}
