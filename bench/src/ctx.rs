//! The run context: command-line arguments, starting both servers on fresh stores, A/B order, and the
//! `ab!` macro that measures one workload on both servers, alternating which goes first.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::Parser;

use crate::procs::{Kind, Server};
use crate::workloads::Sizes;

#[derive(Debug, Parser)]
#[command(about = "Benchmark Harvester against stock mlflow server")]
pub struct Args {
    /// Every workload once at tiny sizes (CI keeps the harness from rotting).
    #[arg(long)]
    pub quick: bool,
    /// Repetitions per workload (A/B order alternates).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Backends to run: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub backends: Vec<String>,
    /// The stock `mlflow` executable (pinned 3.17.2 venv).
    #[arg(long, default_value = ".venv-bench/bin/mlflow")]
    pub mlflow: PathBuf,
    /// The Harvester binary (release build).
    #[arg(long, default_value = "target/release/harvester")]
    pub harvester: PathBuf,
    /// PostgreSQL URL of a role that may create databases.
    #[arg(long, env = "BENCH_PG_ADMIN_URL")]
    pub pg_admin_url: Option<String>,
    /// Scratch directory for data directories and logs.
    #[arg(long, default_value = "bench/results/work")]
    pub workdir: PathBuf,
    /// JSON results file; by default `bench/results/latest.json` for a full run and
    /// `bench/results/partial.json` with `--only` (so a partial run never replaces the full table's data).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only these workloads (e.g. `--only W1,W4`); all when empty.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Print the markdown table of an earlier results file and exit (no servers are started).
    #[arg(long)]
    pub render: Option<PathBuf>,
    /// Measure Harvester only (for profiling iterations; stock still answers the checks). No ratios.
    #[arg(long)]
    pub harvester_only: bool,
}

pub struct Ctx {
    pub args: Args,
    pub sizes: Sizes,
    pub port: u16,
}

impl Ctx {
    /// The next port that nothing listens on (a stale server must never answer for a new one).
    pub fn next_port(&mut self) -> u16 {
        loop {
            self.port += 1;
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok() {
                return self.port;
            }
        }
    }

    pub fn store(&self, backend: &str, dir: &std::path::Path) -> Result<String, String> {
        if backend == "sqlite" {
            return Ok(format!("sqlite:///{}", dir.join("mlflow.db").display()));
        }
        let admin = self
            .args
            .pg_admin_url
            .as_deref()
            .ok_or("postgres backend needs --pg-admin-url")?;
        // One database per server directory, so that two servers of a kind can run side by side.
        let db = format!(
            "bench_{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().replace(['-', '.'], "_"))
                .unwrap_or_default()
        );
        let ok = Command::new("psql")
            .args([
                admin,
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
                "-c",
                &format!("CREATE DATABASE {db}"),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return Err(format!("could not create database {db}"));
        }
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        Ok(format!("{base}/{db}"))
    }

    pub fn start(
        &mut self,
        backend: &str,
        kind: Kind,
        tag: &str,
    ) -> Result<(Server, Duration), String> {
        self.start_with(backend, kind, tag, &[], &[])
    }

    /// A server started with extra flags and environment (the auth workloads).
    pub fn start_with(
        &mut self,
        backend: &str,
        kind: Kind,
        tag: &str,
        extra: &[String],
        env: &[(String, String)],
    ) -> Result<(Server, Duration), String> {
        self.start_on(backend, kind, tag, None, extra, env)
    }

    /// As [`Ctx::start_with`], on `store` when given (another server's, so that two compare on the same data).
    pub fn start_on(
        &mut self,
        backend: &str,
        kind: Kind,
        tag: &str,
        store: Option<&str>,
        extra: &[String],
        env: &[(String, String)],
    ) -> Result<(Server, Duration), String> {
        let dir = std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(&self.args.workdir)
            .join(format!("{backend}-{}-{tag}", kind.name()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let store = match store {
            Some(s) => s.to_string(),
            None => self.store(backend, &dir)?,
        };
        let port = self.next_port();
        let program = match kind {
            Kind::Stock => self.args.mlflow.clone(),
            Kind::Harvester => self.args.harvester.clone(),
        };
        let program =
            std::fs::canonicalize(&program).map_err(|e| format!("{}: {e}", program.display()))?;
        let args: Vec<String> = [
            "server",
            "--backend-store-uri",
            &store,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--artifacts-destination",
            &dir.join("mlartifacts").display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect();
        Server::start(kind, &program, &args, &dir, &store, port, env)
    }
}

pub fn order(rep: usize) -> [Kind; 2] {
    if rep % 2 == 0 {
        [Kind::Stock, Kind::Harvester]
    } else {
        [Kind::Harvester, Kind::Stock]
    }
}

pub fn durability(srv: &Server, backend: &str) -> String {
    if backend != "sqlite" {
        return format!(
            "{}: PostgreSQL defaults (fsync=on, synchronous_commit=on)",
            srv.kind.name()
        );
    }
    let path = srv.store.trim_start_matches("sqlite:///");
    let mode = Command::new("python3")
        .args(["-c", "import sqlite3,sys;print(sqlite3.connect(sys.argv[1]).execute('pragma journal_mode').fetchone()[0])", path])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    match srv.kind {
        Kind::Stock => format!(
            "stock: journal_mode={mode}, synchronous=FULL (SQLite default; MLflow sets no pragma)"
        ),
        Kind::Harvester => {
            format!("harvester: journal_mode={mode}, synchronous=FULL (set on every connection)")
        }
    }
}

/// Run `f` on both servers `reps` times, alternating which goes first.
macro_rules! ab {
    ($ctx:expr, $row:expr, $servers:expr, |$s:ident| $body:expr) => {
        for rep in 0..$ctx.sizes_reps() {
            for kind in order(rep) {
                if kind == Kind::Stock && $ctx.args.harvester_only {
                    continue;
                }
                let $s = if kind == Kind::Stock {
                    &$servers[0]
                } else {
                    &$servers[1]
                };
                $s.settle(Duration::from_secs(if $ctx.args.quick { 5 } else { 60 }));
                let m: Result<Measure, String> = $body;
                match m {
                    Ok(m) => $row.add(kind == Kind::Harvester, &m),
                    // Stock falling over under load is a result to report, not a broken harness.
                    Err(e) if kind == Kind::Stock => $row.notes.push(format!("stock failed: {e}")),
                    Err(e) => $row.check = format!("harvester failed: {e}"),
                }
            }
        }
    };
}

impl Ctx {
    pub fn wants(&self, id: &str) -> bool {
        self.args.only.is_empty() || self.args.only.iter().any(|o| o.eq_ignore_ascii_case(id))
    }

    pub fn sizes_reps(&self) -> usize {
        if self.args.quick {
            1
        } else {
            self.args.reps.max(1)
        }
    }
}
