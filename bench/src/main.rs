//! `harvester-bench`: Harvester against stock `mlflow server`, side by side, on SQLite and PostgreSQL.
//! Every workload checks that both servers answer alike before it is timed; A/B order alternates per rep.

#[macro_use]
mod ctx;
mod gate;
mod load;
mod procs;
mod report;
mod sections;
mod setup;
mod w11;
mod w6;
mod w7;
mod w8;
mod workloads;

use std::process::ExitCode;

use clap::Parser;
use ctx::{Args, Ctx};
use report::Row;
use workloads::Sizes;

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
            w6_versions: 40,
            w8_submissions: 40,
            w8_input_bytes: 64 << 10,
            w8_pokes: 5,
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
            w6_versions: 1000,
            w8_submissions: 2000,
            w8_input_bytes: 1 << 20,
            w8_pokes: 100,
        }
    };
    let mut ctx = Ctx {
        sizes,
        args,
        port: 5400,
    };
    let (mut rows, mut notes, mut failed) = (Vec::new(), Vec::new(), false);
    for backend in ctx.args.backends.clone() {
        if let Err(e) = sections::run_backend(&mut ctx, &backend, &mut rows, &mut notes).await {
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
    let out = ctx.args.out.clone().unwrap_or_else(|| {
        std::path::PathBuf::from(if ctx.args.only.is_empty() {
            "bench/results/latest.json"
        } else {
            "bench/results/partial.json"
        })
    });
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(
        &out,
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    ) {
        eprintln!("cannot write {}: {e}", out.display());
    }
    if failed || checks_failed {
        eprintln!("benchmark checks failed");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
