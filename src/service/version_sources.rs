//! Model-version sources (§7.4): `..` and NUL are refused everywhere; `models:/<id>`, `models:/<name>/<v>`,
//! `runs:/` and `mlflow-artifacts:` sources must match the run or logged model they name; other remote URIs
//! are accepted as given. The checks expand inside the version-creating write (`resolve_source!`).

use crate::db::models::LoggedModelRow;
use crate::error::ApiError;
use crate::error::ApiResult;

pub const PROMPT_SOURCES: &[&str] = &["dummy-source", "prompt-template"];

pub fn bad_source(source: &str, why: &str) -> ApiError {
    ApiError::invalid(format!("Invalid model version source: '{source}'. {why}"))
}

/// `..` segments and NUL bytes are refused in any source, decoded or not.
pub fn check_traversal(source: &str) -> ApiResult<()> {
    let decoded = percent_encoding::percent_decode_str(source).decode_utf8_lossy();
    for s in [source, decoded.as_ref()] {
        if s.contains('\0') || s.split(['/', '\\']).any(|seg| seg == "..") {
            return Err(bad_source(
                source,
                "Sources may not contain '..' path segments or NUL bytes.",
            ));
        }
    }
    Ok(())
}

/// `under` and everything below it.
pub fn is_under(path: &str, under: &str) -> bool {
    let under = under.trim_end_matches('/');
    path == under || path.starts_with(&format!("{under}/"))
}

/// A local source (a plain path, or a `file:` URI without a remote host), as an absolute path with `.`
/// and `..` resolved (`pathlib.Path(local_file_uri_to_path(source)).resolve()`).
pub fn local_source(source: &str) -> Option<std::path::PathBuf> {
    let path = if let Some(rest) = source.strip_prefix("file:") {
        let rest = match rest.strip_prefix("//") {
            Some(r) => r.strip_prefix("localhost").unwrap_or(r),
            None => rest,
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None; // file://host/… names another machine
        }
        percent_encoding::percent_decode_str(rest)
            .decode_utf8_lossy()
            .into_owned()
    } else if source.contains(":/") || source.contains("://") {
        return None;
    } else {
        source.to_string()
    };
    let base = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let mut out = std::path::PathBuf::from("/");
    for seg in base.join(path).components() {
        match seg {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(s) => out.push(s),
            _ => {}
        }
    }
    Some(out)
}

/// A local source must lie in the artifact directory of the run (or logged model) the request names,
/// as `_validate_source_run`/`_validate_source_model` demand; `root` is that artifact URI, if any.
pub fn check_local(local: &std::path::Path, root: Option<&str>, by_model: bool) -> ApiResult<()> {
    if let Some(root) = root.and_then(local_source) {
        if local.starts_with(&root) {
            return Ok(());
        }
    }
    let (param, what) = if by_model {
        ("model_id", "run specified by the model_id")
    } else {
        ("run_id", "run specified by the run_id")
    };
    Err(bad_source(
        &local.display().to_string(),
        &format!(
            "To use a local path as a model version source, the {param} request parameter has to be \
             specified and the local path has to be contained within the artifact directory of the {what}."
        ),
    ))
}

/// What a validated source adds to the version: its storage location, the run, and the logged model.
#[derive(Default)]
pub struct Resolved {
    pub storage_location: Option<String>,
    pub run_id: Option<String>,
    pub model: Option<LoggedModelRow>,
}

/// Validate the source against the run or logged model it names (§7.4); expands in `db_write!`.
#[macro_export]
macro_rules! resolve_source {
    ($conn:expr, $source:expr, $run_id:expr, $model_id:expr) => {{
        use diesel::prelude::*;
        let (source, run_id, model_id): (&str, Option<&str>, Option<&str>) =
            ($source, $run_id, $model_id);
        let mut out = $crate::service::version_sources::Resolved {
            run_id: run_id.map(str::to_string),
            ..$crate::service::version_sources::Resolved::default()
        };
        let find_model = |conn: &mut _,
                          id: &str|
         -> $crate::error::ApiResult<$crate::db::models::LoggedModelRow> {
            let r: Option<$crate::db::models::LoggedModelRow> =
                $crate::db::schema::logged_models::table
                    .find(id)
                    .first(conn)
                    .optional()?;
            r.filter(|r| r.lifecycle_stage == "active")
                .ok_or_else(|| $crate::service::logged_models::not_found(id))
        };
        if let Some(local) = $crate::service::version_sources::local_source(source) {
            let root = match (model_id, run_id) {
                (Some(id), _) => {
                    let m = find_model($conn, id)?;
                    let loc = m.artifact_location.clone();
                    if out.run_id.is_none() {
                        out.run_id = m.source_run_id.clone();
                    }
                    out.model = Some(m);
                    Some(loc)
                }
                (None, Some(rid)) => {
                    Some($crate::service::run_data::RunReader::run_row($conn, rid)?.artifact_uri)
                }
                (None, None) => None,
            };
            $crate::service::version_sources::check_local(
                &local,
                root.as_deref(),
                model_id.is_some(),
            )?;
        } else if let Some(rest) = source.strip_prefix("models:/") {
            let rest = rest.trim_end_matches('/');
            if rest.starts_with("m-") && !rest.contains('/') {
                if model_id.is_some_and(|m| m != rest) {
                    return Err($crate::service::version_sources::bad_source(
                        source,
                        "The model ID in the source does not match model_id.",
                    ));
                }
                let m = find_model($conn, rest)?;
                out.storage_location = Some(m.artifact_location.clone());
                if out.run_id.is_none() {
                    out.run_id = m.source_run_id.clone();
                }
                out.model = Some(m);
            } else {
                let (name, version) = rest.rsplit_once('/').ok_or_else(|| {
                    $crate::service::version_sources::bad_source(
                        source,
                        "Expected models:/<name>/<version> or models:/<model_id>.",
                    )
                })?;
                let version = $crate::service::registry_read::parse_version(Some(version))?;
                let target = $crate::mv_row!($conn, name, version)?;
                if run_id.is_some() && target.run_id.as_deref() != run_id {
                    return Err($crate::service::version_sources::bad_source(
                        source,
                        "The run_id does not match the referenced model version.",
                    ));
                }
                out.storage_location = target.storage_location.clone().or(target.source.clone());
                out.run_id = out.run_id.or(target.run_id.clone());
            }
        } else if let Some(id) = model_id {
            let m = find_model($conn, id)?;
            if source.starts_with("runs:/") {
                return Err($crate::service::version_sources::bad_source(
                    source,
                    "A runs:/ source cannot be combined with model_id.",
                ));
            }
            let local = !source.contains(":/");
            if (source.starts_with("mlflow-artifacts:") || local)
                && !$crate::service::version_sources::is_under(source, &m.artifact_location)
            {
                return Err($crate::service::version_sources::bad_source(
                    source,
                    "It must lie under the logged model's artifact location.",
                ));
            }
            if out.run_id.is_none() {
                out.run_id = m.source_run_id.clone();
            }
            out.model = Some(m);
        } else if let Some(rid) = run_id {
            if let Some(rest) = source.strip_prefix("runs:/") {
                if rest.split('/').next() != Some(rid) {
                    return Err($crate::service::version_sources::bad_source(
                        source,
                        "The run in the source does not match run_id.",
                    ));
                }
            } else if source.starts_with("mlflow-artifacts:")
                || source.contains("/api/2.0/mlflow-artifacts/artifacts")
            {
                let run = $crate::service::run_data::RunReader::run_row($conn, rid)?;
                let tail = run
                    .artifact_uri
                    .strip_prefix("mlflow-artifacts:")
                    .unwrap_or(&run.artifact_uri);
                let src_tail = source
                    .split_once("/api/2.0/mlflow-artifacts/artifacts")
                    .map_or_else(
                        || {
                            source
                                .strip_prefix("mlflow-artifacts:")
                                .unwrap_or(source)
                                .to_string()
                        },
                        |(_, p)| p.to_string(),
                    );
                if !$crate::service::version_sources::is_under(
                    src_tail.trim_start_matches('/'),
                    tail.trim_start_matches('/'),
                ) {
                    return Err($crate::service::version_sources::bad_source(
                        source,
                        "It must lie under the run's artifact URI.",
                    ));
                }
            }
        }
        out
    }};
}
