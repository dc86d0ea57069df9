//! Which Python a worker runs: the one `--serving-python` (`local`), or a venv built from the model's
//! own `requirements.txt` (`virtualenv` with the stdlib's venv and pip, `uv` with uv), cached per hash
//! of interpreter and requirements. Builds run in the sandbox like workers, from wheels only
//! (`--only-binary :all:`), so no package's build script runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::ServingFlags;
use super::locks::{short_hash, Locks};
use super::sandbox;

/// An executable by name on the server's PATH (the sandbox's PATH is a plain one).
pub fn which(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.components().count() > 1 {
        return Some(std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|c| c.is_file())
    })
}

#[derive(Default)]
pub struct Envs {
    building: Locks<String>,
}

impl Envs {
    /// The interpreter for a model whose copy is at `model_dir`.
    pub async fn python(
        &self,
        flags: &ServingFlags,
        user: Option<(u32, u32)>,
        model_dir: &Path,
    ) -> Result<PathBuf, String> {
        let wanted = flags.python();
        let base =
            which(&wanted).ok_or_else(|| format!("--serving-python '{wanted}' not found"))?;
        if flags.serving_env_manager == "local" {
            return Ok(base);
        }
        let reqs = std::fs::read_to_string(model_dir.join("requirements.txt")).map_err(|e| {
            format!("the model has no requirements.txt to build its environment from: {e}")
        })?;
        let base_name = base.display().to_string();
        let parts: [&[u8]; 3] = [
            flags.serving_env_manager.as_bytes(),
            base_name.as_bytes(),
            reqs.as_bytes(),
        ];
        let hash = short_hash(&parts, 12);
        let dir = std::path::absolute(Path::new(&flags.serving_dir).join("envs").join(&hash))
            .map_err(|e| e.to_string())?;
        let python = dir.join("bin").join("python");
        let lock = self.building.of(&hash);
        let _held = lock.lock().await;
        if dir.join(".harvester-ready").is_file() {
            return Ok(python);
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        let req_file = model_dir.join("requirements.txt");
        let steps: Vec<(PathBuf, Vec<String>)> = if flags.serving_env_manager == "uv" {
            let uv = which("uv").ok_or("--serving-env-manager uv: no `uv` on the PATH")?;
            let d = dir.display().to_string();
            vec![
                (
                    uv.clone(),
                    vec![
                        "venv".into(),
                        "--python".into(),
                        base.display().to_string(),
                        d,
                    ],
                ),
                (
                    uv,
                    vec![
                        "pip".into(),
                        "install".into(),
                        "--python".into(),
                        python.display().to_string(),
                        "--only-binary".into(),
                        ":all:".into(),
                        "-r".into(),
                        req_file.display().to_string(),
                    ],
                ),
            ]
        } else {
            vec![
                (
                    base.clone(),
                    vec!["-m".into(), "venv".into(), dir.display().to_string()],
                ),
                (
                    python.clone(),
                    vec![
                        "-m".into(),
                        "pip".into(),
                        "install".into(),
                        "-q".into(),
                        "--no-cache-dir".into(),
                        "--disable-pip-version-check".into(),
                        "--only-binary".into(),
                        ":all:".into(),
                        "-r".into(),
                        req_file.display().to_string(),
                    ],
                ),
            ]
        };
        let limit = Duration::from_secs(flags.serving_start_timeout.max(1));
        for (program, args) in steps {
            run(&program, &args, flags, user, limit).await?;
        }
        std::fs::write(dir.join(".harvester-ready"), hash).map_err(|e| e.to_string())?;
        Ok(python)
    }
}

/// Run one build step in the sandbox; its output's end explains a failure.
async fn run(
    program: &Path,
    args: &[String],
    flags: &ServingFlags,
    user: Option<(u32, u32)>,
    limit: Duration,
) -> Result<(), String> {
    let scratch = tempfile::Builder::new()
        .prefix("hv-env")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut cmd =
        sandbox::command(program, scratch.path(), flags, user).map_err(|e| e.to_string())?;
    cmd.args(args);
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .map_err(|_| {
            format!(
                "building the environment took longer than {}s",
                limit.as_secs()
            )
        })?
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    Err(format!(
        "building the model's environment failed ({} {}): {}",
        program.display(),
        args.join(" "),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}
