//! Known-vulnerable versions, from advisories in OSV's JSON format: a folder of records
//! (`--advisory-db DIR`, e.g. OSV's PyPI export unzipped), or the small snapshot embedded from
//! `advisories/` when none is given. A pinned version inside an affected range is a finding.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use serde::Deserialize;

/// One advisory, for one package.
#[derive(Debug, Clone)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// `(introduced, fixed, last_affected)` intervals.
    ranges: Vec<(Option<Version>, Option<Version>, Option<Version>)>,
    versions: Vec<Version>,
}

impl Advisory {
    fn affects(&self, v: &Version) -> bool {
        self.versions.contains(v)
            || self.ranges.iter().any(|(intro, fixed, last)| {
                intro.as_ref().is_none_or(|i| v >= i)
                    && fixed.as_ref().is_none_or(|f| v < f)
                    && last.as_ref().is_none_or(|l| v <= l)
            })
    }
}

/// Advisories by normalised package name.
#[derive(Debug, Default)]
pub struct Advisories {
    by_package: HashMap<String, Vec<Advisory>>,
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    affected: Vec<Affected>,
}

#[derive(Deserialize)]
struct Affected {
    package: Option<Package>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<HashMap<String, String>>,
}

const SNAPSHOT: &[&str] = &[
    include_str!("../../advisories/GHSA-53q9-r3pm-6pq6.json"),
    include_str!("../../advisories/GHSA-jw8x-6495-233v.json"),
    include_str!("../../advisories/GHSA-8q59-q68h-6hv4.json"),
    include_str!("../../advisories/GHSA-j8r2-6x86-q33q.json"),
    include_str!("../../advisories/GHSA-9wx4-h78v-vm56.json"),
    include_str!("../../advisories/GHSA-3863-2447-669p.json"),
];

/// PEP 503 normalisation: `Scikit_Learn` → `scikit-learn`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

impl Advisories {
    /// The embedded snapshot.
    pub fn snapshot() -> Advisories {
        let mut a = Advisories::default();
        for text in SNAPSHOT {
            a.add(text)
                .expect("the embedded advisory snapshot is valid");
        }
        a
    }

    /// Every `*.json` record under `dir`.
    pub fn load(dir: &Path) -> Result<Advisories, String> {
        let mut a = Advisories::default();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries =
                std::fs::read_dir(&d).map_err(|e| format!("advisory db {}: {e}", d.display()))?;
            for e in entries.filter_map(Result::ok) {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    let text =
                        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                    a.add(&text).map_err(|e| format!("{}: {e}", p.display()))?;
                }
            }
        }
        Ok(a)
    }

    fn add(&mut self, text: &str) -> Result<(), String> {
        let rec: Record = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if rec.withdrawn.is_some() {
            return Ok(());
        }
        for aff in rec.affected {
            let Some(pkg) = aff.package.filter(|p| p.ecosystem == "PyPI") else {
                continue;
            };
            let mut ranges = Vec::new();
            for r in aff
                .ranges
                .iter()
                .filter(|r| r.kind == "ECOSYSTEM" || r.kind == "SEMVER")
            {
                let mut intro: Option<Option<Version>> = None;
                for ev in &r.events {
                    let parse = |s: &String| Version::from_str(s).ok();
                    if let Some(i) = ev.get("introduced") {
                        intro = Some(if i == "0" { None } else { parse(i) });
                    } else if let (Some(f), Some(i)) = (ev.get("fixed"), intro.take()) {
                        ranges.push((i, parse(f), None));
                    } else if let (Some(l), Some(i)) = (ev.get("last_affected"), intro.take()) {
                        ranges.push((i, None, parse(l)));
                    }
                }
                if let Some(i) = intro {
                    ranges.push((i, None, None));
                }
            }
            let versions = aff
                .versions
                .iter()
                .filter_map(|v| Version::from_str(v).ok())
                .collect();
            self.by_package
                .entry(normalise(&pkg.name))
                .or_default()
                .push(Advisory {
                    id: rec.id.clone(),
                    aliases: rec.aliases.clone(),
                    summary: rec.summary.clone(),
                    ranges,
                    versions,
                });
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.by_package.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_package.is_empty()
    }

    /// The advisories that affect `package==version`.
    pub fn affecting(&self, package: &str, version: &str) -> Vec<&Advisory> {
        let Ok(v) = Version::from_str(version) else {
            return Vec::new();
        };
        self.by_package
            .get(&normalise(package))
            .map(|list| list.iter().filter(|a| a.affects(&v)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Advisories;

    #[test]
    fn snapshot_ranges() {
        let a = Advisories::snapshot();
        assert_eq!(a.affecting("torch", "2.5.1").len(), 1);
        assert!(a.affecting("torch", "2.6.0").is_empty());
        assert_eq!(
            a.affecting("Scikit_Learn", "1.4.2")[0].id,
            "GHSA-jw8x-6495-233v"
        );
        assert_eq!(a.affecting("requests", "2.30.0").len(), 2);
        assert!(a
            .affecting("requests", "2.2.0")
            .iter()
            .all(|x| x.id != "GHSA-j8r2-6x86-q33q"));
        assert!(a.affecting("requests", "2.32.3").is_empty());
    }
}
