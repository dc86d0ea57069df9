//! The `scan.version` job: copy a version's files from the artifact store into a scratch folder, run the
//! scan engine (validator included) on its own thread, and record the outcome. Files that cannot be
//! read for good (the source is gone) make the scan `error`; a store that is down is retried, and
//! recorded as `error` after the last attempt. A version deleted meanwhile is skipped.

use std::sync::Arc;

use super::scans::{self, Outcome, ScanJob, KIND};
use super::{artifacts, model_versions, AppState};
use crate::error::ErrorCode;
use crate::jobs::worker::{blocking, Handlers};
use crate::jobs::{Job, JobError};
use crate::scan::{Finding, Severity};
use crate::storage::copy::{copy_tree, Copy as Fetch};

pub fn register(handlers: &mut Handlers, st: Arc<AppState>) {
    handlers.add(KIND, move |j| run(st.clone(), j));
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
            match copy_tree(
                &root,
                dir.path(),
                st.scan.limits.max_entries,
                st.scan.limits.max_total_bytes,
            )
            .await
            {
                Ok(_) => {
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
