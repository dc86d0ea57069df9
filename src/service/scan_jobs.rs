//! The `scan.version` job: copy a version's files from the artifact store into a scratch folder, run the
//! scan engine (validator included) on its own thread, and record the outcome. Files that cannot be
//! read for good (the source is gone) make the scan `error`; a store that is down is retried, and
//! recorded as `error` after the last attempt. A version deleted meanwhile is skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::scans::{self, Outcome, ScanJob, KIND};
use super::{artifacts, model_versions, AppState};
use crate::error::{ApiError, ErrorCode};
use crate::jobs::worker::{blocking, Handlers};
use crate::jobs::{Job, JobError};
use crate::scan::{Finding, Severity};
use crate::storage::path::safe_path;
use crate::storage::roots::Root;
use crate::storage::Object;

pub fn register(handlers: &mut Handlers, st: Arc<AppState>) {
    handlers.add(KIND, move |j| run(st.clone(), j));
}

enum Fetch {
    /// The files would exceed the scan's limits: `(files, bytes)` so far.
    TooBig(u64, u64),
    Failed(ApiError),
}

impl From<ApiError> for Fetch {
    fn from(e: ApiError) -> Fetch {
        Fetch::Failed(e)
    }
}

fn io(e: std::io::Error) -> Fetch {
    Fetch::Failed(ApiError::internal(format!("scratch folder: {e}")))
}

/// Copy every file under `root` into `dir`, within the scan's limits.
async fn fetch(st: &AppState, root: &Root, dir: &Path) -> Result<(), Fetch> {
    let limits = &st.scan.limits;
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        for f in root.list(&safe_path(&rel, true)?).await? {
            if f.is_dir {
                pending.push(f.path);
                continue;
            }
            files += 1;
            bytes += f.file_size.unwrap_or(0).max(0) as u64;
            if files > limits.max_entries || bytes > limits.max_total_bytes {
                return Err(Fetch::TooBig(files, bytes));
            }
            let to: PathBuf = dir.join(&f.path);
            if let Some(p) = to.parent() {
                tokio::fs::create_dir_all(p).await.map_err(io)?;
            }
            match root.get(&safe_path(&f.path, false)?, None).await? {
                Object::File(mut src, _) => {
                    let to = to.clone();
                    tokio::task::spawn_blocking(move || {
                        std::fs::File::create(&to)
                            .and_then(|mut out| std::io::copy(&mut src, &mut out))
                    })
                    .await
                    .map_err(|e| Fetch::Failed(ApiError::internal(e.to_string())))?
                    .map_err(io)?;
                }
                Object::Remote(mut obj) => {
                    let mut out = tokio::fs::File::create(&to).await.map_err(io)?;
                    while let Some(chunk) = obj.body.next().await {
                        let chunk = chunk.map_err(|e| {
                            Fetch::Failed(ApiError::new(
                                ErrorCode::TEMPORARILY_UNAVAILABLE,
                                e.to_string(),
                            ))
                        })?;
                        out.write_all(&chunk).await.map_err(io)?;
                    }
                    out.flush().await.map_err(io)?;
                }
            }
        }
    }
    Ok(())
}

async fn run(st: Arc<AppState>, job: Job) -> Result<(), JobError> {
    let p: ScanJob = job.payload()?;
    let (s, name, version) = (st.clone(), p.name.clone(), p.version);
    let root = blocking(move || {
        let uri = model_versions::artifact_root(&s, &name, version)?;
        artifacts::resolve_root(&s, &uri).map(|r| (uri, r))
    })
    .await;
    let outcome = match root {
        Err(e) if e.code == ErrorCode::RESOURCE_DOES_NOT_EXIST => {
            // The version was deleted before its scan ran.
            return Ok(());
        }
        Err(e) => Outcome::Error(format!(
            "the version's files cannot be located: {}",
            e.message
        )),
        Ok((uri, root)) => {
            let dir = tempfile::Builder::new()
                .prefix("harvester-scan-")
                .tempdir()
                .map_err(|e| JobError::retry(format!("scratch folder: {e}")))?;
            match fetch(&st, &root, dir.path()).await {
                Ok(()) => {
                    let (opts, path) = (st.scan.clone(), dir.path().to_path_buf());
                    let scanned = tokio::task::spawn_blocking(move || {
                        crate::scan::scan_submission(&path, &opts)
                    })
                    .await
                    .map_err(|e| JobError::retry(format!("scan task: {e}")))?;
                    match scanned {
                        Ok(r) => Outcome::Report(r),
                        Err(e) => Outcome::Error(e),
                    }
                }
                Err(Fetch::TooBig(files, bytes)) => {
                    let f = Finding::new("HV-VAL-SIZE", Severity::High, "(package)", format!(
                        "more than {files} files or {bytes} bytes: beyond the scan's limits, so nothing was scanned"
                    ));
                    Outcome::Report(st.scan.policy.apply(vec![f], true, files, bytes))
                }
                Err(Fetch::Failed(e)) => {
                    let status = e.status.unwrap_or_else(|| e.code.status());
                    let last = job.attempts >= job.max_attempts;
                    if status.is_server_error() && !last {
                        return Err(JobError::retry(format!("reading {uri}: {}", e.message)));
                    }
                    Outcome::Error(format!(
                        "the version's files at {uri} cannot be read: {}",
                        e.message
                    ))
                }
            }
        }
    };
    let (s, name) = (st.clone(), p.name.clone());
    let status = match &outcome {
        Outcome::Report(r) => format!("{:?}", r.verdict).to_lowercase(),
        Outcome::Error(e) => format!("error: {e}"),
    };
    blocking(move || scans::record(&s, &name, version, &outcome)).await?;
    tracing::info!(model.name = %p.name, model.version = version, scan = %status, "model version scanned");
    Ok(())
}
