//! Configuration: `mlflow server`'s flag names, `MLFLOW_*` environment variables and defaults (§9).

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "harvester",
    version,
    about = "MLflow-compatible tracking and model-registry server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the tracking server (the same flags as `mlflow server`).
    Server(Box<ServerConfig>),
    /// Print the OpenAPI document generated from the code (committed as api-spec/openapi.json).
    DumpOpenapi,
    /// The EvalAI bridge from the command line.
    #[command(subcommand)]
    Evalai(EvalaiCommand),
    /// Validate and statically scan a submission (a zip, or a folder with an `MLmodel`), or scan any
    /// folder or file: prints the report and exits 1 when the scan fails under the policy.
    Scan {
        /// The zip, folder or file to scan.
        path: String,
        /// `text` (for people) or `json` (the report as the server stores it).
        #[arg(long, default_value = "text")]
        format: String,
        #[command(flatten)]
        scan: ScanFlags,
    },
    /// The competition's submission template.
    #[command(subcommand)]
    Template(TemplateCommand),
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Write the submission starter kit (model.py, make_submission.py, weights.json, README.md) into DIR.
    Init {
        dir: String,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
}

/// The scan's settings, shared by the server and `harvester scan`.
#[derive(Debug, Clone, Default, Args)]
pub struct ScanFlags {
    /// A folder of advisories in OSV's JSON format (e.g. OSV's PyPI export, unzipped); default: the
    /// small snapshot built in (advisories/README.md says how to refresh a real one).
    #[arg(long, env = "HARVESTER_ADVISORY_DB")]
    pub advisory_db: Option<String>,
    /// The lowest severity that fails a scan: `high`, `medium` or `low` (default `high`).
    #[arg(long, env = "HARVESTER_SCAN_FAIL_ON")]
    pub scan_fail_on: Option<String>,
    /// The scan policy file (TOML: `fail_on`, and `[[allow]]` entries of `rule`, `path`, `reason`).
    #[arg(long, env = "HARVESTER_SCAN_CONFIG")]
    pub scan_config: Option<String>,
}

impl ScanFlags {
    pub fn options(&self) -> Result<crate::scan::Options, String> {
        let advisories = match &self.advisory_db {
            Some(dir) => crate::scan::Advisories::load(std::path::Path::new(dir))?,
            None => crate::scan::Advisories::snapshot(),
        };
        Ok(crate::scan::Options {
            policy: crate::scan::Policy::load(
                self.scan_config.as_deref(),
                self.scan_fail_on.as_deref(),
            )?,
            advisories: std::sync::Arc::new(advisories),
            limits: Default::default(),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum EvalaiCommand {
    /// Backfill: queue a pull of every submission of a challenge and wait until all are harvested (takes
    /// the server's flags, `--evalai-config` among them).
    #[command(disable_help_flag = true)]
    Sync {
        /// The challenge id (one of an installation's `challenges`).
        #[arg(long)]
        challenge: i64,
        /// The installation (`name` in the config); needed when several list the challenge.
        #[arg(long = "installation")]
        installation: Option<String>,
        #[command(flatten)]
        server: Box<ServerConfig>,
    },
}

#[derive(Debug, Clone, Args)]
#[command(disable_help_flag = true)]
pub struct ServerConfig {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    /// Tracking store: `sqlite:///<path>` or `postgresql://user:pass@host:port/db`.
    #[arg(
        long,
        env = "MLFLOW_BACKEND_STORE_URI",
        default_value = "sqlite:///mlflow.db"
    )]
    pub backend_store_uri: String,

    /// Registry store; Harvester keeps the registry in the backend store, so this must be unset or equal.
    #[arg(long, env = "MLFLOW_REGISTRY_STORE_URI")]
    pub registry_store_uri: Option<String>,

    /// Root for new experiments' artifact locations.
    #[arg(long, env = "MLFLOW_DEFAULT_ARTIFACT_ROOT")]
    pub default_artifact_root: Option<String>,

    /// Serve artifacts through the mlflow-artifacts proxy (the default).
    #[arg(
        long,
        env = "MLFLOW_SERVE_ARTIFACTS",
        default_value_t = true,
        overrides_with = "no_serve_artifacts"
    )]
    pub serve_artifacts: bool,

    /// Disable the mlflow-artifacts proxy.
    #[arg(long, overrides_with = "serve_artifacts")]
    pub no_serve_artifacts: bool,

    /// Where proxied artifacts are stored.
    #[arg(
        long,
        env = "MLFLOW_ARTIFACTS_DESTINATION",
        default_value = "./mlartifacts"
    )]
    pub artifacts_destination: String,

    /// Serve only the artifact routes.
    #[arg(long, env = "MLFLOW_ARTIFACTS_ONLY", default_value_t = false)]
    pub artifacts_only: bool,

    /// With an S3 destination, let clients move artifacts straight to S3 (multipart uploads and presigned
    /// downloads, advertised in server-info), as `mlflow server` does. `false`: everything goes through
    /// the proxy (for object stores that clients cannot reach).
    #[arg(long, env = "HARVESTER_S3_DIRECT_TRANSFERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub s3_direct_transfers: bool,

    /// The S3 endpoint as clients reach it, used to sign their direct-transfer URLs (default: the
    /// server's own endpoint, e.g. when that is an internal name such as `http://minio:9000`).
    #[arg(long, env = "HARVESTER_S3_PUBLIC_ENDPOINT_URL")]
    pub s3_public_endpoint_url: Option<String>,

    /// Address to listen on.
    #[arg(short = 'h', long, env = "MLFLOW_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on.
    #[arg(short = 'p', long, env = "MLFLOW_PORT", default_value_t = 5000)]
    pub port: u16,

    /// HTTP worker threads.
    #[arg(short = 'w', long, env = "MLFLOW_WORKERS", default_value_t = 4)]
    pub workers: usize,

    /// The built MLflow web UI to serve at `/` (default: the `mlflow` package installed for Python, if any).
    #[arg(long, env = "MLFLOW_UI_DIR")]
    pub ui_dir: Option<String>,

    /// Prefix for every route (must start with `/` and not end with `/`).
    #[arg(long, env = "MLFLOW_STATIC_PREFIX")]
    pub static_prefix: Option<String>,

    /// Database connections per pool.
    #[arg(long, env = "HARVESTER_DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,

    /// PostgreSQL `statement_timeout`, in seconds: a query running longer is cancelled and its connection
    /// freed (0 turns it off).
    #[arg(
        long,
        env = "HARVESTER_DB_STATEMENT_TIMEOUT_SECS",
        default_value_t = 30
    )]
    pub db_statement_timeout_secs: u64,

    /// Maximum JSON request body, in bytes.
    #[arg(long, env = "HARVESTER_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds a request body may go without a byte before the request is refused (uploads and JSON
    /// bodies alike), so stalled clients cannot pile up.
    #[arg(long, env = "HARVESTER_BODY_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub body_idle_timeout_secs: u64,

    /// Comma-separated Host headers the server answers (fnmatch patterns with `*`; `*` for any). Default:
    /// loopback names and private addresses, with any port, as in `mlflow server`.
    #[arg(long, env = "MLFLOW_SERVER_ALLOWED_HOSTS")]
    pub allowed_hosts: Option<String>,

    /// Comma-separated origins allowed to make state-changing cross-origin API calls (localhost always is).
    #[arg(long, env = "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS")]
    pub cors_allowed_origins: Option<String>,

    /// `X-Frame-Options` on every response (`SAMEORIGIN`, `DENY`, or `NONE` for none).
    #[arg(
        long,
        env = "MLFLOW_SERVER_X_FRAME_OPTIONS",
        default_value = "SAMEORIGIN"
    )]
    pub x_frame_options: String,

    /// Turn off Host validation, CORS blocking and the security headers (testing only).
    #[arg(
        long,
        env = "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE",
        default_value_t = false
    )]
    pub disable_security_middleware: bool,

    /// The EvalAI bridge's TOML file: one `[[evalai]]` table per installation (README, "Connect EvalAI").
    /// Serve Prometheus metrics at `/metrics` (MLflow's flag: the directory, where stock's multiprocess
    /// exporter keeps its files, is created and otherwise unused: Harvester keeps its metrics in memory).
    #[arg(long, env = "MLFLOW_EXPOSE_PROMETHEUS")]
    pub expose_prometheus: Option<String>,

    /// Serve Prometheus metrics at `/metrics` without naming a directory.
    #[arg(long, env = "HARVESTER_METRICS", default_value_t = false, action = clap::ArgAction::Set)]
    pub metrics: bool,

    /// MLflow's workspaces: experiments, models, webhooks and gateway resources scoped by the
    /// `X-MLflow-Workspace` header (`--enable-workspaces`).
    #[arg(long, env = "MLFLOW_ENABLE_WORKSPACES", default_value_t = false, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true")]
    pub enable_workspaces: bool,

    /// Where workspaces are kept: Harvester keeps them in its backend store, so this must name it (or be
    /// left out).
    #[arg(long, env = "MLFLOW_WORKSPACE_STORE_URI")]
    pub workspace_store_uri: Option<String>,

    #[arg(long, env = "HARVESTER_EVALAI_CONFIG")]
    pub evalai_config: Option<String>,

    /// Background job workers in this process (EvalAI pulls and polls, webhook deliveries). They mostly
    /// wait on EvalAI and on fsyncs, so there are more than cores.
    #[arg(long, env = "HARVESTER_JOB_WORKERS", default_value_t = 8)]
    pub job_workers: usize,

    /// Seconds a worker's claim on a job lasts without renewal; a job whose worker died (kill -9) is
    /// taken up again this long after.
    #[arg(long, env = "HARVESTER_JOB_LEASE_SECS", default_value_t = 30)]
    pub job_lease_secs: u64,

    /// Milliseconds an idle worker waits before looking for jobs other replicas queued.
    /// On SIGTERM: how long requests and jobs in flight get to finish before the process exits (no new
    /// connection and no new job is taken meanwhile). SIGINT drops the requests at once (actix's forced
    /// shutdown) and still lets the jobs finish.
    #[arg(long, env = "HARVESTER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    #[arg(long, env = "HARVESTER_JOB_POLL_MS", default_value_t = 500)]
    pub job_poll_ms: u64,

    #[command(flatten)]
    pub scan: ScanFlags,

    #[command(flatten)]
    pub serving: crate::serving::config::ServingFlags,

    #[command(flatten)]
    pub auth: crate::auth::AuthFlags,
}

impl ServerConfig {
    /// Defaults as parsed from no arguments and no environment (used by tests).
    pub fn for_store(uri: &str) -> ServerConfig {
        let mut c = ServerConfig::parse_from_env_free();
        c.backend_store_uri = uri.to_string();
        c
    }

    fn parse_from_env_free() -> ServerConfig {
        ServerConfig {
            help: None,
            backend_store_uri: "sqlite:///mlflow.db".into(),
            registry_store_uri: None,
            default_artifact_root: None,
            serve_artifacts: true,
            no_serve_artifacts: false,
            artifacts_destination: "./mlartifacts".into(),
            artifacts_only: false,
            s3_direct_transfers: true,
            s3_public_endpoint_url: None,
            host: "127.0.0.1".into(),
            port: 5000,
            workers: 4,
            static_prefix: None,
            ui_dir: None,
            db_pool_size: 10,
            db_statement_timeout_secs: 30,
            max_body_bytes: 64 * 1024 * 1024,
            body_idle_timeout_secs: 60,
            allowed_hosts: None,
            cors_allowed_origins: None,
            x_frame_options: "SAMEORIGIN".into(),
            disable_security_middleware: false,
            expose_prometheus: None,
            shutdown_grace_secs: 30,
            metrics: false,
            evalai_config: None,
            enable_workspaces: false,
            workspace_store_uri: None,
            job_workers: 8,
            job_lease_secs: 30,
            job_poll_ms: 500,
            scan: ScanFlags::default(),
            serving: Default::default(),
            auth: Default::default(),
        }
    }

    pub fn serves_artifacts(&self) -> bool {
        self.serve_artifacts && !self.no_serve_artifacts
    }

    /// The artifact root for new experiments, as `mlflow server` derives it.
    pub fn artifact_root(&self) -> String {
        match &self.default_artifact_root {
            Some(r) => crate::storage::uri::resolve_if_local(r),
            None if self.serves_artifacts() => "mlflow-artifacts:/".into(),
            None => crate::storage::uri::resolve_if_local("./mlruns"),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = &self.static_prefix {
            if !p.starts_with('/') || p.ends_with('/') {
                return Err(format!(
                    "--static-prefix must start with '/' and not end with '/': '{p}'"
                ));
            }
        }
        if let Some(r) = &self.registry_store_uri {
            if r != &self.backend_store_uri {
                return Err("--registry-store-uri must equal --backend-store-uri: the registry lives in the backend store".into());
            }
        }
        if let Some(w) = &self.workspace_store_uri {
            if self.enable_workspaces && w != &self.backend_store_uri {
                return Err("--workspace-store-uri must equal --backend-store-uri: Harvester keeps workspaces in the backend store".into());
            }
        }
        crate::db::parse_store_uri(&self.backend_store_uri).map(|_| ())
    }
}
