//! EvalAI's REST API as the bridge reads it: JSON (bare lists and paginated envelopes), 429 with
//! `Retry-After`, and file downloads streamed to disk from the installation's own origin only.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::config::{origin_of, Installation};
use crate::jobs::JobError;

/// What went wrong talking to EvalAI.
#[derive(Debug)]
pub enum EvalaiError {
    /// An HTTP answer other than 2xx (not 429).
    Status(u16, String),
    /// 429: wait this long.
    Throttled(Duration),
    /// No answer (connection refused, timeout, a broken body).
    Transport(String),
    /// A file URL outside the installation's origin.
    Foreign(String),
}

impl std::fmt::Display for EvalaiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalaiError::Status(s, body) => write!(f, "EvalAI answered {s}: {body}"),
            EvalaiError::Throttled(d) => write!(f, "EvalAI throttled us (retry in {d:?})"),
            EvalaiError::Transport(e) => write!(f, "EvalAI unreachable: {e}"),
            EvalaiError::Foreign(u) => write!(
                f,
                "refused a file URL outside the installation's origin: {u}"
            ),
        }
    }
}

impl From<EvalaiError> for JobError {
    fn from(e: EvalaiError) -> JobError {
        let message = e.to_string();
        match e {
            EvalaiError::Throttled(d) => JobError {
                message,
                permanent: false,
                retry_after: Some(d),
            },
            EvalaiError::Status(s, _) if (400..500).contains(&s) && s != 408 => {
                JobError::permanent(message)
            }
            EvalaiError::Foreign(_) => JobError::permanent(message),
            _ => JobError::retry(message),
        }
    }
}

/// A client of one installation.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    inst: Arc<Installation>,
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Duration {
    h.get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.clamp(1, 3600)))
        .unwrap_or(Duration::from_secs(60))
}

impl Client {
    pub fn new(inst: Arc<Installation>) -> Client {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("harvester/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client { http, inst }
    }

    pub fn installation(&self) -> &Installation {
        &self.inst
    }

    async fn send(&self, url: &str) -> Result<reqwest::Response, EvalaiError> {
        if origin_of(url).as_deref() != Some(self.inst.origin.as_str()) {
            return Err(EvalaiError::Foreign(url.to_string()));
        }
        let resp = self
            .http
            .get(url)
            .header(reqwest::header::AUTHORIZATION, self.inst.authorization())
            .send()
            .await
            .map_err(|e| EvalaiError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if status == 429 {
            return Err(EvalaiError::Throttled(retry_after(resp.headers())));
        }
        if !(200..300).contains(&status) {
            let body = resp.text().await.unwrap_or_default();
            return Err(EvalaiError::Status(
                status,
                body.chars().take(300).collect(),
            ));
        }
        Ok(resp)
    }

    /// `GET <url><path>` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, EvalaiError> {
        let url = format!("{}{path}", self.inst.url);
        self.get_url(&url).await
    }

    async fn get_url(&self, url: &str) -> Result<Value, EvalaiError> {
        let resp = self.send(url).await?;
        resp.json()
            .await
            .map_err(|e| EvalaiError::Transport(format!("bad JSON: {}", e.without_url())))
    }

    /// Every item of a list endpoint: a bare JSON list, or DRF pages followed through `next`.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, EvalaiError> {
        let mut out = Vec::new();
        let mut page = self.get(path).await?;
        for _ in 0..10_000 {
            match page {
                Value::Array(items) => {
                    out.extend(items);
                    return Ok(out);
                }
                Value::Object(mut o) => {
                    if let Some(Value::Array(items)) = o.remove("results") {
                        out.extend(items);
                    }
                    match o.get("next").and_then(Value::as_str) {
                        Some(next) if !next.is_empty() => page = self.get_url(next).await?,
                        _ => return Ok(out),
                    }
                }
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    /// Stream the file at `url` into `to`; its size.
    pub async fn download(&self, url: &str, to: &Path) -> Result<u64, EvalaiError> {
        let mut resp = self.send(url).await?;
        let mut file = tokio::fs::File::create(to)
            .await
            .map_err(|e| EvalaiError::Transport(format!("cannot write a temporary file: {e}")))?;
        let mut n = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| EvalaiError::Transport(e.without_url().to_string()))?
        {
            n += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(|e| {
                EvalaiError::Transport(format!("cannot write a temporary file: {e}"))
            })?;
        }
        file.flush()
            .await
            .map_err(|e| EvalaiError::Transport(format!("cannot write a temporary file: {e}")))?;
        Ok(n)
    }
}
