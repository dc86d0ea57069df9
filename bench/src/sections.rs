//! One backend's run: every workload in order (W3 last: it overloads stock MLflow), each checked, then
//! measured with `ab!`.

use std::time::Duration;

use crate::ctx::{durability, order, Ctx};
use crate::procs::Kind;
use crate::report::Row;
use crate::workloads::{self, Measure};
use crate::{load, w6, w7};

pub async fn run_backend(
    ctx: &mut Ctx,
    backend: &str,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    // `--only W11-gate`: the in-process gate row alone (no servers; for profiling the gate).
    if ctx.args.only.len() == 1 && ctx.args.only[0].eq_ignore_ascii_case("W11-gate") {
        if backend == "sqlite" {
            rows.push(crate::w11::gate_row(ctx, backend)?);
        }
        return Ok(());
    }
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
    if ctx.wants("W8") {
        crate::w8::rows(ctx, backend, rows).await?;
    }
    if ctx.wants("W11") || ctx.wants("W11-W2") {
        crate::w11::rows(ctx, backend, rows).await?;
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
    if ctx.wants("W6") {
        eprintln!(
            "== {backend}: W6 create {} model versions, 4 clients",
            sz.w6_versions
        );
        let mut row = Row::new(
            backend,
            "W6",
            &format!("create {} model versions, 4 clients", sz.w6_versions),
            "versions/s",
            true,
            "µs/version",
            "≥10×",
        );
        ab!(ctx, row, servers, |s| w6::run_create(s, &sz).await);
        rows.push(row);
        eprintln!(
            "== {backend}: W6 seeding a model with {} versions",
            sz.w6_versions
        );
        let names = (
            w6::seed(&servers[0], &sz).await?,
            w6::seed(&servers[1], &sz).await?,
        );
        let (a, b) = (
            w6::check(&servers[0], &names.0).await?,
            w6::check(&servers[1], &names.1).await?,
        );
        let w6_check = if a == b && !a.0.is_empty() {
            "ok".to_string()
        } else {
            format!(
                "answers differ: stock {} versions / alias v{}, harvester {} / v{}",
                a.0.len(),
                a.1,
                b.0.len(),
                b.1
            )
        };
        for (search, label) in [
            (true, "search versions (name + tag, by version, page 100)"),
            (false, "resolve alias"),
        ] {
            eprintln!("== {backend}: W6 {label}");
            let mut row = Row::new(
                backend,
                "W6",
                &format!("{label}, 4 clients"),
                "req/s",
                true,
                "µs/req",
                "≥5×",
            );
            row.check = w6_check.clone();
            let (n0, n1) = (names.0.clone(), names.1.clone());
            ab!(ctx, row, servers, |s| {
                let name = if s.url == servers[0].url { &n0 } else { &n1 };
                w6::run_read(s, name, search, &sz).await
            });
            rows.push(row);
        }
    }
    drop(servers);
    Ok(())
}
