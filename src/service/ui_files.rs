//! Finding the MLflow web UI: `--ui-dir`, else the `mlflow/server/js/build` folder of an installed `mlflow`
//! package (active virtualenv, `./.venv`, the system and user site-packages). Harvester serves the files
//! the wheel ships; it does not copy them.

use std::path::{Path, PathBuf};

const IN_PACKAGE: &str = "mlflow/server/js/build";

pub fn site_packages(prefix: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64", "local/lib"] {
        let Ok(entries) = std::fs::read_dir(prefix.join(lib)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("python3") {
                out.push(e.path().join("site-packages"));
                out.push(e.path().join("dist-packages"));
            }
        }
    }
    out.push(prefix.join("lib/python3/dist-packages"));
    out
}

/// The UI folder to serve, or `None` (then `/` explains how to get one).
pub fn find(configured: Option<&str>) -> Result<Option<PathBuf>, String> {
    if let Some(dir) = configured.filter(|d| !d.is_empty()) {
        let p = PathBuf::from(dir);
        return if p.join("index.html").is_file() {
            Ok(Some(p))
        } else {
            Err(format!("--ui-dir '{dir}' has no index.html"))
        };
    }
    let mut prefixes: Vec<PathBuf> = Vec::new();
    if let Ok(v) = std::env::var("VIRTUAL_ENV") {
        prefixes.push(v.into());
    }
    prefixes.push(".venv".into());
    if let Ok(h) = std::env::var("HOME") {
        prefixes.push(PathBuf::from(h).join(".local"));
    }
    prefixes.push("/usr/local".into());
    prefixes.push("/usr".into());
    Ok(prefixes
        .iter()
        .flat_map(|p| site_packages(p))
        .map(|sp| sp.join(IN_PACKAGE))
        .find(|d| d.join("index.html").is_file())
        .and_then(|d| d.canonicalize().ok()))
}
