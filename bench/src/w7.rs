//! W7: one large artifact PUT then GET through the mlflow-artifacts proxy, with the server's peak RSS growth.

use std::time::Instant;

use futures_util::StreamExt;

use crate::procs::{PeakRss, Server};
use crate::workloads::Measure;

/// Deterministic, incompressible-looking bytes (xorshift), `mib` MiB.
pub fn blob(mib: usize) -> actix_web::web::Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(mib << 20);
    while v.len() < mib << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.into()
}

fn url(srv: &Server, name: &str) -> String {
    format!(
        "{}/api/2.0/mlflow-artifacts/artifacts/w7/{name}/blob.bin",
        srv.url
    )
}

/// PUT `data` as `name`; seconds taken.
async fn put(
    c: &reqwest::Client,
    srv: &Server,
    name: &str,
    data: &actix_web::web::Bytes,
) -> Result<f64, String> {
    let t = Instant::now();
    let r = c
        .put(url(srv, name))
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("PUT: HTTP {}", r.status()));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// GET `name`, streaming; (seconds, bytes equal to `data`).
async fn get(
    c: &reqwest::Client,
    srv: &Server,
    name: &str,
    data: &actix_web::web::Bytes,
) -> Result<(f64, bool), String> {
    let t = Instant::now();
    let r = c
        .get(url(srv, name))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("GET: HTTP {}", r.status()));
    }
    let (mut off, mut same) = (0usize, true);
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        same &= data.get(off..off + chunk.len()) == Some(&chunk[..]);
        off += chunk.len();
    }
    Ok((t.elapsed().as_secs_f64(), same && off == data.len()))
}

/// Check: a round trip returns the same bytes on this server.
pub async fn check(srv: &Server, data: &actix_web::web::Bytes) -> Result<bool, String> {
    let c = crate::load::client();
    put(&c, srv, "check", data).await?;
    Ok(get(&c, srv, "check", data).await?.1)
}

/// Upload (`download == false`) or download throughput in MiB/s, with peak RSS growth in the note.
pub async fn run(
    srv: &Server,
    data: &actix_web::web::Bytes,
    download: bool,
    rep: usize,
) -> Result<Measure, String> {
    let c = crate::load::client();
    let name = format!("r{rep}-{}", if download { "get" } else { "put" });
    if download {
        put(&c, srv, &name, data).await?;
    }
    let cpu0 = srv.cpu_seconds();
    let rss = PeakRss::start(srv);
    let secs = if download {
        let (s, ok) = get(&c, srv, &name, data).await?;
        if !ok {
            return Err("downloaded bytes differ".into());
        }
        s
    } else {
        put(&c, srv, &name, data).await?
    };
    let growth = rss.stop();
    let mib = data.len() as f64 / (1024.0 * 1024.0);
    Ok(Measure {
        value: mib / secs,
        p99_ms: secs * 1e3,
        cpu_per_unit: (srv.cpu_seconds() - cpu0) / mib,
        errors: 0,
        note: format!("peak RSS growth {growth:.1} MiB"),
    })
}
