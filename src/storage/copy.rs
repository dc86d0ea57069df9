//! Copy a whole artifact folder (local or S3) to a local folder, within limits: what the scan
//! inspects and what serving loads are local copies.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::path::safe_path;
use super::roots::Root;
use super::Object;
use crate::error::{ApiError, ErrorCode};

pub enum Copy {
    /// The files would exceed the scan's limits: `(files, bytes)` so far.
    TooBig(u64, u64),
    Failed(ApiError),
}

impl From<ApiError> for Copy {
    fn from(e: ApiError) -> Copy {
        Copy::Failed(e)
    }
}

fn io(e: std::io::Error) -> Copy {
    Copy::Failed(ApiError::internal(format!("scratch folder: {e}")))
}

/// Copy every file under `root` into `dir`, refusing more than `max_files` files or `max_bytes`
/// bytes; the counts copied.
pub async fn copy_tree(
    root: &Root,
    dir: &Path,
    max_files: u64,
    max_bytes: u64,
) -> Result<(u64, u64), Copy> {
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
            if files > max_files || bytes > max_bytes {
                return Err(Copy::TooBig(files, bytes));
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
                    .map_err(|e| Copy::Failed(ApiError::internal(e.to_string())))?
                    .map_err(io)?;
                }
                Object::Remote(mut obj) => {
                    let mut out = tokio::fs::File::create(&to).await.map_err(io)?;
                    while let Some(chunk) = obj.body.next().await {
                        let chunk = chunk.map_err(|e| {
                            Copy::Failed(ApiError::new(
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
    Ok((files, bytes))
}

/// A small file of `root` (an `MLmodel`, say), whole, refused past `max` bytes.
pub async fn read_small(root: &Root, rel: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    match root.get(&safe_path(rel, false)?, None).await? {
        Object::File(f, _) => {
            use std::io::Read;
            f.take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::internal(format!("{rel}: {e}")))?;
        }
        Object::Remote(mut obj) => {
            while let Some(chunk) = obj.body.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(ErrorCode::TEMPORARILY_UNAVAILABLE, e.to_string())
                })?;
                out.extend_from_slice(&chunk);
                if out.len() > max {
                    break;
                }
            }
        }
    }
    if out.len() > max {
        return Err(ApiError::invalid(format!(
            "{rel} is larger than {max} bytes"
        )));
    }
    Ok(out)
}
