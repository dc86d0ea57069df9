//! Archive safety and walking: folders and zips (and zips inside them: PyTorch checkpoints, `.npz`,
//! packaged packages) are read entry by entry in memory, never unpacked to disk. Entries that would
//! escape on extraction (absolute paths, `..`, symlinks), bombs (a compression ratio or a total beyond the
//! limits, or an entry larger than its header says), encrypted entries and nesting beyond the limit are
//! findings; their contents are not read.

use std::io::{Cursor, Read};
use std::path::Path;

use super::{Finding, Scan, Severity};

pub fn is_zip(data: &[u8]) -> bool {
    data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06")
}

/// A name that escapes the folder it is extracted into.
fn escapes(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with('/')
        || name.starts_with('\\')
        || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())
        || name.split(['/', '\\']).any(|c| c == "..")
}

/// Kinds of file a rule reads: skipping one of these for its size would hide it from the scan.
fn scannable(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some(
            "py" | "pkl"
                | "pickle"
                | "joblib"
                | "dill"
                | "pt"
                | "pth"
                | "bin"
                | "ckpt"
                | "npy"
                | "npz"
                | "zip"
                | "skops"
        )
    )
}

fn too_big(scan: &mut Scan, path: &str, size: u64) {
    let sev = if scannable(path) {
        Severity::High
    } else {
        Severity::Low
    };
    scan.add(Finding::new(
        "HV-SCAN-SKIPPED",
        sev,
        path,
        format!(
            "{size} bytes: larger than the scan reads ({} bytes), so it was not scanned",
            scan.opts.limits.max_file_bytes
        ),
    ));
}

/// The entries of the zip `data` (`prefix`: its path and `!` when it sits inside another file).
fn entries(scan: &mut Scan, prefix: &str, data: &[u8], depth: u32) {
    let shown = if prefix.is_empty() {
        "(archive)"
    } else {
        prefix.trim_end_matches('!')
    };
    let mut zip = match zip::ZipArchive::new(Cursor::new(data)) {
        Ok(z) => z,
        Err(e) => {
            scan.add(Finding::new(
                "HV-ARC-INVALID",
                Severity::High,
                shown,
                format!("unreadable zip archive: {e}"),
            ));
            return;
        }
    };
    let limits = scan.opts.limits.clone();
    if zip.len() as u64 > limits.max_entries {
        scan.add(Finding::new(
            "HV-ARC-BOMB",
            Severity::High,
            shown,
            format!(
                "{} entries, more than the limit of {}",
                zip.len(),
                limits.max_entries
            ),
        ));
        return;
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let (name, size, csize, symlink, encrypted, is_dir) = match zip.by_index_raw(i) {
            Ok(e) => (
                e.name().to_string(),
                e.size(),
                e.compressed_size(),
                e.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000),
                e.encrypted(),
                e.is_dir(),
            ),
            Err(e) => {
                scan.add(Finding::new(
                    "HV-ARC-INVALID",
                    Severity::High,
                    shown,
                    format!("entry {i}: {e}"),
                ));
                continue;
            }
        };
        let path = format!("{prefix}{name}");
        if escapes(&name) {
            scan.add(Finding::new(
                "HV-ARC-SLIP",
                Severity::High,
                &path,
                "an entry whose path leaves the extraction folder (absolute, or through '..')",
            ));
            continue;
        }
        if symlink {
            scan.add(Finding::new(
                "HV-ARC-SYMLINK",
                Severity::High,
                &path,
                "a symbolic link inside the archive: extracting it can point later writes anywhere",
            ));
            continue;
        }
        if is_dir {
            continue;
        }
        if encrypted {
            scan.add(Finding::new(
                "HV-ARC-ENCRYPTED",
                Severity::High,
                &path,
                "an encrypted entry cannot be scanned",
            ));
            continue;
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            scan.add(Finding::new(
                "HV-ARC-BOMB",
                Severity::High,
                shown,
                format!(
                    "the entries add up to more than the limit of {} bytes",
                    limits.max_total_bytes
                ),
            ));
            return;
        }
        if size > (1 << 20) && size / csize.max(1) > limits.max_ratio {
            scan.add(Finding::new(
                "HV-ARC-BOMB",
                Severity::High,
                &path,
                format!(
                    "compression ratio {}:1 (limit {}:1)",
                    size / csize.max(1),
                    limits.max_ratio
                ),
            ));
            continue;
        }
        if size > limits.max_file_bytes {
            too_big(scan, &path, size);
            continue;
        }
        let mut buf = Vec::with_capacity(size.min(64 << 20) as usize);
        let read = match zip.by_index(i) {
            Ok(e) => e.take(size + 1).read_to_end(&mut buf),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        if let Err(e) = read {
            scan.add(Finding::new(
                "HV-ARC-INVALID",
                Severity::High,
                &path,
                format!("unreadable entry: {e}"),
            ));
            continue;
        }
        if buf.len() as u64 > size {
            scan.add(Finding::new(
                "HV-ARC-BOMB",
                Severity::High,
                &path,
                "the entry inflates past the size its header declares",
            ));
            continue;
        }
        scan.file(&path, &buf, depth);
    }
}

/// A submission zip: its entries are the package's files.
pub fn walk_zip(scan: &mut Scan, data: &[u8]) -> Result<(), String> {
    entries(scan, "", data, 0);
    Ok(())
}

/// A zip found inside the input (a checkpoint, an `.npz`, an archive in the package).
pub fn scan_nested(scan: &mut Scan, path: &str, data: &[u8], depth: u32) {
    if depth + 1 > scan.opts.limits.max_depth {
        scan.add(Finding::new(
            "HV-ARC-NESTING",
            Severity::High,
            path,
            format!(
                "archives nested more than {} deep",
                scan.opts.limits.max_depth
            ),
        ));
        return;
    }
    entries(scan, &format!("{path}!"), data, depth + 1);
}

/// A folder, recursively: symlinks are not followed (one that leads outside the folder is a finding).
/// Files are listed first (the limits apply to the listing), then read and scanned on every core.
pub fn walk_dir(scan: &mut Scan, root: &Path) -> Result<(), String> {
    let base = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let mut stack = vec![base.clone()];
    let (mut total, mut listed) = (0u64, Vec::new());
    'walk: while let Some(dir) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        names.sort_by_key(|e| std::cmp::Reverse(e.file_name()));
        for e in names {
            let p = e.path();
            let rel = p
                .strip_prefix(&base)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let inside = p
                    .canonicalize()
                    .map(|t| t.starts_with(&base))
                    .unwrap_or(false);
                if !inside {
                    scan.add(Finding::new(
                        "HV-ARC-SYMLINK",
                        Severity::High,
                        &rel,
                        "a symbolic link that leads outside the package",
                    ));
                }
                continue;
            }
            if meta.is_dir() {
                stack.push(p);
                continue;
            }
            if listed.len() as u64 + 1 > scan.opts.limits.max_entries {
                scan.add(Finding::new(
                    "HV-ARC-BOMB",
                    Severity::High,
                    &rel,
                    format!("more than {} files", scan.opts.limits.max_entries),
                ));
                break 'walk;
            }
            total += meta.len();
            if total > scan.opts.limits.max_total_bytes {
                scan.add(Finding::new(
                    "HV-ARC-BOMB",
                    Severity::High,
                    &rel,
                    format!(
                        "the files add up to more than {} bytes",
                        scan.opts.limits.max_total_bytes
                    ),
                ));
                break 'walk;
            }
            if meta.len() > scan.opts.limits.max_file_bytes {
                too_big(scan, &rel, meta.len());
                continue;
            }
            listed.push((rel, p));
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = listed.len().div_ceil(threads).max(64);
    let opts = scan.opts;
    let parts: Vec<Result<Scan, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = listed
            .chunks(chunk)
            .map(|files| {
                std::thread::Builder::new()
                    .stack_size(256 << 20)
                    .spawn_scoped(s, move || {
                        let mut part = Scan::new(opts);
                        for (rel, p) in files {
                            let data =
                                std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
                            part.file(rel, &data, 0);
                        }
                        Ok(part)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err("a scan thread stopped on an internal error".into())),
                Err(e) => Err(format!("cannot start a scan thread: {e}")),
            })
            .collect()
    });
    for part in parts {
        scan.merge(part?);
    }
    Ok(())
}
