//! One pyfunc worker: a sandboxed Python process serving one model version over a Unix socket, with
//! requests multiplexed by id on one connection (so the worker sees concurrent requests together and
//! can merge them into one predict call). The wire protocol is described in `worker.py`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

use super::config::ServingFlags;
use super::sandbox;

pub const SCRIPT: &str = include_str!("worker.py");
const READY: &str = "HARVESTER-WORKER-READY";
/// Stderr lines kept to explain a worker that would not start or died.
const TAIL: usize = 30;

/// A worker's answer: status, content type and body, as `mlflow models serve` would send them.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

#[derive(Debug)]
pub enum CallError {
    /// The worker exited (or was stopped) before answering: why.
    Exited(String),
    /// No answer within the request timeout; the worker has been stopped.
    Timeout,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

pub struct Worker {
    pid: i32,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    next_id: AtomicU64,
    dead: Arc<AtomicBool>,
    why: Arc<Mutex<String>>,
    in_flight: AtomicUsize,
    last_used: Mutex<Instant>,
    pub cold_start: Duration,
    pub label: String,
    _scratch: tempfile::TempDir,
}

/// What to start.
pub struct Spawn<'a> {
    pub label: String,
    pub python: &'a Path,
    pub script: &'a Path,
    pub model_dir: &'a Path,
    pub flags: &'a ServingFlags,
    pub user: Option<(u32, u32)>,
}

fn push_tail(tail: &Mutex<Vec<String>>, line: String) {
    let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
    if t.len() == TAIL {
        t.remove(0);
    }
    t.push(line);
}

impl Worker {
    /// Start a worker and wait until its model is loaded. The error explains a failed start with the
    /// last lines the worker wrote.
    pub async fn start(s: Spawn<'_>) -> Result<Arc<Worker>, String> {
        let t0 = Instant::now();
        let scratch = tempfile::Builder::new()
            .prefix("hv-w")
            .tempdir()
            .map_err(|e| format!("scratch folder: {e}"))?;
        let socket: PathBuf = scratch.path().join("w.sock");
        let mut cmd = sandbox::command(s.python, scratch.path(), s.flags, s.user)
            .map_err(|e| format!("sandbox: {e}"))?;
        cmd.arg("-I").arg(s.script);
        cmd.arg("--socket")
            .arg(&socket)
            .arg("--model")
            .arg(s.model_dir);
        cmd.arg("--max-batch")
            .arg(s.flags.serving_max_batch.max(1).to_string());
        cmd.arg("--batch-wait-ms")
            .arg(s.flags.serving_batch_wait_ms.to_string());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", s.python.display()))?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let tail = Arc::new(Mutex::new(Vec::<String>::new()));
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        if let Some(out) = child.stdout.take() {
            let (label, tail) = (s.label.clone(), tail.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                let mut ready = Some(ready_tx);
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == READY {
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                        continue;
                    }
                    tracing::info!(target: "harvester::serving::worker", worker = %label, "{l}");
                    push_tail(&tail, l);
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let (label, tail) = (s.label.clone(), tail.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    tracing::info!(target: "harvester::serving::worker", worker = %label, "{l}");
                    push_tail(&tail, l);
                }
            });
        }
        let dead = Arc::new(AtomicBool::new(false));
        let why = Arc::new(Mutex::new(String::new()));
        let (exit_tx, exit_rx) = oneshot::channel::<String>();
        {
            let (dead, why) = (dead.clone(), why.clone());
            tokio::spawn(async move {
                let status = child.wait().await;
                let text = match status {
                    Ok(st) => describe_exit(st),
                    Err(e) => format!("lost: {e}"),
                };
                dead.store(true, Ordering::SeqCst);
                *why.lock().unwrap_or_else(|e| e.into_inner()) = text.clone();
                let _ = exit_tx.send(text);
            });
        }
        let explain = |what: String| {
            let t = tail.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
            if t.is_empty() {
                what
            } else {
                format!("{what}; its last output:\n{t}")
            }
        };
        let limit = Duration::from_secs(s.flags.serving_start_timeout.max(1));
        tokio::select! {
            r = ready_rx => if r.is_err() {
                kill_group(pid);
                return Err(explain("the worker closed its output before loading the model".into()));
            },
            exit = exit_rx => {
                // Let the stderr reader catch up with the traceback.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(explain(format!("the worker {} while loading the model", exit.unwrap_or_default())));
            }
            _ = tokio::time::sleep(limit) => {
                kill_group(pid);
                return Err(explain(format!("the model did not load within {}s (--serving-start-timeout)", limit.as_secs())));
            }
        }
        let stream = UnixStream::connect(&socket).await.map_err(|e| {
            kill_group(pid);
            format!("cannot connect to the worker: {e}")
        })?;
        let (mut read, write) = stream.into_split();
        let pending: Pending = Arc::default();
        {
            let (pending, dead, label) = (pending.clone(), dead.clone(), s.label.clone());
            tokio::spawn(async move {
                loop {
                    match read_frame(&mut read).await {
                        Ok((id, reply)) => {
                            let tx = pending
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .remove(&id);
                            if let Some(tx) = tx {
                                let _ = tx.send(reply);
                            }
                        }
                        Err(e) => {
                            tracing::debug!(worker = %label, "worker connection closed: {e}");
                            break;
                        }
                    }
                }
                dead.store(true, Ordering::SeqCst);
                kill_group(pid);
                // Dropping the senders tells every waiting request that the worker is gone.
                pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
            });
        }
        Ok(Arc::new(Worker {
            pid,
            writer: tokio::sync::Mutex::new(write),
            pending,
            next_id: AtomicU64::new(1),
            dead,
            why,
            in_flight: AtomicUsize::new(0),
            last_used: Mutex::new(Instant::now()),
            cold_start: t0.elapsed(),
            label: s.label,
            _scratch: scratch,
        }))
    }

    pub fn alive(&self) -> bool {
        !self.dead.load(Ordering::SeqCst)
    }

    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }

    pub fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }

    /// Resident memory of the worker process, in KiB (from /proc).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Why the worker is gone (its exit status), once it is.
    pub fn exit_reason(&self) -> String {
        let w = self.why.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if w.is_empty() {
            "stopped".into()
        } else {
            w
        }
    }

    /// Stop the worker and everything it started (its whole process group).
    pub fn stop(&self) {
        self.dead.store(true, Ordering::SeqCst);
        kill_group(self.pid);
    }

    /// One invocation: the raw body and its content type in, the worker's reply out.
    pub async fn call(
        &self,
        content_type: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply, CallError> {
        struct InFlight<'a>(&'a Worker);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
                *self.0.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            }
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _guard = InFlight(self);
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let header = serde_json::json!({"id": id, "ct": content_type}).to_string();
        let mut frame = Vec::with_capacity(8 + header.len() + body.len());
        frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
        frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frame.extend_from_slice(header.as_bytes());
        frame.extend_from_slice(&body);
        let sent = { self.writer.lock().await.write_all(&frame).await };
        if sent.is_err() {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            return Err(CallError::Exited(self.exit_reason()));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => {
                // The reader saw the connection close; give the exit status a moment to arrive.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(CallError::Exited(self.exit_reason()))
            }
            Err(_) => {
                self.stop();
                Err(CallError::Timeout)
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        kill_group(self.pid);
    }
}

fn kill_group(pid: i32) {
    if pid > 0 {
        // SAFETY: kill(2) with a negative pid signals the worker's own process group (it called setsid).
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

fn describe_exit(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(libc::SIGKILL)) => "was killed (SIGKILL: stopped, or out of memory)".into(),
        (None, Some(libc::SIGXCPU)) => "used up its CPU time (--serving-cpu-seconds)".into(),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "exited".into(),
    }
}

async fn read_frame(r: &mut tokio::net::unix::OwnedReadHalf) -> std::io::Result<(u64, Reply)> {
    let mut lens = [0u8; 8];
    r.read_exact(&mut lens).await?;
    let hlen = u32::from_be_bytes([lens[0], lens[1], lens[2], lens[3]]) as usize;
    let blen = u32::from_be_bytes([lens[4], lens[5], lens[6], lens[7]]) as usize;
    let mut header = vec![0u8; hlen];
    r.read_exact(&mut header).await?;
    let mut body = vec![0u8; blen];
    r.read_exact(&mut body).await?;
    let h: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let id = h["id"].as_u64().unwrap_or(0);
    Ok((
        id,
        Reply {
            status: h["status"].as_u64().unwrap_or(500) as u16,
            content_type: h["ct"].as_str().unwrap_or("application/json").to_string(),
            body: Bytes::from(body),
        },
    ))
}
