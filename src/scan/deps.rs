//! Dependency files: `requirements*.txt`, `conda.yaml` (its `pip:` list) and `python_env.yaml` (its
//! `dependencies`). Index and find-links options, direct URLs, local paths and VCS links are high
//! (they fetch code from wherever the author chose); a requirement not pinned with `==` is medium; a
//! pin inside a known advisory's range is high.

use std::str::FromStr;

use pep508_rs::pep440_rs::Operator;
use pep508_rs::{Requirement, VersionOrUrl};
use yaml_rust2::{Yaml, YamlLoader};

use super::{Finding, Scan, Severity};

pub fn is_dependency_file(name: &str) -> bool {
    (name.starts_with("requirements") && name.ends_with(".txt"))
        || name == "conda.yaml"
        || name == "python_env.yaml"
}

/// What a requirement pins.
#[derive(Debug, Clone, PartialEq)]
pub enum Pin {
    /// `name==version`.
    Exact(String, String),
    Unpinned(String),
    /// An option that installs nothing by itself (`-r`, `--hash`, …).
    Other,
}

const VCS: &[&str] = &["git+", "hg+", "svn+", "bzr+"];

fn finding(rule: &str, sev: Severity, path: &str, line: u32, text: &str, msg: String) -> Finding {
    Finding::new(rule, sev, path, msg).at(line, text)
}

/// What one requirement (or pip option) line is: a pin, or a finding of its own.
pub enum Line {
    Pin(Pin),
    Refused(&'static str, Severity, String),
}

fn refused(rule: &'static str, sev: Severity, msg: impl Into<String>) -> Line {
    Line::Refused(rule, sev, msg.into())
}

/// Classify one trimmed line, with no findings and no advisories (the validator reads the pins so).
pub fn classify(t: &str) -> Line {
    let vcs = |s: &str| VCS.iter().any(|v| s.starts_with(v));
    let opt = t.split([' ', '=']).next().unwrap_or("");
    if matches!(
        opt,
        "-i" | "--index-url" | "--extra-index-url" | "-f" | "--find-links" | "--trusted-host"
    ) {
        return refused(
            "HV-DEP-INDEX",
            Severity::High,
            format!("{opt}: installs packages from an index the submission chooses"),
        );
    }
    if opt == "-e" || opt == "--editable" {
        let what = t[opt.len()..].trim();
        let rule = if vcs(what) {
            "HV-DEP-VCS"
        } else {
            "HV-DEP-URL"
        };
        return refused(
            rule,
            Severity::High,
            format!("an editable install of {what}"),
        );
    }
    if t.starts_with('-') {
        // -r/-c (the included file is scanned on its own), --hash, --no-binary and the like.
        return Line::Pin(Pin::Other);
    }
    if vcs(t) || t.contains(" @ git+") {
        return refused(
            "HV-DEP-VCS",
            Severity::High,
            "installs from a version-control link",
        );
    }
    match Requirement::<pep508_rs::VerbatimUrl>::from_str(t) {
        Ok(req) => {
            let name = req.name.to_string();
            match &req.version_or_url {
                Some(VersionOrUrl::Url(u)) => {
                    let rule = if vcs(&u.to_string()) {
                        "HV-DEP-VCS"
                    } else {
                        "HV-DEP-URL"
                    };
                    refused(rule, Severity::High, format!("{name} from a direct URL"))
                }
                Some(VersionOrUrl::VersionSpecifier(specs)) => {
                    match specs.iter().collect::<Vec<_>>().as_slice() {
                        [one]
                            if matches!(one.operator(), Operator::Equal | Operator::ExactEqual) =>
                        {
                            Line::Pin(Pin::Exact(name, one.version().to_string()))
                        }
                        _ => Line::Pin(Pin::Unpinned(name)),
                    }
                }
                None => Line::Pin(Pin::Unpinned(name)),
            }
        }
        Err(_)
            if t.contains("://")
                || t.starts_with('.')
                || t.starts_with('/')
                || t.ends_with(".whl")
                || t.ends_with(".tar.gz") =>
        {
            refused(
                "HV-DEP-URL",
                Severity::High,
                "installs from a URL or a local path",
            )
        }
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            refused(
                "HV-DEP-INVALID",
                Severity::Medium,
                format!("not a requirement pip reads: {first}"),
            )
        }
    }
}

/// Check one requirement (or pip option) line; `line` is its 1-based number. `pins`: an unpinned
/// requirement is a finding (not for `build_dependencies`, where MLflow itself writes a bare `wheel`).
pub fn requirement(scan: &mut Scan, path: &str, line: u32, text: &str, pins: bool) {
    let t = text.trim();
    match classify(t) {
        Line::Refused(rule, sev, msg) => scan.add(finding(rule, sev, path, line, t, msg)),
        Line::Pin(Pin::Exact(name, version)) => {
            for adv in scan.opts.advisories.affecting(&name, &version) {
                let aka = if adv.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", adv.aliases.join(", "))
                };
                let msg = format!(
                    "{name}=={version} is affected by {}{aka}: {}",
                    adv.id, adv.summary
                );
                scan.add(finding(
                    "HV-DEP-VULNERABLE",
                    Severity::High,
                    path,
                    line,
                    t,
                    msg,
                ));
            }
        }
        Line::Pin(Pin::Unpinned(name)) if pins => scan.add(finding(
            "HV-DEP-UNPINNED",
            Severity::Medium,
            path,
            line,
            t,
            format!("{name} is not pinned to one version with =="),
        )),
        Line::Pin(_) => {}
    }
}

/// The logical lines of a requirements file: `(line number, text)`, comments and continuations handled.
pub fn requirement_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let no_comment = match raw.find(" #").or_else(|| raw.starts_with('#').then_some(0)) {
            Some(i) => &raw[..i],
            None => raw,
        };
        let (body, cont) = match no_comment.trim_end().strip_suffix('\\') {
            Some(b) => (b, true),
            None => (no_comment, false),
        };
        let (n, mut acc) = pending.take().unwrap_or((i as u32 + 1, String::new()));
        acc.push_str(body);
        if cont {
            pending = Some((n, acc));
        } else if !acc.trim().is_empty() {
            out.push((n, acc.trim().to_string()));
        }
    }
    if let Some((n, acc)) = pending.filter(|(_, a)| !a.trim().is_empty()) {
        out.push((n, acc.trim().to_string()));
    }
    out
}

/// The line of `needle` in `text` (for findings in YAML lists), or 1.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i as u32 + 1)
}

/// A YAML list of requirement strings.
fn yaml_list(scan: &mut Scan, path: &str, text: &str, list: &Yaml, pins: bool) {
    for item in list.as_vec().into_iter().flatten() {
        if let Some(s) = item.as_str() {
            requirement(scan, path, line_of(text, s), s, pins);
        }
    }
}

pub fn scan(scan: &mut Scan, path: &str, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".txt") {
        for (n, line) in requirement_lines(&text) {
            requirement(scan, path, n, &line, true);
        }
        return;
    }
    let doc = match YamlLoader::load_from_str(&text) {
        Ok(mut d) if !d.is_empty() => d.swap_remove(0),
        Ok(_) => return,
        Err(e) => {
            scan.add(Finding::new(
                "HV-DEP-INVALID",
                Severity::Medium,
                path,
                format!("not valid YAML: {e}"),
            ));
            return;
        }
    };
    if name == "conda.yaml" {
        for dep in doc["dependencies"].as_vec().into_iter().flatten() {
            if let Some(pip) = dep
                .as_hash()
                .and_then(|h| h.get(&Yaml::String("pip".into())))
            {
                yaml_list(scan, path, &text, pip, true);
            }
        }
        for ch in doc["channels"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(Yaml::as_str)
        {
            if ch.contains("://") {
                scan.add(finding(
                    "HV-DEP-INDEX",
                    Severity::High,
                    path,
                    line_of(&text, ch),
                    ch,
                    format!("conda channel {ch}: packages from a server the submission chooses"),
                ));
            }
        }
    } else {
        yaml_list(scan, path, &text, &doc["build_dependencies"], false);
        yaml_list(scan, path, &text, &doc["dependencies"], true);
    }
}

#[cfg(test)]
mod tests {
    use super::requirement_lines;

    #[test]
    fn logical_lines() {
        let l = requirement_lines(
            "# c\nnumpy==1.0  # pinned\npandas>=2 \\\n  ,<3\n\n--index-url http://x\n",
        );
        assert_eq!(
            l,
            vec![
                (2, "numpy==1.0".into()),
                (3, "pandas>=2   ,<3".into()),
                (6, "--index-url http://x".into())
            ]
        );
    }
}
