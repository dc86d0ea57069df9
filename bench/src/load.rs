//! Load generation: closed-loop clients (each sends its next request when the last one answers) and
//! open-loop writers (requests fire on a fixed schedule, latency counted from the scheduled time).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request: method, path (after the base URL) and an optional JSON body.
pub struct Req {
    pub post: bool,
    pub path: String,
    pub body: Option<String>,
}

pub type MakeReq = Arc<dyn Fn(usize, usize) -> Req + Send + Sync>;

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub ok: usize,
    pub errors: usize,
    pub elapsed_s: f64,
    pub lat_ms: Vec<f64>,
}

impl Stats {
    pub fn per_sec(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.ok as f64 / self.elapsed_s
        } else {
            0.0
        }
    }
    pub fn pct(&self, p: f64) -> f64 {
        percentile(&self.lat_ms, p)
    }
}

pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[idx.min(v.len() - 1)]
}

pub fn client() -> reqwest::Client {
    client_with_timeout(Duration::from_secs(300))
}

/// A client whose requests fail after `timeout` (open-loop writers count a slower answer as an error).
pub fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(timeout)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Send one request; `Ok(body)` on 200, `Err(status or transport error)` otherwise.
pub async fn send(c: &reqwest::Client, base: &str, r: Req) -> Result<String, String> {
    let url = format!("{base}{}", r.path);
    let rb = if r.post { c.post(url) } else { c.get(url) };
    let rb = match r.body {
        Some(b) => rb.header("content-type", "application/json").body(b),
        None => rb,
    };
    let resp = rb.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(format!(
            "HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

pub async fn send_json(c: &reqwest::Client, base: &str, r: Req) -> Result<Value, String> {
    let text = send(c, base, r).await?;
    serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))
}

/// Sum the per-task stats; elapsed time runs from `start` until the last task is done.
async fn collect(tasks: Vec<tokio::task::JoinHandle<Stats>>, start: Instant) -> Stats {
    let mut total = Stats::default();
    for t in tasks {
        if let Ok(s) = t.await {
            total.ok += s.ok;
            total.errors += s.errors;
            total.lat_ms.extend(s.lat_ms);
        }
    }
    total.elapsed_s = start.elapsed().as_secs_f64();
    total
}

/// `clients` concurrent closed loops for `duration`, or until `max_requests` (total) are sent.
pub async fn closed_loop(
    base: &str,
    clients: usize,
    duration: Duration,
    max_requests: usize,
    make: MakeReq,
) -> Stats {
    let c = client();
    let sent = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for id in 0..clients {
        let (c, base, make, sent) = (c.clone(), base.to_string(), make.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut st = Stats::default();
            let mut seq = 0;
            while start.elapsed() < duration && sent.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let req = make(id, seq);
                seq += 1;
                let t = Instant::now();
                match send(&c, &base, req).await {
                    Ok(_) => {
                        st.ok += 1;
                        st.lat_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    Err(e) => {
                        if st.errors == 0 {
                            eprintln!("  request error: {e}");
                        }
                        st.errors += 1;
                    }
                }
            }
            st
        }));
    }
    collect(tasks, start).await
}

/// `writers` open-loop senders at `hz` each for `duration`; every request is its own task.
pub async fn open_loop(
    base: &str,
    writers: usize,
    hz: f64,
    duration: Duration,
    make: MakeReq,
) -> Stats {
    let c = client_with_timeout(Duration::from_secs(10));
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / hz);
    let mut handles = Vec::new();
    for id in 0..writers {
        let (c, base, make) = (c.clone(), base.to_string(), make.clone());
        handles.push(tokio::spawn(async move {
            let offset = period.mul_f64(id as f64 / writers as f64);
            let mut inflight = Vec::new();
            let mut seq = 0usize;
            loop {
                let due = start + offset + period * seq as u32;
                if due.duration_since(start) >= duration {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let req = make(id, seq);
                seq += 1;
                let (c, base) = (c.clone(), base.clone());
                inflight.push(tokio::spawn(async move {
                    let r = send(&c, &base, req).await;
                    (r.is_ok(), due.elapsed().as_secs_f64() * 1e3)
                }));
            }
            let mut st = Stats::default();
            for h in inflight {
                match h.await {
                    Ok((true, ms)) => {
                        st.ok += 1;
                        st.lat_ms.push(ms);
                    }
                    _ => st.errors += 1,
                }
            }
            st
        }));
    }
    collect(handles, start).await
}
