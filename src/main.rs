//! `harvester` binary: parse flags, set up logging, run the server.

use clap::Parser;
use harvester::config::{Cli, Command, EvalaiCommand, TemplateCommand};
use tracing_subscriber::EnvFilter;

fn init_logging() {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colours only on a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    if std::env::var("LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false)
    {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Give large blocks (artifact part buffers, big request bodies) back to the OS when freed. glibc's
/// default raises its mmap threshold after the first large free, after which 8 MiB S3 part buffers come
/// from the heap and stay resident: measured 1 GiB proxied to S3 twice, RSS +33 MiB and +25 MiB kept
/// per upload by default, +17 MiB peak (two parts) and nothing kept with a fixed 1 MiB threshold.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called once, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// `harvester scan PATH`: 0 passed, 1 failed under the policy, 2 could not scan.
fn scan_command(
    path: &str,
    format: &str,
    flags: &harvester::config::ScanFlags,
) -> std::process::ExitCode {
    let result = flags
        .options()
        .and_then(|opts| harvester::scan::scan_path_isolated(std::path::Path::new(path), &opts));
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("harvester: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", harvester::scan::render(path, &report));
    }
    match report.verdict {
        harvester::scan::Verdict::Passed => std::process::ExitCode::SUCCESS,
        harvester::scan::Verdict::Failed => std::process::ExitCode::from(1),
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match cli.command {
        Command::DumpOpenapi => {
            print!("{}", harvester::openapi::spec_json());
            std::process::ExitCode::SUCCESS
        }
        Command::Scan { path, format, scan } => scan_command(&path, &format, &scan),
        Command::Template(TemplateCommand::Init { dir, force }) => {
            match harvester::template::init(std::path::Path::new(&dir), force) {
                Ok(files) => {
                    for f in files {
                        println!("{f}");
                    }
                    println!("Next: edit model.py, then `python make_submission.py` writes submission.zip.");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("harvester: {e}");
                    std::process::ExitCode::from(2)
                }
            }
        }
        Command::Evalai(EvalaiCommand::Sync {
            challenge,
            installation,
            server,
        }) => {
            init_logging();
            actix_web::rt::System::new().block_on(async {
                let mut server = *server;
                // A backfill is all downloads and fsyncs: more pulls at once than a server runs.
                server.job_workers = server.job_workers.max(16);
                let state = match harvester::server::build_state(server).await {
                    Ok(s) => std::sync::Arc::new(s),
                    Err(e) => {
                        eprintln!("harvester: {e}");
                        return std::process::ExitCode::from(2);
                    }
                };
                match harvester::bridge::poll::backfill(&state, challenge, installation.as_deref())
                    .await
                {
                    Ok(summary) => {
                        println!("{summary}");
                        std::process::ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("harvester: {e}");
                        std::process::ExitCode::from(1)
                    }
                }
            })
        }
        Command::Server(config) => {
            init_logging();
            actix_web::rt::System::new().block_on(async {
                let state = match harvester::server::build_state(*config).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!("cannot start: {e}");
                        eprintln!("harvester: {e}");
                        return std::process::ExitCode::from(2);
                    }
                };
                match harvester::server::run(state).await {
                    Ok(()) => std::process::ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("harvester: {e}");
                        std::process::ExitCode::from(1)
                    }
                }
            })
        }
    }
}
