//! Artifact path safety: one check for every route that takes an artifact path (the proxy, run artifact
//! listing, get-artifact). MLflow's `validate_path_is_safe` plus what its path-traversal CVEs taught:
//! percent-decoding until stable, backslashes, NUL and control characters.

use percent_encoding::percent_decode_str;

use crate::error::{ApiError, ApiResult};

/// MLflow's exact words (`validate_path_is_safe`), which do not echo the path.
fn invalid(_path: &str) -> ApiError {
    ApiError::invalid("Invalid path")
}

/// A relative artifact path with only normal segments, joined by `/`. Empty means the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafePath(String);

impl SafePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last segment (the file name).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// `self/child` for a child that is already safe.
    pub fn join(&self, child: &SafePath) -> SafePath {
        match (self.is_root(), child.is_root()) {
            (true, _) => child.clone(),
            (_, true) => self.clone(),
            _ => SafePath(format!("{}/{}", self.0, child.0)),
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }
}

/// Reject one decoding level of a path: backslashes, NUL and control characters, absolute paths, drive
/// letters and URIs, and `..` segments.
fn check_level(level: &str, raw: &str) -> ApiResult<()> {
    let bad = level.chars().any(|c| c == '\\' || c.is_control())
        || level.starts_with('/')
        || level.starts_with('~')
        || level.split('/').next().is_some_and(|s| s.contains(':'))
        || level.split('/').any(|s| s == "..");
    if bad {
        return Err(invalid(raw));
    }
    Ok(())
}

/// Validate `raw` (already URL-decoded once by the router) as a relative artifact path. Every further
/// percent-decoding of it is checked too, so `%252e%252e` cannot smuggle `..` past a single decode, but
/// the name is kept as given (a file may be called `100%.txt`). `allow_root` accepts an empty path
/// (listing the root); uploads and downloads need a file name.
pub fn safe_path(raw: &str, allow_root: bool) -> ApiResult<SafePath> {
    let mut level = raw.to_string();
    for _ in 0..8 {
        check_level(&level, raw)?;
        let next = percent_decode_str(&level).decode_utf8_lossy().into_owned();
        if next == level {
            break;
        }
        level = next;
    }
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if parts.is_empty() && !allow_root {
        return Err(invalid(raw));
    }
    Ok(SafePath(parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::safe_path;

    #[test]
    fn accepts_normal_paths() {
        assert_eq!(safe_path("a/b/c.txt", false).unwrap().as_str(), "a/b/c.txt");
        assert_eq!(safe_path("a//b/./c", false).unwrap().as_str(), "a/b/c");
        assert_eq!(
            safe_path("dir/file name.txt", false).unwrap().file_name(),
            "file name.txt"
        );
        assert!(safe_path("", true).unwrap().is_root());
        assert!(safe_path("..a/b..", false).is_ok());
        assert_eq!(safe_path("100%.txt", false).unwrap().as_str(), "100%.txt");
        assert_eq!(safe_path("a%20b.txt", false).unwrap().as_str(), "a%20b.txt");
    }

    #[test]
    fn rejects_traversal() {
        for bad in [
            "",
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "a\\..\\b",
            "..\\windows",
            "C:/Windows",
            "file:///etc/passwd",
            "%2e%2e/secret",
            "%252e%252e/secret",
            "a/%2E%2E/%2E%2E/x",
            "a%2f..%2f..%2fx",
            "a\0b",
            "~/x",
            "a/\n/b",
        ] {
            assert!(safe_path(bad, false).is_err(), "{bad:?} was accepted");
        }
    }
}
