//! `harvester-bench`: Harvester against stock `mlflow server`, side by side, on SQLite and PostgreSQL.
//! Every workload checks that both servers answer alike before it is timed; A/B order alternates per rep.

mod load;
mod procs;
mod report;
mod setup;
mod w7;
mod workloads;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;
use procs::{Kind, Server};
use report::Row;
use workloads::{Measure, Sizes};

#[derive(Debug, Parser)]
#[command(about = "Benchmark Harvester against stock mlflow server")]
struct Args {
    /// Every workload once at tiny sizes (CI keeps the harness from rotting).
    #[arg(long)]
    quick: bool,
    /// Repetitions per workload (A/B order alternates).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Backends to run: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// The stock `mlflow` executable (pinned 3.17.2 venv).
    #[arg(long, default_value = ".venv-bench/bin/mlflow")]
    mlflow: PathBuf,
    /// The Harvester binary (release build).
    #[arg(long, default_value = "target/release/harvester")]
    harvester: PathBuf,
    /// PostgreSQL URL of a role that may create databases.
    #[arg(long, env = "BENCH_PG_ADMIN_URL")]
    pg_admin_url: Option<String>,
    /// Scratch directory for data directories and logs.
    #[arg(long, default_value = "bench/results/work")]
    workdir: PathBuf,
    /// JSON results file.
    #[arg(long, default_value = "bench/results/latest.json")]
    out: PathBuf,
    /// Run only these workloads (e.g. `--only W1,W4`); all when empty.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Print the markdown table of an earlier results file and exit (no servers are started).
    #[arg(long)]
    render: Option<PathBuf>,
    /// Measure Harvester only (for profiling iterations; stock still answers the checks). No ratios.
    #[arg(long)]
    harvester_only: bool,
}

struct Ctx {
    args: Args,
    sizes: Sizes,
    port: u16,
}

impl Ctx {
    /// The next port that nothing listens on (a stale server must never answer for a new one).
    fn next_port(&mut self) -> u16 {
        loop {
            self.port += 1;
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok() {
                return self.port;
            }
        }
    }

    fn store(&self, backend: &str, kind: Kind, dir: &std::path::Path) -> Result<String, String> {
        if backend == "sqlite" {
            return Ok(format!("sqlite:///{}", dir.join("mlflow.db").display()));
        }
        let admin = self
            .args
            .pg_admin_url
            .as_deref()
            .ok_or("postgres backend needs --pg-admin-url")?;
        let db = format!("bench_{}", kind.name());
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

    fn start(
        &mut self,
        backend: &str,
        kind: Kind,
        tag: &str,
    ) -> Result<(Server, Duration), String> {
        let dir = std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(&self.args.workdir)
            .join(format!("{backend}-{}-{tag}", kind.name()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let store = self.store(backend, kind, &dir)?;
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
        .collect();
        Server::start(kind, &program, &args, &dir, &store, port)
    }
}

fn order(rep: usize) -> [Kind; 2] {
    if rep % 2 == 0 {
        [Kind::Stock, Kind::Harvester]
    } else {
        [Kind::Harvester, Kind::Stock]
    }
}

fn durability(srv: &Server, backend: &str) -> String {
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
    fn wants(&self, id: &str) -> bool {
        self.args.only.is_empty() || self.args.only.iter().any(|o| o.eq_ignore_ascii_case(id))
    }

    fn sizes_reps(&self) -> usize {
        if self.args.quick {
            1
        } else {
            self.args.reps.max(1)
        }
    }
}

async fn run_backend(
    ctx: &mut Ctx,
    backend: &str,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if ctx.wants("W0") {
        eprintln!("== {backend}: W0 cold start");
        let mut start = Row::new(
            backend,
            "W0",
            "cold start to first /health 200",
            "s",
            false,
            "",
            "≥20×",
        );
        let mut idle = Row::new(
            backend,
            "W0",
            "idle RSS (whole process tree)",
            "MiB",
            false,
            "",
            "≥10×",
        );
        for rep in 0..ctx.sizes_reps() {
            for kind in order(rep) {
                let (mut srv, t) = ctx.start(backend, kind, &format!("w0-{rep}"))?;
                tokio::time::sleep(Duration::from_secs(if ctx.args.quick { 1 } else { 3 })).await;
                let rss = srv.rss_bytes() as f64 / (1024.0 * 1024.0);
                let h = kind == Kind::Harvester;
                start.add(
                    h,
                    &Measure {
                        value: t.as_secs_f64(),
                        p99_ms: f64::NAN,
                        cpu_per_unit: f64::NAN,
                        ..Default::default()
                    },
                );
                idle.add(
                    h,
                    &Measure {
                        value: rss,
                        p99_ms: f64::NAN,
                        cpu_per_unit: f64::NAN,
                        ..Default::default()
                    },
                );
                srv.stop();
            }
        }
        rows.push(start);
        rows.push(idle);
    }
    let c = load::client();
    let servers = [
        ctx.start(backend, Kind::Stock, "main")?.0,
        ctx.start(backend, Kind::Harvester, "main")?.0,
    ];
    notes.push(format!(
        "{backend} durability — {}; {}",
        durability(&servers[0], backend),
        durability(&servers[1], backend)
    ));

    eprintln!("== {backend}: W1/W2 checks");
    let lens = (
        workloads::check_history_len(&servers[0]).await?,
        workloads::check_history_len(&servers[1]).await?,
    );
    let check = if lens.0 == lens.1 && lens.0 == 100 {
        "ok".to_string()
    } else {
        format!("history lengths differ: {lens:?}")
    };
    let sz = ctx.sizes.clone();
    if ctx.wants("W1") {
        for clients in [1usize, 4, 16] {
            eprintln!("== {backend}: W1 log-batch ×1000, {clients} clients");
            let target = if clients == 4 { "≥15×" } else { "" };
            let mut row = Row::new(
                backend,
                "W1",
                &format!("log-batch 1000 metrics, {clients} clients"),
                "metrics/s",
                true,
                "µs/metric",
                target,
            );
            row.check = check.clone();
            ab!(ctx, row, servers, |s| workloads::run_w1(s, clients, &sz)
                .await);
            rows.push(row);
        }
    }
    if ctx.wants("W2") {
        for clients in [1usize, 8] {
            eprintln!("== {backend}: W2 log-metric, {clients} clients");
            let mut row = Row::new(
                backend,
                "W2",
                &format!("log-metric, {clients} clients"),
                "req/s",
                true,
                "µs/req",
                "≥10×",
            );
            row.check = check.clone();
            ab!(ctx, row, servers, |s| workloads::run_w2(s, clients, &sz)
                .await);
            rows.push(row);
        }
    }
    if ctx.wants("W4") {
        eprintln!("== {backend}: W4 seeding {} runs", sz.w4_runs);
        let exps = (
            workloads::seed_w4(&servers[0], sz.w4_runs).await?,
            workloads::seed_w4(&servers[1], sz.w4_runs).await?,
        );
        let mut w4_check = "ok".to_string();
        for page in [100usize, 1000] {
            let a = workloads::search_page(
                &c,
                &servers[0].url,
                &exps.0,
                workloads::W4_FILTER,
                &["metrics.m1 DESC"],
                page,
                None,
            )
            .await?;
            let b = workloads::search_page(
                &c,
                &servers[1].url,
                &exps.1,
                workloads::W4_FILTER,
                &["metrics.m1 DESC"],
                page,
                None,
            )
            .await?;
            if a.0 != b.0 {
                w4_check = format!(
                    "page of {page}: results differ (stock {} runs, harvester {})",
                    a.0.len(),
                    b.0.len()
                );
            }
        }
        let (wa, wb) = (
            workloads::walk(&c, &servers[0].url, &exps.0, 1000).await?,
            workloads::walk(&c, &servers[1].url, &exps.1, 1000).await?,
        );
        if wa.0 != wb.0 || wa.0.len() != sz.w4_runs {
            w4_check = format!(
                "full walk differs: stock {} runs, harvester {} (expected {})",
                wa.0.len(),
                wb.0.len(),
                sz.w4_runs
            );
        }
        for (kind, label, target) in [
            (100usize, "search-runs filter + order, page of 100", "≥15×"),
            (1000, "search-runs filter + order, page of 1000", ""),
            (0, "search-runs full walk by page token (pages of 1000)", ""),
        ] {
            eprintln!("== {backend}: W4 {label}");
            let mut row = Row::new(
                backend,
                "W4",
                &format!("{label}, {} runs", sz.w4_runs),
                "s",
                false,
                "CPU-s/query",
                target,
            );
            row.check = w4_check.clone();
            ab!(ctx, row, servers, |s| workloads::run_w4(
                s,
                if s.kind == Kind::Stock {
                    &exps.0
                } else {
                    &exps.1
                },
                kind,
                &sz
            )
            .await);
            rows.push(row);
        }
    }
    if ctx.wants("W5") {
        eprintln!("== {backend}: W5 seeding {} points", sz.w5_points);
        let runs = (
            workloads::seed_w5(&servers[0], sz.w5_points).await?,
            workloads::seed_w5(&servers[1], sz.w5_points).await?,
        );
        let mut w5_check = "ok".to_string();
        for bulk in [false, true] {
            let req = |r: &str| {
                if bulk {
                    workloads::interval_req(r)
                } else {
                    workloads::history_req(r)
                }
            };
            let a = load::send_json(&c, &servers[0].url, req(&runs.0)).await?;
            let b = load::send_json(&c, &servers[1].url, req(&runs.1)).await?;
            let steps = |v: &serde_json::Value| -> Vec<i64> {
                v["metrics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m["step"].as_i64())
                    .collect()
            };
            let (sa, sb) = (steps(&a), steps(&b));
            if sa != sb || (!bulk && sa.len() != sz.w5_points) {
                w5_check = format!(
                    "{}: stock {} points, harvester {}",
                    if bulk { "bulk-interval" } else { "history" },
                    sa.len(),
                    sb.len()
                );
            }
        }
        for (bulk, label, target) in [
            (false, "get-history, one metric", "≥15×"),
            (true, "get-history-bulk-interval (UI, 320 points)", ""),
        ] {
            eprintln!("== {backend}: W5 {label}");
            let mut row = Row::new(
                backend,
                "W5",
                &format!("{label}, {} points", sz.w5_points),
                "s",
                false,
                "CPU-s/call",
                target,
            );
            row.check = w5_check.clone();
            ab!(ctx, row, servers, |s| workloads::run_w5(
                s,
                if s.kind == Kind::Stock {
                    &runs.0
                } else {
                    &runs.1
                },
                bulk,
                &sz
            )
            .await);
            rows.push(row);
        }
    }
    if ctx.wants("W7") {
        eprintln!("== {backend}: W7 artifacts, {} MiB", sz.w7_mib);
        let data = w7::blob(sz.w7_mib);
        let w7_check = match (
            w7::check(&servers[0], &data).await,
            w7::check(&servers[1], &data).await,
        ) {
            (Ok(true), Ok(true)) => "ok".to_string(),
            other => format!("round trip differs: {other:?}"),
        };
        for (download, label, target) in [
            (false, "artifact PUT through the proxy", "≥1.5×"),
            (true, "artifact GET through the proxy", "≥3×"),
        ] {
            let mut row = Row::new(
                backend,
                "W7",
                &format!("{label}, {} MiB", sz.w7_mib),
                "MiB/s",
                true,
                "CPU-s/MiB",
                target,
            );
            row.check = w7_check.clone();
            let mut rep_no = 0;
            ab!(ctx, row, servers, |s| {
                rep_no += 1;
                w7::run(s, &data, download, rep_no).await
            });
            rows.push(row);
        }
    }
    // W3 runs last: it overloads stock MLflow, which has been seen to stop answering afterwards.
    if ctx.wants("W3") {
        eprintln!("== {backend}: W3 mixed");
        let mut row = Row::new(
            backend,
            "W3",
            "16 writers log-batch(20) @10 Hz + search every 1 s: writer p99",
            "ms",
            false,
            "µs/write",
            "<50 ms",
        );
        ab!(ctx, row, servers, |s| workloads::run_w3(s, &sz).await);
        rows.push(row);
    }
    for (id, label) in [("W6", "create 1,000 model versions, search, resolve alias")] {
        let mut row = Row::new(backend, id, label, "", true, "", "");
        row.not_yet = true;
        row.notes
            .push("not yet: Harvester has no model registry".into());
        rows.push(row);
    }
    drop(servers);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = &args.render {
        let rows = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
            .and_then(|v| {
                serde_json::from_value::<Vec<Row>>(v["rows"].clone()).map_err(|e| e.to_string())
            });
        return match rows {
            Ok(rows) => {
                println!("{}", report::markdown(&rows));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                ExitCode::from(2)
            }
        };
    }
    let sizes = if args.quick {
        Sizes {
            secs: 0.5,
            w3_secs: 2.0,
            w4_runs: 60,
            w4_repeats: 1,
            w5_points: 2000,
            w5_repeats: 1,
            w7_mib: 4,
        }
    } else {
        Sizes {
            secs: 5.0,
            w3_secs: 10.0,
            w4_runs: 10_000,
            w4_repeats: 3,
            w5_points: 100_000,
            w5_repeats: 2,
            w7_mib: 100,
        }
    };
    let mut ctx = Ctx {
        sizes,
        args,
        port: 5400,
    };
    let (mut rows, mut notes, mut failed) = (Vec::new(), Vec::new(), false);
    for backend in ctx.args.backends.clone() {
        if let Err(e) = run_backend(&mut ctx, &backend, &mut rows, &mut notes).await {
            eprintln!("{backend}: {e}");
            notes.push(format!("{backend}: aborted: {e}"));
            failed = true;
        }
    }
    let table = report::markdown(&rows);
    println!("{table}");
    for n in &notes {
        println!("- {n}");
    }
    let checks_failed = rows.iter().any(|r| !r.not_yet && r.check != "ok");
    let json = serde_json::json!({"quick": ctx.args.quick, "reps": ctx.sizes_reps(), "sizes": format!("{:?}", ctx.sizes), "notes": notes, "rows": rows, "markdown": table});
    if let Some(dir) = ctx.args.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(
        &ctx.args.out,
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    ) {
        eprintln!("cannot write {}: {e}", ctx.args.out.display());
    }
    if failed || checks_failed {
        eprintln!("benchmark checks failed");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
