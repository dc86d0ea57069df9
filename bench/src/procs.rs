//! Server processes: start (in their own process group), cold-start timing, CPU-seconds and RSS summed over
//! the whole process tree (stock MLflow runs uvicorn workers and a job runner as children), and stop.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stock,
    Harvester,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stock => "stock",
            Kind::Harvester => "harvester",
        }
    }
}

pub struct Server {
    pub kind: Kind,
    pub url: String,
    pub store: String,

    child: Child,
}

fn clk_tck() -> f64 {
    100.0
}

/// (pid, ppid, utime+stime ticks, rss pages) for every process.
fn proc_table() -> Vec<(u32, u32, u64, u64)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the ")" that closes the command name.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 22 {
            continue;
        }
        let ppid = f[1].parse().unwrap_or(0);
        let ticks = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        let rss = f[21].parse::<u64>().unwrap_or(0);
        out.push((pid, ppid, ticks, rss));
    }
    out
}

impl Server {
    /// Start a server with `args` and wait for `/health`; returns it with its cold-start time.
    pub fn start(
        kind: Kind,
        program: &Path,
        args: &[String],
        dir: &Path,
        store: &str,
        port: u16,
        env: &[(String, String)],
    ) -> Result<(Server, Duration), String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut server = Server {
            kind,
            url: url.clone(),
            store: store.to_string(),
            child,
        };
        let deadline = t0 + Duration::from_secs(180);
        let agent = probe::blocking_health(&url);
        loop {
            if agent() {
                return Ok((server, t0.elapsed()));
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{} exited with {status}; see {}/server.log",
                    kind.name(),
                    dir.display()
                ));
            }
            if Instant::now() > deadline {
                server.stop();
                return Err(format!("{} did not become healthy", kind.name()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn tree(&self) -> Vec<(u32, u64, u64)> {
        tree(self.child.id())
    }

    /// CPU-seconds (user + system) consumed so far by the live process tree.
    pub fn cpu_seconds(&self) -> f64 {
        self.tree().iter().map(|p| p.1).sum::<u64>() as f64 / clk_tck()
    }

    /// Resident memory of the whole tree, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        tree_rss(self.child.id())
    }

    /// Wait until the server tree has been idle (< 5% of a core) for a second, at most `max`: a server still
    /// draining abandoned work must not bleed into the next measurement.
    pub fn settle(&self, max: Duration) {
        let start = std::time::Instant::now();
        let mut last = self.cpu_seconds();
        while start.elapsed() < max {
            std::thread::sleep(Duration::from_secs(1));
            let now = self.cpu_seconds();
            if now - last < 0.05 {
                return;
            }
            last = now;
        }
    }

    pub fn stop(&mut self) {
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{pgid}")])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (uvicorn workers, job runners) goes too.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// (pid, cpu ticks, rss pages) of `root` and all its descendants.
fn tree(root: u32) -> Vec<(u32, u64, u64)> {
    let table = proc_table();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, p) in table.iter().enumerate() {
        children.entry(p.1).or_default().push(i);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if let Some(p) = table.iter().find(|p| p.0 == pid) {
            out.push((p.0, p.2, p.3));
        }
        for &i in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            stack.push(table[i].0);
        }
    }
    out
}

/// Resident memory of `root`'s process tree, in bytes.
pub fn tree_rss(root: u32) -> u64 {
    tree(root).iter().map(|p| p.2).sum::<u64>() * 4096
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A tiny blocking health probe over a raw TCP socket (no runtime needed while a server boots).
mod probe {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn blocking_health(url: &str) -> impl Fn() -> bool {
        let addr = url.trim_start_matches("http://").to_string();
        move || {
            let Ok(mut s) = TcpStream::connect(&addr) else {
                return false;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(
                format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .is_err()
            {
                return false;
            }
            let mut buf = [0u8; 64];
            matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
        }
    }
}

/// Samples a server tree's RSS every 10 ms until stopped; reports the growth over the starting RSS.
pub struct PeakRss {
    base: u64,
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    pub fn start(srv: &Server) -> PeakRss {
        use std::sync::atomic::Ordering;
        let (pid, base) = (srv.pid(), srv.rss_bytes());
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(base));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handle = {
            let (peak, done) = (peak.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(tree_rss(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        PeakRss {
            base,
            peak,
            done,
            handle: Some(handle),
        }
    }

    /// Stop sampling; the peak growth in MiB.
    pub fn stop(mut self) -> f64 {
        use std::sync::atomic::Ordering;
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed).saturating_sub(self.base) as f64 / (1024.0 * 1024.0)
    }
}
