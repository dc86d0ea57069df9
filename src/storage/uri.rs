//! Artifact URI helpers, as MLflow's `mlflow.utils.uri` has them: resolving local locations and joining
//! a child onto a URI path.

use std::path::{Path, PathBuf};

/// `resolve_uri_if_local`: a relative local path becomes absolute against the working directory (a plain
/// path stays a plain path, a `file:` URI stays a `file:` URI); absolute paths and other URIs are kept.
pub fn resolve_if_local(loc: &str) -> String {
    let cwd = || std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    if let Some(rest) = loc.strip_prefix("file:") {
        // `file:relative` / `file://relative` (no netloc-less absolute path) → `file:///<cwd>/relative`.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() || path.starts_with('/') {
            return loc.to_string();
        }
        return format!("file://{}", posix(&cwd().join(path)));
    }
    if has_scheme(loc) || Path::new(loc).is_absolute() {
        return loc.to_string();
    }
    posix(&cwd().join(loc))
}

/// Whether `loc` starts with a URI scheme (`s3:`, `mlflow-artifacts:`, `http:`…) rather than being a path.
fn has_scheme(loc: &str) -> bool {
    match loc.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// `Path.as_posix()` of a joined path, with `.` segments dropped (as pathlib drops them).
fn posix(p: &Path) -> String {
    let s = p.to_string_lossy().replace("/./", "/");
    let s = s.strip_suffix("/.").unwrap_or(&s);
    s.to_string()
}

/// `append_to_uri_path`: join a child onto a URI with exactly one slash.
pub fn append(base: &str, child: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{child}")
    } else {
        format!("{base}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_mlflow() {
        let cwd = std::env::current_dir().unwrap();
        let cwd = cwd.to_string_lossy();
        assert_eq!(
            resolve_if_local("my_location"),
            format!("{cwd}/my_location")
        );
        assert_eq!(resolve_if_local("./mlruns"), format!("{cwd}/mlruns"));
        assert_eq!(resolve_if_local("/abs/p"), "/abs/p");
        assert_eq!(resolve_if_local("file:///abs/p"), "file:///abs/p");
        assert_eq!(resolve_if_local("file:rel"), format!("file://{cwd}/rel"));
        assert_eq!(resolve_if_local("s3://b/p"), "s3://b/p");
        assert_eq!(resolve_if_local("mlflow-artifacts:/"), "mlflow-artifacts:/");
        assert_eq!(append("s3://b/", "1"), "s3://b/1");
        assert_eq!(append("mlflow-artifacts:/1", "r"), "mlflow-artifacts:/1/r");
    }
}
