//! The bridge's configuration: `--evalai-config FILE`, one `[[evalai]]` table per EvalAI installation.
//! Secrets are never in the file: it names the environment variables that hold them.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCfg {
    #[serde(default)]
    evalai: Vec<InstallationCfg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallationCfg {
    name: Spanned<String>,
    url: Spanned<String>,
    token_env: Spanned<String>,
    #[serde(default)]
    auth: Auth,
    #[serde(default)]
    challenges: Vec<i64>,
    #[serde(default = "default_poll")]
    poll_interval_secs: u64,
    webhook_secret_env: Option<Spanned<String>>,
    /// Harvester's addition: the variable holding the `?token=` shared secret of the Slack receiver.
    slack_token_env: Option<Spanned<String>>,
    #[serde(default = "default_model")]
    registered_model: Spanned<String>,
}

fn default_poll() -> u64 {
    60
}

fn default_model() -> Spanned<String> {
    Spanned::new(0..0, "{challenge_slug}".into())
}

/// How the token is sent: `Authorization: Token …` (EvalAI's expiring token) or `Bearer …` (its JWT).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    Token,
    Bearer,
}

/// One EvalAI installation, resolved: its secrets read from the environment.
pub struct Installation {
    pub name: String,
    /// The base URL, without a trailing slash.
    pub url: String,
    /// `scheme://host:port`: the only origin files are fetched from.
    pub origin: String,
    pub auth: Auth,
    token: String,
    pub challenges: Vec<i64>,
    pub poll_interval: Duration,
    webhook_secret: Option<String>,
    slack_token: Option<String>,
    pub registered_model: String,
}

impl std::fmt::Debug for Installation {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installation")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("challenges", &self.challenges)
            .finish_non_exhaustive()
    }
}

impl Installation {
    /// The `Authorization` header value.
    pub fn authorization(&self) -> String {
        match self.auth {
            Auth::Token => format!("Token {}", self.token),
            Auth::Bearer => format!("Bearer {}", self.token),
        }
    }
    pub fn webhook_secret(&self) -> Option<&str> {
        self.webhook_secret.as_deref()
    }
    pub fn slack_token(&self) -> Option<&str> {
        self.slack_token.as_deref()
    }
}

/// `scheme://host[:port]` of a URL (the port only when given), lowercased; `None` when it is not http(s).
pub fn origin_of(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let host = u.host_str()?.to_ascii_lowercase();
    Some(match u.port_or_known_default() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    })
}

/// The placeholders a `registered_model` template may use.
pub const MODEL_PLACEHOLDERS: &[&str] = &[
    "challenge_slug",
    "challenge_id",
    "phase_codename",
    "installation",
];

fn line_of(text: &str, span: std::ops::Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

/// Parse the file at `path`; `env` looks variables up (the process environment, or a test's map).
pub fn load(path: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Installation>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --evalai-config '{path}': {e}"))?;
    parse(&text, env).map_err(|e| format!("--evalai-config '{path}': {e}"))
}

pub fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Installation>, String> {
    let file: FileCfg = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out: Vec<Installation> = Vec::new();
    for c in file.evalai {
        let at = |s: &std::ops::Range<usize>| format!("line {}", line_of(text, s.clone()));
        let name = c.name.get_ref().clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(format!(
                "{}, key `name`: '{name}' must be letters, digits, '-' or '_' (it appears in URLs)",
                at(&c.name.span())
            ));
        }
        if out.iter().any(|i| i.name == name) {
            return Err(format!(
                "{}, key `name`: installation '{name}' is defined twice",
                at(&c.name.span())
            ));
        }
        let url = c.url.get_ref().trim_end_matches('/').to_string();
        let origin = origin_of(&url).ok_or_else(|| {
            format!(
                "{}, key `url`: '{url}' is not an http(s) URL",
                at(&c.url.span())
            )
        })?;
        let var = |key: &str, s: &Spanned<String>| -> Result<String, String> {
            match env(s.get_ref()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!(
                    "{}, key `{key}`: environment variable {} is not set",
                    at(&s.span()),
                    s.get_ref()
                )),
            }
        };
        let token = var("token_env", &c.token_env)?;
        let webhook_secret = match &c.webhook_secret_env {
            Some(s) => Some(var("webhook_secret_env", s)?),
            None => None,
        };
        let slack_token = match &c.slack_token_env {
            Some(s) => Some(var("slack_token_env", s)?),
            None => None,
        };
        let template = c.registered_model.get_ref().clone();
        check_template(&template).map_err(|e| {
            format!(
                "{}, key `registered_model`: {e}",
                at(&c.registered_model.span())
            )
        })?;
        if c.poll_interval_secs == 0 {
            return Err(format!(
                "installation '{name}', key `poll_interval_secs`: must be at least 1"
            ));
        }
        out.push(Installation {
            name,
            url,
            origin,
            auth: c.auth,
            token,
            challenges: c.challenges,
            poll_interval: Duration::from_secs(c.poll_interval_secs),
            webhook_secret,
            slack_token,
            registered_model: template,
        });
    }
    Ok(out)
}

fn check_template(t: &str) -> Result<(), String> {
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in '{t}'"))?;
        let name = &rest[open + 1..open + close];
        if !MODEL_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} in '{t}'; known: {}",
                MODEL_PLACEHOLDERS.join(", ")
            ));
        }
        rest = &rest[open + close + 1..];
    }
    if t.contains('/') || t.contains(':') || t.trim().is_empty() {
        return Err(format!(
            "'{t}' is not a valid registered-model name ('/' and ':' are not allowed)"
        ));
    }
    Ok(())
}

/// Fill a `registered_model` template.
pub fn model_name(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "EVALAI_TOKEN" => Some("t0ken".into()),
            "SECRET" => Some("s".into()),
            _ => None,
        }
    }

    #[test]
    fn parses_the_documented_block() {
        let text = r#"
[[evalai]]
name = "onprem"
url = "http://evalai.internal:8000/"
token_env = "EVALAI_TOKEN"
auth = "bearer"
challenges = [1]
poll_interval_secs = 60
webhook_secret_env = "SECRET"
registered_model = "{challenge_slug}"
"#;
        let i = parse(text, &env).expect("parses");
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].url, "http://evalai.internal:8000");
        assert_eq!(i[0].origin, "http://evalai.internal:8000");
        assert_eq!(i[0].authorization(), "Bearer t0ken");
        assert_eq!(i[0].webhook_secret(), Some("s"));
        assert!(!format!("{:?}", i[0]).contains("t0ken"));
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let unknown = "[[evalai]]\nname = \"a\"\nurl = \"http://h\"\ntoken_env = \"EVALAI_TOKEN\"\ncolour = 1\n";
        let e = parse(unknown, &env).unwrap_err();
        assert!(e.contains("line 5") && e.contains("colour"), "{e}");
        let missing = "[[evalai]]\nname = \"a\"\nurl = \"http://h\"\n\ntoken_env = \"NOPE\"\n";
        let e = parse(missing, &env).unwrap_err();
        assert!(
            e.contains("line 5") && e.contains("token_env") && e.contains("NOPE"),
            "{e}"
        );
        let bad = "[[evalai]]\nname = \"a\"\nurl = \"http://h\"\ntoken_env = \"EVALAI_TOKEN\"\nregistered_model = \"{team}\"\n";
        let e = parse(bad, &env).unwrap_err();
        assert!(e.contains("line 5") && e.contains("{team}"), "{e}");
        assert!(parse("[[evalai]\n", &env).unwrap_err().contains("line 1"));
    }
}
