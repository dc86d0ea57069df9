//! The scan policy: which severity fails a scan (`--scan-fail-on`, default `high`) and the per-rule
//! allow-list from the scan config file (`--scan-config`), e.g.
//!
//! ```toml
//! fail_on = "medium"
//! [[allow]]
//! rule = "HV-PY-ENV"          # a rule id
//! path = "*/features.py"      # optional: only in files matching this pattern
//! reason = "reads LOG_LEVEL"  # shown beside the allowed finding
//! ```

use serde::Deserialize;

use super::{Counts, Finding, Report, Severity, Verdict};
use crate::security::fnmatch::Pattern;

/// One allow-list entry.
#[derive(Debug, Clone)]
pub struct Allow {
    pub rule: String,
    pub path: Option<Pattern>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub fail_on: Severity,
    pub allow: Vec<Allow>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            fail_on: Severity::High,
            allow: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAllow {
    rule: String,
    path: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    fail_on: Option<String>,
    #[serde(default)]
    allow: Vec<FileAllow>,
}

impl Policy {
    /// Read the scan config file; `fail_on` (the flag) wins over the file's own.
    pub fn load(path: Option<&str>, fail_on: Option<&str>) -> Result<Policy, String> {
        let mut policy = Policy::default();
        if let Some(p) = path {
            let text = std::fs::read_to_string(p).map_err(|e| format!("scan config {p}: {e}"))?;
            let file: File = toml::from_str(&text).map_err(|e| format!("scan config {p}: {e}"))?;
            if let Some(f) = file.fail_on {
                policy.fail_on = parse_fail_on(&f)?;
            }
            policy.allow = file
                .allow
                .into_iter()
                .map(|a| Allow {
                    rule: a.rule,
                    path: a.path.as_deref().map(Pattern::new),
                    reason: a.reason,
                })
                .collect();
        }
        if let Some(f) = fail_on {
            policy.fail_on = parse_fail_on(f)?;
        }
        Ok(policy)
    }

    fn allows(&self, f: &Finding) -> Option<&Allow> {
        self.allow
            .iter()
            .find(|a| a.rule == f.rule && a.path.as_ref().is_none_or(|p| p.matches(&f.file)))
    }

    /// Mark allowed findings, count the rest and decide.
    pub fn apply(
        &self,
        mut findings: Vec<Finding>,
        validated: bool,
        files: u64,
        bytes: u64,
    ) -> Report {
        let mut counts = Counts::default();
        for f in &mut findings {
            if let Some(a) = self.allows(f) {
                f.allowed = true;
                if let Some(r) = &a.reason {
                    f.message = format!("{} (allowed: {r})", f.message);
                }
                continue;
            }
            match f.severity {
                Severity::High => counts.high += 1,
                Severity::Medium => counts.medium += 1,
                Severity::Low => counts.low += 1,
            }
        }
        let failing = findings
            .iter()
            .any(|f| !f.allowed && f.severity >= self.fail_on);
        Report {
            verdict: if failing {
                Verdict::Failed
            } else {
                Verdict::Passed
            },
            fail_on: self.fail_on,
            counts,
            validated,
            files_scanned: files,
            bytes_scanned: bytes,
            findings,
        }
    }
}

pub fn parse_fail_on(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("fail_on must be high, medium or low, not '{s}'"))
}
