//! MLflow's workspaces (`--enable-workspaces`): the workspace a request works in, and the store of workspaces.
//!
//! With workspaces off (the default) no request has one: [`current`] is `None`, every query runs as before
//! and every row stays in `default`. With them on, the `X-MLflow-Workspace` header names the workspace
//! (`default` when absent); [`middleware`] resolves it once, and it follows the request through
//! [`crate::api::blocking`] into the blocking pool and through [`crate::jobs`] into the work it enqueues.
//! Stores ask [`current`] for the predicate they add (`workspace = ?` on experiments, registered models,
//! webhooks and the gateway's tables; runs, logged models and versions through their parent).

pub mod middleware;
pub mod store;

use std::cell::RefCell;
use std::sync::Arc;

/// The workspace every row starts in, and the one a request without a header works in.
pub const DEFAULT: &str = "default";
/// The request header naming the workspace (`mlflow.utils.workspace_utils.WORKSPACE_HEADER_NAME`).
pub const HEADER: &str = "X-MLFLOW-WORKSPACE";

tokio::task_local! {
    static REQUEST: Arc<str>;
}

thread_local! {
    static BLOCKING: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The workspace of the work in progress: `None` when workspaces are off.
pub fn current() -> Option<Arc<str>> {
    BLOCKING
        .with(|b| b.borrow().clone())
        .or_else(|| REQUEST.try_with(|w| w.clone()).ok())
}

/// The workspace new rows go into: the current one, else `default`.
pub fn effective() -> Arc<str> {
    current().unwrap_or_else(|| Arc::from(DEFAULT))
}

/// Run an async piece of work in `ws` (nothing changes for `None`).
pub async fn scope<F: std::future::Future>(ws: Option<Arc<str>>, f: F) -> F::Output {
    match ws {
        Some(w) => REQUEST.scope(w, f).await,
        None => f.await,
    }
}

/// Run blocking code in `ws`, restoring what the thread had before (blocking threads are reused).
pub fn within<T>(ws: Option<Arc<str>>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<str>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            BLOCKING.with(|b| *b.borrow_mut() = prev);
        }
    }
    let prev = BLOCKING.with(|b| std::mem::replace(&mut *b.borrow_mut(), ws));
    let _restore = Restore(prev);
    f()
}

/// `web::block`, carrying the current workspace onto the blocking thread.
pub async fn block<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, actix_web::error::BlockingError> {
    let ws = current();
    actix_web::web::block(move || within(ws, f)).await
}

/// A path of the proxied artifact store (`mlflow-artifacts`), kept inside the request's workspace as stock
/// keeps it (`_get_workspace_scoped_repo_path_if_enabled`): a path of another workspace is refused, any
/// other is put under `workspaces/<name>/`; `default` keeps its legacy root. Unchanged with workspaces off.
pub fn artifact_path(path: &str) -> crate::error::ApiResult<String> {
    let Some(ws) = current() else {
        return Ok(path.to_string());
    };
    let normalized = path.trim_start_matches('/');
    let base = format!("workspaces/{ws}");
    if normalized.is_empty() {
        return Ok(if &*ws == DEFAULT {
            path.to_string()
        } else {
            base
        });
    }
    let mut parts = normalized.splitn(3, '/');
    if parts.next() == Some("workspaces") {
        return match parts.next() {
            None | Some("") => Err(crate::error::ApiError::invalid(
                "Artifact paths prefixed with 'workspaces/' must include a workspace name.",
            )),
            Some(w) if w != &*ws => Err(crate::error::ApiError::invalid(format!(
                "Artifact path targets workspace '{w}' but the workspace specified in the request is '{ws}'."
            ))),
            Some(_) => Ok(normalized.to_string()),
        };
    }
    if &*ws == DEFAULT {
        return Ok(path.to_string());
    }
    Ok(format!("{base}/{normalized}"))
}

/// Add `AND <column> = '<ws>'` to raw SQL when a workspace is current (names are validated, so the
/// literal is safe; the column is the caller's).
pub fn sql_predicate(column: &str) -> String {
    match current() {
        Some(ws) => format!(" AND {column} = '{}'", ws.replace('\'', "''")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_scope_is_restored() {
        assert!(current().is_none());
        within(Some(Arc::from("team-a")), || {
            assert_eq!(current().as_deref(), Some("team-a"));
            within(None, || assert!(current().is_none()));
            assert_eq!(sql_predicate("e.workspace"), " AND e.workspace = 'team-a'");
        });
        assert!(current().is_none());
        assert_eq!(&*effective(), DEFAULT);
    }

    #[test]
    fn artifact_paths_stay_in_their_workspace() {
        assert_eq!(artifact_path("1/x").unwrap(), "1/x");
        within(Some(Arc::from("team-a")), || {
            assert_eq!(artifact_path("1/x").unwrap(), "workspaces/team-a/1/x");
            assert_eq!(
                artifact_path("workspaces/team-a/1/x").unwrap(),
                "workspaces/team-a/1/x"
            );
            assert!(artifact_path("workspaces/team-b/1/x").is_err());
            assert!(artifact_path("workspaces/").is_err());
            assert_eq!(artifact_path("").unwrap(), "workspaces/team-a");
        });
        within(Some(Arc::from(DEFAULT)), || {
            assert_eq!(artifact_path("1/x").unwrap(), "1/x");
            assert!(artifact_path("workspaces/team-b/1").is_err());
        });
    }

    #[tokio::test]
    async fn request_scope_reaches_sync_code() {
        let seen = scope(Some(Arc::from("team-b")), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("team-b"));
        assert!(current().is_none());
    }
}
