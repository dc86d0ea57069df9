//! Serving's settings (`--serving-*`, `HARVESTER_SERVING_*`), flattened into the server's flags.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ServingFlags {
    /// Where pyfunc workers get their Python: `local` (one interpreter, `--serving-python`), or
    /// `virtualenv`/`uv` (a cached venv per model requirements, built from wheels only).
    #[arg(long, env = "HARVESTER_SERVING_ENV_MANAGER", default_value = "local")]
    pub serving_env_manager: String,

    /// The interpreter for `--serving-env-manager local` (it needs `mlflow` and the models' libraries),
    /// and the base of the venvs the other managers build. Default: the first with `mlflow` installed
    /// of `$VIRTUAL_ENV`, `./.venv` and `python3` on the PATH.
    #[arg(long, env = "HARVESTER_SERVING_PYTHON")]
    pub serving_python: Option<String>,

    /// Local copies of served models, cached venvs and the worker script.
    #[arg(
        long,
        env = "HARVESTER_SERVING_DIR",
        default_value = "./harvester-serving"
    )]
    pub serving_dir: String,

    /// Seconds a worker may stay idle before it is stopped.
    #[arg(long, env = "HARVESTER_SERVING_IDLE_TIMEOUT", default_value_t = 900)]
    pub serving_idle_timeout: u64,

    /// Workers running at once; starting one more stops the least recently used idle one.
    #[arg(long, env = "HARVESTER_SERVING_MAX_WORKERS", default_value_t = 8)]
    pub serving_max_workers: usize,

    /// Rows one merged predict call may hold (1 turns micro-batching off).
    #[arg(long, env = "HARVESTER_SERVING_MAX_BATCH", default_value_t = 2048)]
    pub serving_max_batch: usize,

    /// Milliseconds a worker waits for more requests to merge before predicting (0: merge only the
    /// requests already waiting, which costs a lone request nothing).
    #[arg(long, env = "HARVESTER_SERVING_BATCH_WAIT_MS", default_value_t = 0)]
    pub serving_batch_wait_ms: u64,

    /// Address-space limit of a worker, in MiB (0: none).
    #[arg(long, env = "HARVESTER_SERVING_MEMORY_MB", default_value_t = 4096)]
    pub serving_memory_mb: u64,

    /// CPU seconds a worker may use in its life before the kernel stops it (it is restarted on the next
    /// request); workers also run at a lower priority than the server (0: no limit).
    #[arg(long, env = "HARVESTER_SERVING_CPU_SECONDS", default_value_t = 3600)]
    pub serving_cpu_seconds: u64,

    /// Seconds one prediction may take; the worker is then stopped and the request answered 504, as
    /// `mlflow models serve` does (`MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`).
    #[arg(
        long,
        env = "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT",
        default_value_t = 60
    )]
    pub serving_request_timeout: u64,

    /// Seconds a worker may take to load its model (and an environment to build).
    #[arg(long, env = "HARVESTER_SERVING_START_TIMEOUT", default_value_t = 300)]
    pub serving_start_timeout: u64,

    /// Run workers as this user (name or uid); recommended whenever the server runs as root. Without
    /// it, a worker runs as the server's user with every capability dropped.
    #[arg(long, env = "HARVESTER_SERVING_USER")]
    pub serving_user: Option<String>,
}

impl Default for ServingFlags {
    fn default() -> ServingFlags {
        ServingFlags {
            serving_env_manager: "local".into(),
            serving_python: None,
            serving_dir: "./harvester-serving".into(),
            serving_idle_timeout: 900,
            serving_max_workers: 8,
            serving_max_batch: 2048,
            serving_batch_wait_ms: 0,
            serving_memory_mb: 4096,
            serving_cpu_seconds: 3600,
            serving_request_timeout: 60,
            serving_start_timeout: 300,
            serving_user: None,
        }
    }
}

impl ServingFlags {
    /// `--serving-python`, or the first interpreter that has `mlflow` (see the flag's help).
    pub fn python(&self) -> String {
        if let Some(p) = &self.serving_python {
            return p.clone();
        }
        let mut prefixes: Vec<std::path::PathBuf> = vec![];
        if let Ok(v) = std::env::var("VIRTUAL_ENV") {
            prefixes.push(v.into());
        }
        prefixes.push(".venv".into());
        prefixes
            .into_iter()
            .filter(|p| p.join("bin/python").is_file())
            .find(|p| {
                crate::service::ui_files::site_packages(p)
                    .iter()
                    .any(|sp| sp.join("mlflow/__init__.py").is_file())
            })
            .and_then(|p| std::path::absolute(p.join("bin/python")).ok())
            .map_or_else(|| "python3".into(), |p| p.display().to_string())
    }

    pub fn validate(&self) -> Result<(), String> {
        match self.serving_env_manager.as_str() {
            "local" | "virtualenv" | "uv" => Ok(()),
            other => Err(format!(
                "--serving-env-manager must be local, virtualenv or uv, not '{other}'"
            )),
        }
    }
}
