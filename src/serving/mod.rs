//! Serving: every registered version whose scan passed is a REST service at
//! `/serving/{model}/{ref}/…`, answering as `mlflow models serve` 3.17.2 does. pyfunc models run in
//! sandboxed Python workers (`worker`, `pool`, `sandbox`, `envs`); the per-version OpenAPI document
//! comes from the model's signature (`openapi`); `refs` resolves a URL to a version and gates it.

pub mod catalog;
pub mod config;
pub mod dashboard;
pub mod envs;
pub mod locks;
pub mod mlmodel;
pub mod onnx;
pub mod openapi;
pub mod pool;
pub mod refs;
pub mod sandbox;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::{artifacts, model_versions, AppState};
use crate::storage::copy::{copy_tree, read_small, Copy};
use crate::types::registry::ModelVersion;
use config::ServingFlags;
use mlmodel::MlModel;
use pool::{Key, Pool};
use worker::{CallError, Reply, Spawn};

/// Largest model copied for serving (files, bytes).
const MAX_FILES: u64 = 100_000;
const MAX_BYTES: u64 = 64 << 30;

pub struct Serving {
    pub flags: ServingFlags,
    user: Option<(u32, u32)>,
    dir: PathBuf,
    script: PathBuf,
    envs: envs::Envs,
    pub pool: Pool,
    copying: locks::Locks<Key>,
    /// The in-process ONNX runtime of each version that has one (`None`: it is served by a worker).
    onnx: std::sync::Mutex<std::collections::HashMap<Key, Option<Arc<onnx::Onnx>>>>,
}

impl Serving {
    /// Check the flags; the serving folder is made when the first model is served.
    pub fn new(flags: ServingFlags) -> Result<Serving, String> {
        flags.validate()?;
        let user = flags
            .serving_user
            .as_deref()
            .map(sandbox::lookup_user)
            .transpose()?;
        let dir = std::path::absolute(&flags.serving_dir).map_err(|e| e.to_string())?;
        let script = dir.join("worker.py");
        sandbox::protect_server();
        Ok(Serving {
            flags,
            user,
            dir,
            script,
            envs: envs::Envs::default(),
            pool: Pool::default(),
            copying: Default::default(),
            onnx: Default::default(),
        })
    }

    /// Stop idle workers now and then (runs for the life of the process).
    pub fn start_reaper(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let idle = Duration::from_secs(self.flags.serving_idle_timeout.max(1));
        let every = (idle / 4).clamp(Duration::from_millis(200), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match me.upgrade() {
                    Some(s) => s.pool.reap(idle),
                    None => return,
                }
            }
        });
    }

    fn key(mv: &ModelVersion) -> Key {
        (
            mv.name.clone(),
            mv.version.parse().unwrap_or(0),
            mv.creation_timestamp,
        )
    }

    /// The local copy of a version's files (made once, atomically, then reused).
    pub async fn local_copy(&self, st: &AppState, key: &Key) -> ApiResult<PathBuf> {
        let tag = locks::short_hash(&[key.0.as_bytes()], 8);
        let dir = self
            .dir
            .join("models")
            .join(format!("{tag}-v{}-{}", key.1, key.2));
        let done = dir.join(".harvester-complete");
        if done.is_file() {
            return Ok(dir);
        }
        let lock = self.copying.of(key);
        let _held = lock.lock().await;
        if done.is_file() {
            return Ok(dir);
        }
        let root = root_of(st, &key.0, key.1).await?;
        std::fs::create_dir_all(self.dir.join("models")).map_err(|e| {
            ApiError::internal(format!("--serving-dir {}: {e}", self.dir.display()))
        })?;
        let tmp = self
            .dir
            .join("models")
            .join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let copied = copy_tree(&root, &tmp, MAX_FILES, MAX_BYTES).await;
        let result = match copied {
            Ok(_) => std::fs::write(tmp.join(".harvester-complete"), b"")
                .and_then(|_| {
                    let _ = std::fs::remove_dir_all(&dir);
                    std::fs::rename(&tmp, &dir)
                })
                .map_err(|e| ApiError::internal(format!("model copy: {e}"))),
            Err(Copy::TooBig(f, b)) => Err(ApiError::invalid(format!(
                "the model is too large to serve ({f} files, {b} bytes)"
            ))),
            Err(Copy::Failed(e)) => Err(e),
        };
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result.map(|_| dir)
    }

    /// The version's in-process ONNX runtime, when it has the onnx flavour and tract can run it.
    async fn onnx(&self, st: &AppState, key: &Key) -> ApiResult<Option<Arc<onnx::Onnx>>> {
        if let Some(known) = self.onnx.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
            return Ok(known.clone());
        }
        let dir = self.local_copy(st, key).await?;
        let model = read_model(&dir)?;
        let loaded = if model.has("onnx") {
            let label = pool::label(key);
            tokio::task::spawn_blocking(move || match onnx::Onnx::load(&dir, &model) {
                Ok(o) => {
                    tracing::info!(model = %label, "ONNX model runs in-process (tract)");
                    Some(Arc::new(o))
                }
                Err(why) => {
                    tracing::info!(model = %label, "ONNX model served by a pyfunc worker: {why}");
                    None
                }
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
        } else {
            None
        };
        self.onnx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), loaded.clone());
        Ok(loaded)
    }

    /// Ready to answer: the in-process runtime loaded, or else the worker started (what `ping` waits for).
    pub async fn ready(&self, st: &AppState, mv: &ModelVersion) -> ApiResult<()> {
        let key = Self::key(mv);
        if self.onnx(st, &key).await?.is_none() {
            self.worker(st, &key).await?;
        }
        Ok(())
    }

    /// Answer one invocation of a gated version, and count it in the model's serving metrics.
    pub async fn invoke(
        &self,
        st: &AppState,
        mv: &ModelVersion,
        content_type: &str,
        body: bytes::Bytes,
    ) -> ApiResult<Reply> {
        let started = std::time::Instant::now();
        let answer = self.answer(st, mv, content_type, body).await;
        let status = match &answer {
            Ok(r) => r.status,
            Err(e) => actix_web::ResponseError::status_code(e).as_u16(),
        };
        crate::monitoring::served(
            &mv.name,
            &mv.version,
            status,
            started.elapsed().as_secs_f64(),
        );
        answer
    }

    async fn answer(
        &self,
        st: &AppState,
        mv: &ModelVersion,
        content_type: &str,
        body: bytes::Bytes,
    ) -> ApiResult<Reply> {
        let key = Self::key(mv);
        if let Some(fast) = self.onnx(st, &key).await? {
            let (f, ct, b) = (fast.clone(), content_type.to_string(), body.clone());
            let answered = tokio::task::spawn_blocking(move || f.answer(&ct, &b))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?;
            if let Some(out) = answered {
                return Ok(Reply {
                    status: 200,
                    content_type: "application/json".into(),
                    body: out.into(),
                });
            }
        }
        let w = self.worker(st, &key).await?;
        let timeout = Duration::from_secs(self.flags.serving_request_timeout.max(1));
        match w.call(content_type, body, timeout).await {
            Ok(r) => Ok(r),
            Err(CallError::Timeout) => Ok(Reply {
                status: 504,
                content_type: "application/json".into(),
                body: "Request processing time exceeded limit".into(),
            }),
            Err(CallError::Exited(why)) => Err(ApiError::new(
                ErrorCode::INTERNAL_ERROR,
                format!(
                    "The worker serving '{}' version {} {why} while handling this request; it restarts on the next one",
                    key.0, key.1
                ),
            )),
        }
    }

    /// The version's worker, started if needed (what `ping` waits for).
    pub async fn worker(&self, st: &AppState, key: &Key) -> ApiResult<Arc<worker::Worker>> {
        if let Some(w) = self.pool.current(key) {
            return Ok(w);
        }
        let flags = &self.flags;
        let model_dir = self.local_copy(st, key).await?;
        let model = read_model(&model_dir)?;
        if !model.has("python_function") {
            return Err(ApiError::invalid(format!(
                "Model '{}' version {} has no python_function flavour (flavours: {}); it cannot be served",
                key.0,
                key.1,
                model.flavors.join(", ")
            )));
        }
        let python = self
            .envs
            .python(flags, self.user, &model_dir)
            .await
            .map_err(|e| ApiError::new(ErrorCode::RESOURCE_CONFLICT, e))?;
        let (md, py) = (&model_dir, &python);
        self.pool
            .get(key, flags, || async move {
                // Written (atomically) at every start, so an upgraded server's workers run its own.
                let tmp = self
                    .script
                    .with_extension(uuid::Uuid::new_v4().simple().to_string());
                std::fs::write(&tmp, worker::SCRIPT)
                    .and_then(|_| std::fs::rename(&tmp, &self.script))
                    .map_err(|e| ApiError::internal(format!("{}: {e}", self.script.display())))?;
                Ok(Spawn {
                    label: pool::label(key),
                    python: py,
                    script: &self.script,
                    model_dir: md,
                    flags,
                    user: self.user,
                })
            })
            .await
    }

    /// The version's `MLmodel`, and its `serving_input_example.json` when MLflow wrote one (a model
    /// logged with an input example), read from the artifact store: one lookup, no copy.
    pub async fn describe(
        &self,
        st: &AppState,
        mv: &ModelVersion,
    ) -> ApiResult<(MlModel, Option<serde_json::Value>)> {
        let root = root_of(st, &mv.name, mv.version.parse().unwrap_or(0)).await?;
        let bytes = read_small(&root, "MLmodel", 4 << 20).await?;
        let model = MlModel::parse(&String::from_utf8_lossy(&bytes)).map_err(ApiError::invalid)?;
        let example = read_small(&root, "serving_input_example.json", 1 << 20)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        Ok((model, example))
    }
}

/// `rel` inside the model's folder (no absolute paths, no `..`).
pub fn local_file(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!("'{rel}' is not a path inside the model"));
    }
    Ok(dir.join(p))
}

fn read_model(dir: &Path) -> ApiResult<MlModel> {
    let text = std::fs::read_to_string(dir.join("MLmodel"))
        .map_err(|e| ApiError::invalid(format!("the model has no readable MLmodel file: {e}")))?;
    MlModel::parse(&text).map_err(ApiError::invalid)
}

async fn root_of(
    st: &AppState,
    name: &str,
    version: i64,
) -> ApiResult<crate::storage::roots::Root> {
    let (s, n) = (st.clone(), name.to_string());
    tokio::task::spawn_blocking(move || {
        let uri = model_versions::artifact_root(&s, &n, version)?;
        artifacts::resolve_root(&s, &uri)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}
