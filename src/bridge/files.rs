//! A finished submission's files: each streamed from EvalAI (its own origin only) to a temporary file and
//! on into the run's artifacts under `evalai/`; and, when the input file is a model package (one MLflow
//! model directory inside a zip), that model logged for the run and registered as a new version.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use super::client::EvalaiError;
use super::config::origin_of;
use super::harvest::{blocking, from_json};
use super::Inst;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::jobs::JobError;
use crate::service::{artifacts, logged_models, model_versions, registered_models, AppState};
use crate::storage::path::safe_path;

/// The file fields of EvalAI's submission serializers, in the order they are fetched.
const FIELDS: &[&str] = &[
    "input_file",
    "submission_input_file",
    "stdout_file",
    "stderr_file",
    "environment_log_file",
    "submission_result_file",
    "submission_metadata_file",
];

pub struct Fetched {
    /// The input file, kept on disk for the model check.
    pub input: Option<tempfile::TempPath>,
    pub warning: Option<String>,
}

/// A file on disk as a body stream, 1 MiB at a time.
fn file_stream(f: tokio::fs::File) -> impl Stream<Item = ApiResult<Bytes>> + Unpin {
    Box::pin(futures_util::stream::unfold(Some(f), |f| async move {
        let mut f = f?;
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(f)))
            }
            Err(e) => Some((
                Err(ApiError::internal(format!(
                    "reading a downloaded file: {e}"
                ))),
                None,
            )),
        }
    }))
}

/// Store the file at `local` under `uri`/`rel` (an artifact root: a run's, a logged model's).
async fn put_file(st: &Arc<AppState>, uri: &str, rel: &str, local: &Path) -> ApiResult<u64> {
    let root = artifacts::resolve_root(st, uri)?;
    let (store, path) = root.locate(&safe_path(rel, false)?);
    let f = tokio::fs::File::open(local)
        .await
        .map_err(|e| ApiError::internal(format!("opening a downloaded file: {e}")))?;
    store.put(&path, file_stream(f)).await
}

fn extension(url: &str) -> String {
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    match last.rsplit_once('.') {
        Some((_, ext))
            if !ext.is_empty()
                && ext.len() <= 8
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!(".{}", ext.to_ascii_lowercase())
        }
        _ => String::new(),
    }
}

pub async fn fetch(
    st: &Arc<AppState>,
    inst: &Inst,
    run_id: &str,
    record: &Value,
) -> Result<Fetched, JobError> {
    let (s, r) = (st.clone(), run_id.to_string());
    let (uri, _) = blocking(move || artifacts::run_root(&s, &r)).await?;
    let mut out = Fetched {
        input: None,
        warning: None,
    };
    let id = record["id"].as_i64().unwrap_or_default();
    for field in FIELDS {
        let Some(url) = record
            .get(*field)
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        else {
            continue;
        };
        if origin_of(url).as_deref() != Some(inst.cfg.origin.as_str()) {
            let why = format!(
                "refused {field}: its URL is not on {} ({url})",
                inst.cfg.origin
            );
            tracing::warn!(evalai.submission_id = id, "{why}");
            out.warning = Some(why);
            continue;
        }
        let tmp = tempfile::NamedTempFile::new()
            .map_err(|e| JobError::retry(format!("cannot create a temporary file: {e}")))?
            .into_temp_path();
        match inst.client.download(url, &tmp).await {
            Ok(_) => {}
            // A file EvalAI no longer has (retention policy) is skipped, not retried for ever.
            Err(EvalaiError::Status(404, _)) => {
                out.warning = Some(format!("{field} is gone from EvalAI (404)"));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        put_file(st, &uri, &format!("evalai/{field}{}", extension(url)), &tmp).await?;
        if *field == "input_file" {
            out.input = Some(tmp);
        }
    }
    Ok(out)
}

pub struct Registration {
    pub model_name: String,
    pub installation: String,
    pub submission_id: i64,
    pub experiment_id: String,
    pub run_id: String,
}

pub enum Registered {
    Version(i64),
    NotAModel(String),
}

/// The files of the one MLflow model in the zip at `pkg`, unpacked into a temporary directory:
/// `(dir, relative paths)`.
fn unpack_model(pkg: &Path) -> Result<Result<(tempfile::TempDir, Vec<String>), String>, ApiError> {
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(pkg).map_err(|e| ApiError::internal(format!("{e}")))?;
    if f.read_exact(&mut head).is_err() || head != *b"PK\x03\x04" {
        return Ok(Err("not a zip archive".into()));
    }
    let f = std::fs::File::open(pkg).map_err(|e| ApiError::internal(format!("{e}")))?;
    let mut zip = match zip::ZipArchive::new(f) {
        Ok(z) => z,
        Err(e) => return Ok(Err(format!("unreadable zip: {e}"))),
    };
    let names: Vec<PathBuf> = (0..zip.len())
        .filter_map(|i| zip.by_index(i).ok().and_then(|e| e.enclosed_name()))
        .collect();
    let models: Vec<&PathBuf> = names
        .iter()
        .filter(|n| n.file_name().is_some_and(|f| f == "MLmodel"))
        .collect();
    let prefix = match models.as_slice() {
        [one] => one.parent().map(Path::to_path_buf).unwrap_or_default(),
        [] => return Ok(Err("no MLmodel file in the archive".into())),
        _ => {
            return Ok(Err(format!(
                "{} MLmodel files in the archive; a package holds exactly one model",
                models.len()
            )))
        }
    };
    // A bomb is not unpacked: the declared sizes and ratios are checked first, and each entry is read
    // no further than its header says (the scan then reports on what was unpacked).
    let limits = crate::scan::Limits::default();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let Ok(e) = zip.by_index_raw(i) else { continue };
        total = total.saturating_add(e.size());
        if e.size() > (1 << 20) && e.size() / e.compressed_size().max(1) > limits.max_ratio {
            return Ok(Err(format!(
                "archive refused: {} inflates {}:1 (a zip bomb?)",
                e.name(),
                e.size() / e.compressed_size().max(1)
            )));
        }
    }
    if total > limits.max_total_bytes {
        return Ok(Err(format!(
            "archive refused: {total} bytes unpacked, more than {}",
            limits.max_total_bytes
        )));
    }
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(format!("{e}")))?;
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut e = zip
            .by_index(i)
            .map_err(|e| ApiError::invalid(format!("zip entry: {e}")))?;
        let Some(name) = e.enclosed_name() else {
            continue;
        };
        let Ok(rel) = name.strip_prefix(&prefix) else {
            continue;
        };
        if e.is_dir() || rel.as_os_str().is_empty() {
            continue;
        }
        let to = dir.path().join(rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| ApiError::internal(format!("{e}")))?;
        }
        let mut out = std::fs::File::create(&to).map_err(|e| ApiError::internal(format!("{e}")))?;
        let declared = e.size();
        let copied = std::io::copy(&mut (&mut e).take(declared + 1), &mut out)
            .map_err(|e| ApiError::invalid(format!("zip entry: {e}")))?;
        if copied > declared {
            return Ok(Err(format!(
                "archive refused: {} inflates past its declared size",
                rel.display()
            )));
        }
        files.push(rel.to_string_lossy().replace('\\', "/"));
    }
    Ok(Ok((dir, files)))
}

/// Log the package's model for the run and register it, once: a version tagged with the submission
/// already there (a pull that crashed after registering) is the answer.
pub async fn register(
    st: &Arc<AppState>,
    reg: &Registration,
    pkg: tempfile::TempPath,
) -> Result<Registered, JobError> {
    let path = pkg.to_path_buf();
    let unpacked = tokio::task::spawn_blocking(move || unpack_model(&path))
        .await
        .map_err(|e| JobError::retry(format!("unpacking failed: {e}")))??;
    let (dir, files) = match unpacked {
        Ok(x) => x,
        Err(why) => return Ok(Registered::NotAModel(why)),
    };
    let sid = reg.submission_id.to_string();
    let tags = json!([
        {"key": "evalai.installation", "value": reg.installation},
        {"key": "evalai.submission_id", "value": sid},
    ]);
    let filter = format!(
        "name = '{}' and tags.`evalai.submission_id` = '{sid}' and tags.`evalai.installation` = '{}'",
        reg.model_name.replace('\'', ""),
        reg.installation.replace('\'', "")
    );
    let (s, name, f, inst) = (
        st.clone(),
        reg.model_name.clone(),
        filter,
        reg.installation.clone(),
    );
    let existing = blocking(move || {
        match registered_models::create(
            &s,
            &from_json(
                json!({"name": name, "tags": [{"key": "evalai.installation", "value": inst}]}),
            )?,
        ) {
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::RESOURCE_ALREADY_EXISTS => {}
            Err(e) => return Err(e),
        }
        let (found, _) = model_versions::search(
            &s,
            &from_json(json!({"filter": f, "max_results": 1}))?,
            &crate::auth::visible::Visible::All,
        )?;
        Ok(found.into_iter().next().map(|v| v.version))
    })
    .await?;
    if let Some(v) = existing {
        return Ok(Registered::Version(v.parse().unwrap_or_default()));
    }
    let (s, create) = (
        st.clone(),
        from_json(
            json!({"experiment_id": reg.experiment_id, "name": "model", "source_run_id": reg.run_id, "tags": tags}),
        )?,
    );
    let model = blocking(move || logged_models::create(&s, &create)).await?;
    let (model_id, location) = (model.info.model_id.clone(), model.info.artifact_uri.clone());
    for rel in &files {
        put_file(st, &location, rel, &dir.path().join(rel)).await?;
    }
    let (s, id) = (st.clone(), model_id.clone());
    blocking(move || logged_models::finalize(&s, &id, Some("LOGGED_MODEL_READY")).map(|_| ()))
        .await?;
    let version = from_json(json!({
        "name": reg.model_name,
        "source": format!("models:/{model_id}"),
        "run_id": reg.run_id,
        "model_id": model_id,
        "tags": [
            {"key": "evalai.installation", "value": reg.installation},
            {"key": "evalai.submission_id", "value": sid},
        ],
    }))?;
    let s = st.clone();
    let created = blocking(move || model_versions::create(&s, &version)).await?;
    Ok(Registered::Version(
        created.version.parse().unwrap_or_default(),
    ))
}
