//! W1–W5: each workload first checks that both servers answer alike (`check_*`), then measures (`run_*`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::load::{self, percentile, Req};
use crate::procs::{PeakRss, Server};
use crate::setup::{self, get, post};

/// Sizes: full run vs `--quick` (every workload once, tiny).
#[derive(Debug, Clone)]
pub struct Sizes {
    pub secs: f64,
    pub w3_secs: f64,
    pub w4_runs: usize,
    pub w4_repeats: usize,
    pub w5_points: usize,
    pub w5_repeats: usize,
    pub w7_mib: usize,
    pub w6_versions: usize,
    pub w8_submissions: usize,
    pub w8_input_bytes: usize,
    pub w8_pokes: usize,
}

/// One measurement on one server.
#[derive(Debug, Clone, Default)]
pub struct Measure {
    pub value: f64,
    pub p99_ms: f64,
    pub cpu_per_unit: f64,
    pub errors: usize,
    pub note: String,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}

/// W1/W2 check: a batch of 10 keys × 100 steps gives a 100-point history on both servers.
pub async fn check_history_len(srv: &Server) -> Result<usize, String> {
    let c = load::client();
    let exp = setup::experiment(&c, &srv.url, &unique("check")).await?;
    let run = setup::run(&c, &srv.url, &exp, "check", 0).await?;
    let body = setup::metric_batch(&run, 10, 100, 0);
    load::send(&c, &srv.url, setup::log_batch(body)).await?;
    let v = load::send_json(
        &c,
        &srv.url,
        get(&format!("metrics/get-history?run_id={run}&metric_key=k3")),
    )
    .await?;
    Ok(v["metrics"].as_array().map(Vec::len).unwrap_or(0))
}

/// W1: log-batch with 1000 metrics (10 keys × 100 steps), `clients` closed loops; value = metrics/s.
pub async fn run_w1(srv: &Server, clients: usize, sz: &Sizes) -> Result<Measure, String> {
    let c = load::client();
    let exp = setup::experiment(&c, &srv.url, &unique("w1")).await?;
    let runs = Arc::new(setup::runs(&c, &srv.url, &exp, "w1", clients).await?);
    let make: load::MakeReq =
        Arc::new(move |id, seq| setup::log_batch(setup::metric_batch(&runs[id], 10, 100, seq)));
    let cpu0 = srv.cpu_seconds();
    let st = load::closed_loop(
        &srv.url,
        clients,
        Duration::from_secs_f64(sz.secs),
        usize::MAX,
        make,
    )
    .await;
    let cpu = srv.cpu_seconds() - cpu0;
    let metrics = st.ok as f64 * 1000.0;
    Ok(Measure {
        value: metrics / st.elapsed_s,
        p99_ms: st.pct(99.0),
        cpu_per_unit: cpu / metrics.max(1.0) * 1e6,
        errors: st.errors,
        note: String::new(),
    })
}

/// W2: log-metric with one metric, `clients` closed loops; value = requests/s.
pub async fn run_w2(srv: &Server, clients: usize, sz: &Sizes) -> Result<Measure, String> {
    let c = load::client();
    let exp = setup::experiment(&c, &srv.url, &unique("w2")).await?;
    let runs = Arc::new(setup::runs(&c, &srv.url, &exp, "w2", clients).await?);
    let make: load::MakeReq = Arc::new(move |id, seq| {
        post(
            "runs/log-metric",
            json!({"run_id": runs[id], "key": "m", "value": seq, "timestamp": 1_700_000_000_000i64 + seq as i64, "step": seq}),
        )
    });
    Ok(measure_loop(
        srv,
        clients,
        Duration::from_secs_f64(sz.secs),
        usize::MAX,
        make,
    )
    .await)
}

/// `clients` closed loops for `dur` or `max` requests; value = requests/s, with p99 and server CPU per request.
pub async fn measure_loop(
    srv: &Server,
    clients: usize,
    dur: Duration,
    max: usize,
    make: load::MakeReq,
) -> Measure {
    let cpu0 = srv.cpu_seconds();
    let st = load::closed_loop(&srv.url, clients, dur, max, make).await;
    let cpu = srv.cpu_seconds() - cpu0;
    Measure {
        value: st.per_sec(),
        p99_ms: st.pct(99.0),
        cpu_per_unit: cpu / (st.ok.max(1) as f64) * 1e6,
        errors: st.errors,
        note: String::new(),
    }
}

/// W3: 16 open-loop writers (log-batch of 20 metrics at 10 Hz each) and one reader searching every second.
/// Value = writer p99 latency in ms.
pub async fn run_w3(srv: &Server, sz: &Sizes) -> Result<Measure, String> {
    let c = load::client();
    let exp = setup::experiment(&c, &srv.url, &unique("w3")).await?;
    let runs = Arc::new(setup::runs(&c, &srv.url, &exp, "w3", 16).await?);
    let make: load::MakeReq =
        Arc::new(move |id, seq| setup::log_batch(setup::metric_batch(&runs[id], 2, 10, seq)));
    let dur = Duration::from_secs_f64(sz.w3_secs);
    let cpu0 = srv.cpu_seconds();
    let base = srv.url.clone();
    let reader = async move {
        let (mut lat, mut errors) = (Vec::new(), 0usize);
        let start = Instant::now();
        let mut i = 0u32;
        while start.elapsed() < dur {
            tokio::time::sleep_until((start + Duration::from_secs(i as u64)).into()).await;
            i += 1;
            let t = Instant::now();
            let body =
                json!({"experiment_ids": [exp], "filter": "metrics.k0 >= 0", "max_results": 100});
            match load::send(&c, &base, post("runs/search", body)).await {
                Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                Err(_) => errors += 1,
            }
        }
        (lat, errors)
    };
    let (st, (rlat, rerr)) = tokio::join!(load::open_loop(&srv.url, 16, 10.0, dur, make), reader);
    let cpu = srv.cpu_seconds() - cpu0;
    Ok(Measure {
        value: st.pct(99.0),
        p99_ms: st.pct(99.0),
        cpu_per_unit: cpu / (st.ok.max(1) as f64) * 1e6,
        errors: st.errors + rerr,
        note: format!(
            "writes ok {} / errors {}; reader p50 {:.1} ms, errors {rerr}",
            st.ok,
            st.errors,
            percentile(&rlat, 50.0)
        ),
    })
}

/// W4 seed: `n` runs with 20 params, 10 tags and 20 metrics each; returns the experiment id.
pub async fn seed_w4(srv: &Server, n: usize) -> Result<String, String> {
    seed_w4_named(srv, "w4-search", "run", n).await
}

/// W4's seed into an experiment `name`, runs named `<prefix>-<i>`.
pub async fn seed_w4_named(
    srv: &Server,
    name: &str,
    prefix: &str,
    n: usize,
) -> Result<String, String> {
    let c = load::client();
    let exp = setup::experiment(&c, &srv.url, name).await?;
    let runs = Arc::new(setup::runs(&c, &srv.url, &exp, prefix, n).await?);
    // Exactly n requests: closed_loop calls `make` once per admitted request, each takes the next index.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let make: load::MakeReq = Arc::new(move |_, _| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        post("runs/log-batch", setup::search_seed_batch(&runs[i], i))
    });
    let st = load::closed_loop(&srv.url, 8, Duration::from_secs(3600), n, make).await;
    if st.errors > 0 {
        return Err(format!("seeding W4 had {} errors", st.errors));
    }
    Ok(exp)
}

pub const W4_FILTER: &str = "metrics.m0 > 0.2 and params.p1 != 'v3'";

/// The run names of a search-runs answer, in order.
pub fn names(v: &Value) -> Vec<String> {
    v["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["info"]["run_name"].as_str().map(String::from))
        .collect()
}

/// One search-runs page; returns (run names, next token).
pub async fn search_page(
    c: &reqwest::Client,
    base: &str,
    exp: &str,
    filter: &str,
    order: &[&str],
    max: usize,
    token: Option<String>,
) -> Result<(Vec<String>, Option<String>), String> {
    let mut body =
        json!({"experiment_ids": [exp], "filter": filter, "order_by": order, "max_results": max});
    if let Some(t) = token {
        body["page_token"] = json!(t);
    }
    let v = load::send_json(c, base, post("runs/search", body)).await?;
    Ok((names(&v), v["next_page_token"].as_str().map(String::from)))
}

/// The whole result by page token; returns every run name in order and the number of pages.
pub async fn walk(
    c: &reqwest::Client,
    base: &str,
    exp: &str,
    page: usize,
) -> Result<(Vec<String>, usize), String> {
    let (mut all, mut token, mut pages) = (Vec::new(), None, 0);
    loop {
        let (n, next) = search_page(c, base, exp, "", &[], page, token).await?;
        all.extend(n);
        pages += 1;
        match next {
            Some(t) => token = Some(t),
            None => return Ok((all, pages)),
        }
    }
}

/// W4 measure: `kind` is 100 or 1000 (filter + order page) or 0 (full walk by page token, pages of 1000).
/// Value = seconds per query (or per walk).
pub async fn run_w4(srv: &Server, exp: &str, kind: usize, sz: &Sizes) -> Result<Measure, String> {
    let c = load::client();
    let mut times = Vec::new();
    let cpu0 = srv.cpu_seconds();
    for _ in 0..sz.w4_repeats {
        let t = Instant::now();
        if kind == 0 {
            walk(&c, &srv.url, exp, 1000).await?;
        } else {
            search_page(
                &c,
                &srv.url,
                exp,
                W4_FILTER,
                &["metrics.m1 DESC"],
                kind,
                None,
            )
            .await?;
        }
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = srv.cpu_seconds() - cpu0;
    Ok(Measure {
        value: percentile(&times, 50.0),
        p99_ms: percentile(&times, 99.0) * 1e3,
        cpu_per_unit: cpu / times.len() as f64,
        errors: 0,
        note: String::new(),
    })
}

/// W5 seed: one run whose metric `k0` has `points` points (log-batch of 1000 at a time).
pub async fn seed_w5(srv: &Server, points: usize) -> Result<String, String> {
    let c = load::client();
    let exp = setup::experiment(&c, &srv.url, "w5-history").await?;
    let run = setup::run(&c, &srv.url, &exp, "history", 0).await?;
    for seq in 0..points.div_ceil(1000) {
        let body = setup::metric_batch(&run, 1, 1000, seq);
        load::send(&c, &srv.url, setup::log_batch(body)).await?;
    }
    Ok(run)
}

pub fn history_req(run: &str) -> Req {
    get(&format!("metrics/get-history?run_id={run}&metric_key=k0"))
}

pub fn interval_req(run: &str) -> Req {
    Req { post: false, path: format!("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={run}&metric_key=k0&max_results=320"), body: None }
}

/// W5 measure: `bulk` = the UI's bulk-interval call, else the full history. Value = seconds; the note
/// carries the peak RSS growth of the server tree while answering.
pub async fn run_w5(srv: &Server, run: &str, bulk: bool, sz: &Sizes) -> Result<Measure, String> {
    let c = load::client();
    let rss = PeakRss::start(srv);
    let cpu0 = srv.cpu_seconds();
    let mut times = Vec::new();
    for _ in 0..sz.w5_repeats {
        let t = Instant::now();
        let req = if bulk {
            interval_req(run)
        } else {
            history_req(run)
        };
        load::send(&c, &srv.url, req).await?;
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = srv.cpu_seconds() - cpu0;
    let growth = rss.stop();
    Ok(Measure {
        value: percentile(&times, 50.0),
        p99_ms: percentile(&times, 99.0) * 1e3,
        cpu_per_unit: cpu / times.len() as f64,
        errors: 0,
        note: format!("peak RSS growth {growth:.1} MiB"),
    })
}
