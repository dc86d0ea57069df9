//! W6: the model registry — creating model versions, searching them, resolving an alias.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::load::{self, Req};
use crate::procs::Server;
use crate::setup::{get, post};
use crate::workloads::{measure_loop, Measure, Sizes};

const CLIENTS: usize = 4;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn create_version(name: &str, i: usize) -> Req {
    let mut body = json!({"name": name, "source": format!("s3://bucket/models/{name}/{i}")});
    if i % 10 == 0 {
        body["tags"] = json!([{"key": "quality", "value": "gold"}]);
    }
    post("model-versions/create", body)
}

async fn model(c: &reqwest::Client, srv: &Server, name: &str) -> Result<(), String> {
    load::send_json(
        c,
        &srv.url,
        post("registered-models/create", json!({"name": name})),
    )
    .await?;
    Ok(())
}

/// Create `sz.w6_versions` versions over 4 models (one per client); value = versions/s.
pub async fn run_create(srv: &Server, sz: &Sizes) -> Result<Measure, String> {
    let c = load::client();
    let mut names = Vec::new();
    for i in 0..CLIENTS {
        let n = unique(&format!("w6c{i}"));
        model(&c, srv, &n).await?;
        names.push(n);
    }
    let names = Arc::new(names);
    let make: load::MakeReq = Arc::new(move |id, seq| create_version(&names[id], seq));
    Ok(measure_loop(srv, CLIENTS, Duration::from_secs(900), sz.w6_versions, make).await)
}

/// One model with `sz.w6_versions` versions (every tenth tagged `quality=gold`) and the alias `champion` on
/// the middle one; returns its name.
pub async fn seed(srv: &Server, sz: &Sizes) -> Result<String, String> {
    let c = load::client();
    let name = unique("w6s");
    model(&c, srv, &name).await?;
    for i in 1..=sz.w6_versions {
        load::send_json(&c, &srv.url, create_version(&name, i)).await?;
    }
    let mid = (sz.w6_versions / 2).max(1).to_string();
    load::send_json(
        &c,
        &srv.url,
        post(
            "registered-models/alias",
            json!({"name": name, "alias": "champion", "version": mid}),
        ),
    )
    .await?;
    Ok(name)
}

fn search_req(name: &str) -> Req {
    let filter = format!("name = '{name}' AND tags.quality = 'gold'");
    let q: String = url_encode(&filter);
    get(&format!(
        "model-versions/search?filter={q}&order_by=version_number%20DESC&max_results=100"
    ))
}

fn alias_req(name: &str) -> Req {
    get(&format!(
        "registered-models/alias?name={name}&alias=champion"
    ))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Both servers must agree: the versions the search returns, and the version the alias resolves to.
pub async fn check(srv: &Server, name: &str) -> Result<(Vec<String>, String), String> {
    let c = load::client();
    let v = load::send_json(&c, &srv.url, search_req(name)).await?;
    let versions = v["model_versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["version"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let a = load::send_json(&c, &srv.url, alias_req(name)).await?;
    Ok((
        versions,
        a["model_version"]["version"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    ))
}

/// `search == true`: filtered, ordered version search; otherwise alias resolution. 4 clients, req/s.
pub async fn run_read(
    srv: &Server,
    name: &str,
    search: bool,
    sz: &Sizes,
) -> Result<Measure, String> {
    let name = name.to_string();
    let make: load::MakeReq = Arc::new(move |_, _| {
        if search {
            search_req(&name)
        } else {
            alias_req(&name)
        }
    });
    Ok(measure_loop(
        srv,
        CLIENTS,
        Duration::from_secs_f64(sz.secs),
        usize::MAX,
        make,
    )
    .await)
}
