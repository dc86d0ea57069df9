//! Local-disk artifact store: files under one root, written atomically (temporary file, fsync, rename)
//! and never outside the root: paths arrive as [`SafePath`]s, and symlinks met on the way are resolved
//! and must stay inside the root. All calls block; handlers run them on the blocking pool.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::path::SafePath;
use super::FileInfo;
use crate::error::{ApiError, ApiResult};

/// Uploads in progress live here (same filesystem as the root, so the final rename is atomic).
pub const UPLOADS_DIR: &str = ".harvester-uploads";

/// Bytes gathered before one write on the blocking pool.
const WRITE_BATCH: usize = 1 << 20;

/// Run a short blocking file operation on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("upload worker failed: {e}")))?
}

#[derive(Clone)]
pub struct LocalStore {
    root: PathBuf,
}

fn io_err(what: &str, e: std::io::Error) -> ApiError {
    ApiError::internal(format!("{what}: {e}"))
}

fn escapes(p: &SafePath) -> ApiError {
    ApiError::invalid(format!(
        "Invalid path: '{}' resolves outside the artifact root",
        p.as_str()
    ))
}

impl LocalStore {
    /// Create the root if needed and clear uploads an earlier process left unfinished.
    pub fn open(root: &str) -> Result<LocalStore, String> {
        fs::create_dir_all(root)
            .map_err(|e| format!("Cannot create artifact root '{root}': {e}"))?;
        let root = fs::canonicalize(root).map_err(|e| format!("Artifact root '{root}': {e}"))?;
        let uploads = root.join(UPLOADS_DIR);
        let _ = fs::remove_dir_all(&uploads);
        fs::create_dir_all(&uploads).map_err(|e| format!("{}: {e}", uploads.display()))?;
        Ok(LocalStore { root })
    }

    /// A read-only view of an existing local artifact root (a run or model whose experiment keeps its
    /// artifacts on a local path): nothing is created, and a missing root lists as empty.
    pub fn view(root: &str) -> LocalStore {
        let root = fs::canonicalize(root).unwrap_or_else(|_| PathBuf::from(root));
        LocalStore { root }
    }

    /// Make a [`LocalStore::view`] writable: its root and upload folder exist afterwards (nothing is
    /// cleared, since other writers may share the folder).
    pub fn ensure_writable(&self) -> ApiResult<()> {
        fs::create_dir_all(self.root.join(UPLOADS_DIR))
            .map_err(|e| io_err("cannot create artifact directory", e))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real location of an existing path, checked to be inside the root; `None` if it does not exist.
    pub fn existing(&self, p: &SafePath) -> ApiResult<Option<PathBuf>> {
        match fs::canonicalize(self.root.join(p.as_str())) {
            Ok(real) if real.starts_with(&self.root) && !self.is_internal(&real) => Ok(Some(real)),
            Ok(_) => Err(escapes(p)),
            Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
                // Missing, but its nearest existing ancestor must still be inside the root: a path through
                // a symlink that leaves the root is refused, not reported as absent.
                let mut anc = self.root.join(p.as_str());
                while anc.pop() && anc.starts_with(&self.root) {
                    if let Ok(real) = fs::canonicalize(&anc) {
                        if !real.starts_with(&self.root) || self.is_internal(&real) {
                            return Err(escapes(p));
                        }
                        break;
                    }
                }
                Ok(None)
            }
            Err(e) => Err(io_err("cannot resolve artifact path", e)),
        }
    }

    fn is_internal(&self, real: &Path) -> bool {
        real.starts_with(self.root.join(UPLOADS_DIR))
    }

    /// Create the parent directories of `p` one by one, refusing symlinks that leave the root and files in
    /// the way; returns the final file path.
    fn prepare_parent(&self, p: &SafePath, created: &mut Vec<PathBuf>) -> ApiResult<PathBuf> {
        let segs: Vec<&str> = p.segments().collect();
        let (last, dirs) = segs
            .split_last()
            .ok_or_else(|| ApiError::invalid("Invalid path: ''"))?;
        if segs.first() == Some(&UPLOADS_DIR) {
            // The server's own scratch folder: an upload there would be acknowledged, then swept away.
            return Err(ApiError::invalid(format!(
                "Invalid path: '{}': '{UPLOADS_DIR}' is reserved by the server",
                p.as_str()
            )));
        }
        let mut cur = self.root.clone();
        for seg in dirs {
            cur.push(seg);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.file_type().is_symlink() => {
                    let real = fs::canonicalize(&cur).map_err(|_| escapes(p))?;
                    if !real.starts_with(&self.root) || self.is_internal(&real) || !real.is_dir() {
                        return Err(escapes(p));
                    }
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(ApiError::invalid(format!(
                        "Invalid path: '{}': a parent is a file",
                        p.as_str()
                    )))
                }
                Err(e) if e.kind() == ErrorKind::NotFound => match fs::create_dir(&cur) {
                    Ok(()) => created.push(cur.clone()),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err("cannot create artifact directory", e)),
                },
                Err(e) => return Err(io_err("cannot inspect artifact directory", e)),
            }
        }
        let target = cur.join(last);
        if target.is_dir() {
            return Err(ApiError::invalid(format!(
                "Invalid path: '{}' is a directory",
                p.as_str()
            )));
        }
        Ok(target)
    }

    /// Start an upload to a temporary file; [`Upload::finish`] moves it under its name.
    pub fn begin(&self, p: &SafePath) -> ApiResult<Upload> {
        let mut created = Vec::new();
        let target = match self.prepare_parent(p, &mut created) {
            Ok(t) => t,
            Err(e) => {
                remove_empty(&created);
                return Err(e);
            }
        };
        let tmp = self
            .root
            .join(UPLOADS_DIR)
            .join(uuid::Uuid::new_v4().simple().to_string());
        let file = match fs::File::create(&tmp) {
            Ok(f) => f,
            Err(e) => {
                remove_empty(&created);
                return Err(io_err("cannot create upload file", e));
            }
        };
        Ok(Upload {
            file: Some(file),
            tmp,
            target,
            written: 0,
            created,
        })
    }

    /// Store a streamed body under `p`. Chunks are gathered in memory up to [`WRITE_BATCH`] and each
    /// batch is written by a short task on the blocking pool, so an upload that stalls holds no thread
    /// (only its socket) while it waits for bytes, and memory stays bounded. The file only gets its name
    /// after the body ended, so a dropped or failed upload leaves nothing, not even the folders it made.
    pub async fn put<S>(&self, p: &SafePath, mut body: S) -> ApiResult<u64>
    where
        S: Stream<Item = ApiResult<Bytes>> + Unpin,
    {
        let (store, path) = (self.clone(), p.clone());
        let mut up = blocking(move || store.begin(&path)).await?;
        let mut batch: Vec<Bytes> = Vec::new();
        let mut pending = 0usize;
        loop {
            let next = body.next().await;
            let end = next.is_none();
            if let Some(chunk) = next {
                let chunk = chunk?;
                pending += chunk.len();
                batch.push(chunk);
            }
            if pending >= WRITE_BATCH || (end && !batch.is_empty()) {
                let chunks = std::mem::take(&mut batch);
                pending = 0;
                up = blocking(move || {
                    chunks.iter().try_for_each(|c| up.write(c))?;
                    Ok(up)
                })
                .await?;
            }
            if end {
                return blocking(move || up.finish()).await;
            }
        }
    }

    /// List a directory: basenames, sorted; a missing path or a file lists as empty (as MLflow's local
    /// artifact repository does).
    pub fn list(&self, dir: &SafePath) -> ApiResult<Vec<FileInfo>> {
        let Some(real) = self.existing(dir)?.filter(|r| r.is_dir()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&real).map_err(|e| io_err("cannot list artifacts", e))? {
            let entry = entry.map_err(|e| io_err("cannot list artifacts", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if dir.is_root() && name == UPLOADS_DIR {
                continue;
            }
            // Follow symlinks only when they stay inside the root.
            let Ok(target) = fs::canonicalize(entry.path()) else {
                continue;
            };
            if !target.starts_with(&self.root) {
                continue;
            }
            let Ok(m) = fs::metadata(&target) else {
                continue;
            };
            out.push(FileInfo {
                path: name,
                is_dir: m.is_dir(),
                file_size: (!m.is_dir()).then_some(m.len() as i64),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Open an existing file for reading: 404 when missing, 400 for a directory.
    pub fn open_file(&self, p: &SafePath) -> ApiResult<(fs::File, PathBuf)> {
        let real = self
            .existing(p)?
            .ok_or_else(|| ApiError::not_found(format!("No such artifact: '{}'", p.as_str())))?;
        if real.is_dir() {
            return Err(ApiError::invalid(format!(
                "Invalid path: '{}' is a directory",
                p.as_str()
            )));
        }
        let f = fs::File::open(&real).map_err(|e| io_err("cannot open artifact", e))?;
        Ok((f, real))
    }

    /// Remove a file or a directory tree; a missing path is not an error (as in MLflow).
    pub fn delete(&self, p: &SafePath) -> ApiResult<()> {
        if p.is_root() {
            return Err(ApiError::invalid("Refusing to delete the artifact root"));
        }
        let Some(real) = self.existing(p)? else {
            return Ok(());
        };
        let res = if real.is_dir() {
            fs::remove_dir_all(&real)
        } else {
            fs::remove_file(&real)
        };
        match res {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_err("cannot delete artifact", e)),
            _ => Ok(()),
        }
    }
}

/// Remove the folders an unfinished upload created, deepest first, where they are still empty (another
/// upload may have put a file in one meanwhile; `remove_dir` leaves a non-empty folder alone).
fn remove_empty(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// An upload in progress: dropped without [`Upload::finish`], it removes its temporary file and the
/// folders it created.
pub struct Upload {
    file: Option<fs::File>,
    tmp: PathBuf,
    target: PathBuf,
    written: u64,
    created: Vec<PathBuf>,
}

impl Upload {
    pub fn write(&mut self, chunk: &[u8]) -> ApiResult<()> {
        if let Some(f) = self.file.as_mut() {
            f.write_all(chunk)
                .map_err(|e| io_err("cannot write artifact", e))?;
            self.written += chunk.len() as u64;
        }
        Ok(())
    }

    /// fsync, then rename onto the final name; returns the size written.
    pub fn finish(mut self) -> ApiResult<u64> {
        if let Some(f) = self.file.take() {
            f.sync_all()
                .map_err(|e| io_err("cannot flush artifact", e))?;
        }
        if let Err(e) = fs::rename(&self.tmp, &self.target) {
            let _ = fs::remove_file(&self.tmp);
            remove_empty(&self.created);
            return Err(io_err("cannot store artifact", e));
        }
        self.created.clear();
        Ok(self.written)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.tmp);
            remove_empty(&self.created);
        }
    }
}
