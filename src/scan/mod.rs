//! The static scan: files in, report out. A submission package (a zip or a folder with an `MLmodel`)
//! or any folder is read without running any of it: Python source through a real parser, pickles
//! opcode by opcode, archives entry by entry, dependency files line by line; the validator checks the
//! package against the competition template. No HTTP, no database: `service::scans` runs it as a job
//! and `harvester scan` from the command line.

pub mod advisories;
pub mod archive;
pub mod deps;
pub mod globals;
pub mod pickle;
pub mod policy;
pub mod python;
pub mod python_rules;
pub mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use advisories::Advisories;
pub use policy::{Allow, Policy};

/// How bad a finding is; the policy's `fail_on` decides which severities fail a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One thing the scan or the validator found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Bandit's id where bandit has the same check (`B307`), else Harvester's (`HV-PKL-DANGEROUS`).
    pub rule: String,
    pub severity: Severity,
    /// Path inside the package, `/`-separated; `a.zip!inner/b.pkl` inside a nested archive.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    pub message: String,
    /// Matched by an allow-list entry of the policy: reported, but it does not fail the scan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl Finding {
    pub fn new(rule: &str, severity: Severity, file: &str, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            file: file.to_string(),
            line: None,
            snippet: None,
            message: message.into(),
            allowed: false,
        }
    }
    /// The import or name the finding is about, as its snippet.
    pub fn named(mut self, what: &str) -> Finding {
        self.snippet = Some(what.to_string());
        self
    }
    pub fn at(mut self, line: u32, snippet: &str) -> Finding {
        self.line = Some(line);
        let s = snippet.trim();
        self.snippet = Some(match s.char_indices().nth(200) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.to_string(),
        });
        self
    }
}

/// Findings counted by severity (allowed ones are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

/// The scan's verdict under the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    Failed,
}

/// What a scan found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub verdict: Verdict,
    pub fail_on: Severity,
    pub counts: Counts,
    /// The validator ran (the input was a submission: a zip or a folder with an `MLmodel`).
    pub validated: bool,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: Vec<Finding>,
}

/// Size limits, for archives and for the validator.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest file read into memory for a rule (bigger ones are reported and skipped).
    pub max_file_bytes: u64,
    /// Largest total of all files (uncompressed) in one package.
    pub max_total_bytes: u64,
    pub max_entries: u64,
    /// Largest compression ratio of one archive entry (above 1 MiB uncompressed).
    pub max_ratio: u64,
    /// Archives inside archives, at most this deep.
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 512 << 20,
            max_total_bytes: 4 << 30,
            max_entries: 20_000,
            max_ratio: 200,
            max_depth: 3,
        }
    }
}

/// Everything a scan needs besides its input.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub policy: Policy,
    pub advisories: Arc<Advisories>,
    pub limits: Limits,
}

/// The scan of one input, under way: the findings so far and what the validator will read.
pub struct Scan<'o> {
    pub opts: &'o Options,
    pub findings: Vec<Finding>,
    pub files: u64,
    pub bytes: u64,
    /// Every file's path and size, for the validator.
    pub manifest: Vec<(String, u64)>,
    /// The small text files the validator reads (`MLmodel`, requirements, environments, the model code).
    pub texts: std::collections::BTreeMap<String, String>,
}

/// Files the validator keeps the text of.
fn kept_for_validator(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "MLmodel" | "requirements.txt" | "python_env.yaml" | "conda.yaml"
    ) || name.ends_with(".py")
}

impl<'o> Scan<'o> {
    pub fn new(opts: &'o Options) -> Scan<'o> {
        Scan {
            opts,
            findings: Vec::new(),
            files: 0,
            bytes: 0,
            manifest: Vec::new(),
            texts: Default::default(),
        }
    }

    /// Take in what another part of the same scan found.
    pub fn merge(&mut self, other: Scan<'o>) {
        self.findings.extend(other.findings);
        self.files += other.files;
        self.bytes += other.bytes;
        self.manifest.extend(other.manifest);
        self.texts.extend(other.texts);
    }

    pub fn add(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Run every rule that applies to one file (`depth`: how many archives it sits in).
    pub fn file(&mut self, path: &str, data: &[u8], depth: u32) {
        self.files += 1;
        self.bytes += data.len() as u64;
        if depth == 0 {
            self.manifest.push((path.to_string(), data.len() as u64));
            if kept_for_validator(path) && data.len() < (4 << 20) {
                self.texts
                    .insert(path.to_string(), String::from_utf8_lossy(data).into_owned());
            }
        }
        let lower = path.to_ascii_lowercase();
        let name = lower.rsplit('/').next().unwrap_or(&lower);
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        if ext == "py" || ext == "pyw" {
            python::scan(self, path, data);
        } else if deps::is_dependency_file(name) {
            deps::scan(self, path, data);
        } else if matches!(ext, "pyc" | "pyo") {
            self.add(Finding::new(
                "HV-CODE-COMPILED",
                Severity::High,
                path,
                "Compiled Python bytecode: code no reviewer or scanner can read. Ship the .py source.",
            ));
        } else if matches!(ext, "so" | "pyd" | "dll" | "dylib") {
            self.add(Finding::new(
                "HV-CODE-NATIVE",
                Severity::High,
                path,
                "A native library: machine code that runs with the model's process when imported.",
            ));
        } else if ext == "skops" || (archive::is_zip(data) && name == "skops") {
            pickle::scan_skops(self, path, data, depth);
        } else if archive::is_zip(data) {
            archive::scan_nested(self, path, data, depth);
        } else if ext == "npy" {
            pickle::scan_npy(self, path, data);
        } else if pickle::is_pickle_name(ext) || pickle::looks_like_pickle(data) {
            pickle::scan(self, path, data, pickle::is_pickle_name(ext));
        }
    }

    /// Apply the policy and produce the report.
    pub fn finish(mut self, validated: bool) -> Report {
        self.findings.sort_by(|a, b| {
            (&a.file, a.line, &a.rule, &a.snippet).cmp(&(&b.file, b.line, &b.rule, &b.snippet))
        });
        self.findings.dedup_by(|a, b| {
            a.file == b.file && a.line == b.line && a.rule == b.rule && a.snippet == b.snippet
        });
        self.opts
            .policy
            .apply(self.findings, validated, self.files, self.bytes)
    }
}

/// Scan `path`: a zip, a folder or one file. A zip, or a folder with an `MLmodel` at its top, is a
/// submission and is validated too.
pub fn scan_path(path: &Path, opts: &Options) -> Result<Report, String> {
    scan_inner(path, opts, false)
}

/// Scan a model version's files (a folder), always validating them as a submission; on its own deep-stack
/// thread (see [`scan_path_isolated`]).
pub fn scan_submission(path: &Path, opts: &Options) -> Result<Report, String> {
    isolated(path, opts, true)
}

fn scan_inner(path: &Path, opts: &Options, force_validate: bool) -> Result<Report, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut scan = Scan::new(opts);
    let validated = if meta.is_dir() {
        archive::walk_dir(&mut scan, path)?;
        force_validate || path.join("MLmodel").is_file()
    } else {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if archive::is_zip(&data) && !name.ends_with(".skops") && !name.ends_with(".pt") {
            archive::walk_zip(&mut scan, &data)?;
            true
        } else {
            scan.file(&name, &data, 0);
            false
        }
    };
    if validated {
        validate::check(&mut scan);
    }
    Ok(scan.finish(validated))
}

/// Scan `path` on a thread of its own with a deep stack: the parser and the rules recurse over the
/// syntax of untrusted code, which can nest as deeply as its author likes.
pub fn scan_path_isolated(path: &Path, opts: &Options) -> Result<Report, String> {
    isolated(path, opts, false)
}

fn isolated(path: &Path, opts: &Options, force_validate: bool) -> Result<Report, String> {
    let (path, opts) = (path.to_path_buf(), opts.clone());
    std::thread::Builder::new()
        .name("scan".into())
        .stack_size(256 << 20)
        .spawn(move || scan_inner(&path, &opts, force_validate))
        .map_err(|e| format!("cannot start the scan thread: {e}"))?
        .join()
        .map_err(|_| "the scan stopped on an internal error".to_string())?
}

/// The report as text, for `harvester scan`.
pub fn render(input: &str, r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let verdict = match r.verdict {
        Verdict::Passed => "PASSED",
        Verdict::Failed => "FAILED",
    };
    let _ = writeln!(
        out,
        "{input}: {verdict} (fails on {} and above): {} high, {} medium, {} low; {} files, {} bytes{}",
        r.fail_on.as_str(),
        r.counts.high,
        r.counts.medium,
        r.counts.low,
        r.files_scanned,
        r.bytes_scanned,
        if r.validated { "; validated as a submission" } else { "" }
    );
    for f in &r.findings {
        let place = match f.line {
            Some(l) => format!("{}:{l}", f.file),
            None => f.file.clone(),
        };
        let sev = if f.allowed {
            "allowed".to_string()
        } else {
            f.severity.as_str().to_uppercase()
        };
        let _ = writeln!(out, "{sev:<7} {:<18} {place}  {}", f.rule, f.message);
        if let Some(s) = &f.snippet {
            let _ = writeln!(out, "{:27}| {s}", "");
        }
    }
    out
}
