//! W11, auth: what `--app-name basic-auth` costs, and searching as a user who may read 1 of 10 experiments.
//! - auth on vs off (two Harvesters, the "stock" column is auth off): W2 log-metric at 8 clients and W4's
//!   page of 100, each as an ordinary user who created the experiment (so every request is checked against
//!   grants, none passes as an admin), both servers on one store. Target: on ≥ 0.95 × off.
//! - the gate alone (`gate`): the app in-process, no socket and no disk, `runs/get` auth on vs off.
//! - 1 of 10: ten experiments of W4's runs (a tenth each), `default_permission = NO_PERMISSIONS`, one READ
//!   grant; the user searches all ten ids (filter, order, page of 100), stock basic-auth beside Harvester,
//!   answers compared. (At most 100 runs an experiment: stock with basic-auth seeds about 3 runs a second.)

use std::time::{Duration, Instant};

use serde_json::json;

use crate::ctx::{order, Ctx};
use crate::load::{self, percentile};
use crate::procs::{Kind, Server};
use crate::report::Row;
use crate::setup::post;
use crate::workloads::{self, Measure, Sizes};

const ADMIN: (&str, &str) = ("admin", "bench-admin-password");
const USER: (&str, &str) = ("bench-user", "bench-user-password");

/// Start a server with auth on. Its config file sits beside the server's directory (which `start_with`
/// empties); stock keeps its users in a SQLite file inside it.
fn start_auth(
    ctx: &mut Ctx,
    backend: &str,
    kind: Kind,
    tag: &str,
    default_permission: &str,
) -> Result<Server, String> {
    let dir = std::env::current_dir()
        .map_err(|e| e.to_string())?
        .join(&ctx.args.workdir)
        .join(format!("{backend}-{}-{tag}", kind.name()));
    let conf = dir.with_extension("ini");
    let ini = format!(
        "[mlflow]\ndefault_permission = {default_permission}\ndatabase_uri = sqlite:///{}/basic_auth.db\n\
         admin_username = {}\nadmin_password = {}\n\
         authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        dir.display(),
        ADMIN.0,
        ADMIN.1
    );
    std::fs::create_dir_all(dir.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
    std::fs::write(&conf, ini).map_err(|e| e.to_string())?;
    let flags = ["--app-name".to_string(), "basic-auth".to_string()];
    let env = [
        (
            "MLFLOW_AUTH_CONFIG_PATH".to_string(),
            conf.display().to_string(),
        ),
        (
            "MLFLOW_FLASK_SERVER_SECRET_KEY".to_string(),
            "bench-key".to_string(),
        ),
    ];
    Ok(ctx.start_with(backend, kind, tag, &flags, &env)?.0)
}

/// `srv`'s URL with credentials in it (reqwest sends them as basic auth).
fn as_user(srv: &mut Server, who: (&str, &str)) {
    let bare = srv.url.rsplit('@').next().unwrap_or(&srv.url).to_string();
    let host = bare.trim_start_matches("http://");
    srv.url = format!("http://{}:{}@{host}", who.0, who.1);
}

async fn create_user(srv: &Server) -> Result<(), String> {
    let c = load::client();
    load::send(
        &c,
        &srv.url,
        post(
            "users/create",
            json!({"username": USER.0, "password": USER.1}),
        ),
    )
    .await
    .map(|_| ())
}

/// Measure `f` on the two servers `reps` times, alternating which goes first.
async fn alternate<F, Fut>(ctx: &Ctx, row: &mut Row, servers: &[Server; 2], f: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Measure, String>>,
{
    for rep in 0..ctx.sizes_reps() {
        for kind in order(rep) {
            let i = usize::from(kind == Kind::Harvester);
            servers[i].settle(Duration::from_secs(if ctx.args.quick { 5 } else { 30 }));
            match f(i).await {
                Ok(m) => row.add(i == 1, &m),
                Err(e) => row.check = format!("server {i} failed: {e}"),
            }
        }
    }
}

/// The gate's cost in-process: `runs/get` × 20,000 (200 with `--quick`) per repetition.
pub fn gate_row(ctx: &Ctx, backend: &str) -> Result<Row, String> {
    eprintln!("== W11 the gate's cost in-process");
    let n = if ctx.args.quick { 200 } else { 20_000 };
    crate::gate::row(backend, ctx.sizes_reps(), n)
}

pub async fn rows(ctx: &mut Ctx, backend: &str, rows: &mut Vec<Row>) -> Result<(), String> {
    let sz = ctx.sizes.clone();
    // `--only W11-W2`: the log-metric row alone (more repetitions of the cell that needs them).
    let w2_only = !ctx.wants("W11");
    if backend == "sqlite" && !w2_only {
        rows.push(gate_row(ctx, backend)?);
    }
    eprintln!("== {backend}: W11 auth on vs off");
    // Two Harvesters on one store (the same rows and pages, so only the gate differs): the "stock" slot
    // holds the one with auth off.
    let mut on = start_auth(ctx, backend, Kind::Harvester, "w11-on", "READ")?;
    as_user(&mut on, ADMIN);
    create_user(&on).await?;
    as_user(&mut on, USER);
    let store = on.store.clone();
    let off = ctx
        .start_on(backend, Kind::Harvester, "w11-off", Some(&store), &[], &[])?
        .0;
    let servers = [off, on];

    let mut row = Row::new(
        backend,
        "W11",
        "auth on vs off (stock column = off): log-metric, 8 clients, as the experiment's creator",
        "req/s",
        true,
        "µs/req",
        "≥0.95×",
    );
    alternate(ctx, &mut row, &servers, |i| {
        workloads::run_w2(&servers[i], 8, &sz)
    })
    .await;
    rows.push(row);
    if w2_only {
        return Ok(());
    }

    // One seed, by the user (its creator), read by both; ten times W4's queries per cell (a page takes
    // tens of milliseconds, and three of them could not resolve 5 %).
    let exp = workloads::seed_w4(&servers[1], sz.w4_runs).await?;
    let exps = [exp.clone(), exp];
    let mut sz = sz;
    sz.w4_repeats *= 10;
    let mut row = Row::new(
        backend,
        "W11",
        &format!(
            "auth on vs off (stock column = off): W4 page of 100, {} runs, as the creator",
            sz.w4_runs
        ),
        "s",
        false,
        "CPU-s/query",
        "≥0.95×",
    );
    alternate(ctx, &mut row, &servers, |i| {
        workloads::run_w4(&servers[i], &exps[i], 100, &sz)
    })
    .await;
    rows.push(row);
    drop(servers);

    one_of_ten(ctx, backend, &sz, rows).await
}

/// The search of all ten experiment ids as the user; returns the run names of the page.
async fn search(srv: &Server, exps: &[String]) -> Result<Vec<String>, String> {
    let c = load::client();
    let body = json!({"experiment_ids": exps, "filter": workloads::W4_FILTER,
        "order_by": ["metrics.m1 DESC"], "max_results": 100});
    let v = load::send_json(&c, &srv.url, post("runs/search", body)).await?;
    Ok(workloads::names(&v))
}

async fn one_of_ten(
    ctx: &mut Ctx,
    backend: &str,
    sz: &Sizes,
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    eprintln!("== {backend}: W11 seeding 10 experiments for the 1-of-10 search");
    let mut servers = [
        start_auth(ctx, backend, Kind::Stock, "w11-ten", "NO_PERMISSIONS")?,
        start_auth(ctx, backend, Kind::Harvester, "w11-ten", "NO_PERMISSIONS")?,
    ];
    // A tenth of W4's runs each, at most 100: stock with basic-auth seeds about 3 runs a second.
    let per = (sz.w4_runs / 10).clamp(1, 100);
    let mut ids: [Vec<String>; 2] = [vec![], vec![]];
    for (i, srv) in servers.iter_mut().enumerate() {
        as_user(srv, ADMIN);
        create_user(srv).await?;
        for e in 0..10 {
            let id =
                workloads::seed_w4_named(srv, &format!("w11-e{e}"), &format!("e{e}"), per).await?;
            ids[i].push(id);
        }
        // The user may read the fourth experiment only.
        let grant = json!({"username": USER.0, "resource_type": "experiment",
            "resource_id": ids[i][3], "permission": "READ"});
        let c = load::client();
        load::send(
            &c,
            &srv.url,
            load::Req {
                post: true,
                path: "/api/3.0/mlflow/users/permissions/grant".into(),
                body: Some(grant.to_string()),
            },
        )
        .await?;
        as_user(srv, USER);
    }
    let (a, b) = (
        search(&servers[0], &ids[0]).await?,
        search(&servers[1], &ids[1]).await?,
    );
    let mut row = Row::new(
        backend,
        "W11",
        &format!(
            "search-runs of 10 experiments as a user who may read 1 ({per} runs each), filter + order, page of 100"
        ),
        "s",
        false,
        "CPU-s/query",
        "",
    );
    if a != b || a.is_empty() || !b.iter().all(|n| n.starts_with("e3-")) {
        row.check = format!(
            "answers differ or leak: stock {} runs, harvester {} (all of e3: {})",
            a.len(),
            b.len(),
            b.iter().all(|n| n.starts_with("e3-"))
        );
    }
    let repeats = sz.w4_repeats;
    alternate(ctx, &mut row, &servers, |i| {
        let (srv, ids) = (&servers[i], &ids[i]);
        async move {
            let mut times = Vec::new();
            let cpu0 = srv.cpu_seconds();
            for _ in 0..repeats {
                let t = Instant::now();
                search(srv, ids).await?;
                times.push(t.elapsed().as_secs_f64());
            }
            Ok(Measure {
                value: percentile(&times, 50.0),
                p99_ms: percentile(&times, 99.0) * 1e3,
                cpu_per_unit: (srv.cpu_seconds() - cpu0) / times.len() as f64,
                errors: 0,
                note: String::new(),
            })
        }
    })
    .await;
    rows.push(row);
    Ok(())
}
