//! Large and direct transfers: proxied uploads past one S3 part (server-side multipart), ranges,
//! client multipart uploads through presigned part URLs (`mpu/*`), presigned downloads, and interrupted
//! uploads that must leave nothing under the final name on either store.

use actix_web::test::TestRequest;
use bytes::Bytes;
use serde_json::json;

use crate::app_on;
use crate::common::{assert_err, Arts, Backend, Stored};
use harvester::storage::path::safe_path;
use harvester::storage::Store;

const PROXY: &str = "/api/2.0/mlflow-artifacts";

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[actix_web::test]
async fn s3_large_proxied_upload_and_ranges() {
    let (t, store) = app_on!(Backend::Sqlite, Arts::S3);
    // 20 MiB + 5 bytes: three server-side parts (8 + 8 + 4 MiB).
    let data = pattern((20 << 20) + 5, 1);
    let put = TestRequest::put()
        .uri(&format!("{PROXY}/artifacts/1/r/artifacts/big.bin"))
        .set_payload(data.clone());
    let (s, v) = t.send(put).await;
    assert_eq!((s.as_u16(), v), (200, json!({})));
    let (status, headers, body) = t
        .raw(TestRequest::get().uri(&format!("{PROXY}/artifacts/1/r/artifacts/big.bin")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), data.len());
    assert!(body == data, "downloaded bytes differ");
    // MLflow's form: a token file name goes unquoted.
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=big.bin"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let (status, headers, body) = t
        .raw(
            TestRequest::get()
                .uri(&format!("{PROXY}/artifacts/1/r/artifacts/big.bin"))
                .insert_header(("range", "bytes=10485750-10485769")),
        )
        .await;
    assert_eq!(status, 206);
    assert_eq!(
        headers["content-range"],
        format!("bytes 10485750-10485769/{}", data.len())
    );
    assert_eq!(&body[..], &data[10485750..10485770]);
    let l = t
        .send(TestRequest::get().uri(&format!("{PROXY}/artifacts?path=1/r/artifacts")))
        .await
        .1;
    assert_eq!(
        l,
        json!({"files": [{"path": "big.bin", "is_dir": false, "file_size": data.len()}]})
    );
    assert_eq!(
        store.files().await,
        vec!["1/r/artifacts/big.bin".to_string()]
    );
}

#[actix_web::test]
async fn s3_client_multipart_and_presigned_download() {
    let (t, store) = app_on!(Backend::Sqlite, Arts::S3);
    let http = reqwest::Client::new();
    let parts = [pattern(5 << 20, 2), pattern(1024, 3)];
    // The client sends its local file's path; the object is <dir>/<basename>.
    let create = TestRequest::post()
        .uri(&format!("{PROXY}/mpu/create/1/r/artifacts/model"))
        .set_json(json!({"path": "/tmp/somewhere/weights.bin", "num_parts": 2}));
    let (s, v) = t.send(create).await;
    assert_eq!(s, 200, "{v}");
    let upload_id = v["upload_id"].as_str().expect("upload_id").to_string();
    let creds = v["credentials"].as_array().expect("credentials");
    assert_eq!(creds.len(), 2);
    let mut done = Vec::new();
    for (cred, data) in creds.iter().zip(&parts) {
        assert!(cred["headers"].is_object());
        let resp = http
            .put(cred["url"].as_str().unwrap())
            .body(data.clone())
            .send()
            .await
            .expect("part upload");
        assert!(resp.status().is_success(), "part upload: {}", resp.status());
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        done.push(json!({"part_number": cred["part_number"], "etag": etag, "url": cred["url"]}));
    }
    // Nothing is visible before the upload is completed.
    assert_eq!(store.files().await, Vec::<String>::new());
    let complete = TestRequest::post()
        .uri(&format!("{PROXY}/mpu/complete/1/r/artifacts/model"))
        .set_json(
            json!({"path": "/tmp/somewhere/weights.bin", "upload_id": upload_id, "parts": done}),
        );
    let (s, v) = t.send(complete).await;
    assert_eq!((s.as_u16(), v), (200, json!({})));
    let whole: Vec<u8> = parts.concat();
    let (_, _, body) = t
        .raw(TestRequest::get().uri(&format!(
            "{PROXY}/artifacts/1/r/artifacts/model/weights.bin"
        )))
        .await;
    assert!(body == whole, "multipart object differs");

    // Presigned download: a URL the client fetches from S3 itself, and the size.
    let (s, v) = t
        .send(TestRequest::get().uri(&format!(
            "{PROXY}/presigned/1/r/artifacts/model/weights.bin"
        )))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["file_size"], whole.len());
    let resp = http
        .get(v["url"].as_str().unwrap())
        .send()
        .await
        .expect("presigned get");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert!(resp.bytes().await.unwrap() == whole);
    let r = t
        .send(TestRequest::get().uri(&format!("{PROXY}/presigned/1/nope.bin")))
        .await;
    assert_err(&r, 404, "RESOURCE_DOES_NOT_EXIST");

    // Abort: the parts are dropped and the object never appears.
    let (s, v) = t
        .send(
            TestRequest::post()
                .uri(&format!("{PROXY}/mpu/create/1/r/artifacts"))
                .set_json(json!({"path": "aborted.bin", "num_parts": 1})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let url = v["credentials"][0]["url"].as_str().unwrap().to_string();
    assert!(http
        .put(&url)
        .body(vec![7u8; 100])
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let abort = json!({"path": "aborted.bin", "upload_id": v["upload_id"]});
    let (s, v) = t
        .send(
            TestRequest::post()
                .uri(&format!("{PROXY}/mpu/abort/1/r/artifacts"))
                .set_json(abort.clone()),
        )
        .await;
    assert_eq!((s.as_u16(), v), (200, json!({})));
    let mut with_parts = abort.clone();
    with_parts["parts"] = json!([{"part_number": 1, "etag": "x"}]);
    let r = t
        .send(
            TestRequest::post()
                .uri(&format!("{PROXY}/mpu/complete/1/r/artifacts"))
                .set_json(with_parts),
        )
        .await;
    assert!(r.0.is_client_error(), "completing an aborted upload: {r:?}");

    // Bad requests are 400s, never 5xx.
    for (route, body) in [
        ("mpu/create/1/r", json!({"num_parts": 2})),
        ("mpu/create/1/r", json!({"path": "/tmp/..", "num_parts": 2})),
        ("mpu/create/1/r", json!({"path": "x.bin", "num_parts": 0})),
        (
            "mpu/create/..%2f..",
            json!({"path": "x.bin", "num_parts": 1}),
        ),
        (
            "mpu/complete/1/r",
            json!({"path": "x.bin", "upload_id": "u"}),
        ),
        (
            "mpu/complete/1/r",
            json!({"path": "x.bin", "parts": [{"part_number": 1, "etag": "e"}]}),
        ),
        ("mpu/abort/1/r", json!({"path": "x.bin"})),
    ] {
        let r = t
            .send(
                TestRequest::post()
                    .uri(&format!("{PROXY}/{route}"))
                    .set_json(body.clone()),
            )
            .await;
        assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    }
    assert_eq!(
        store.files().await,
        vec!["1/r/artifacts/model/weights.bin".to_string()]
    );
    no_open_uploads(&store).await;
}

/// With `HARVESTER_TEST_S3_DATA` (the s3s-fs data directory), no multipart upload of this test's bucket
/// may be left open: s3s-fs keeps one `.bucket-<b64 bucket>.object-<b64 key>.upload-<id>.metadata.json`
/// per open upload and removes it on complete or abort. (Aborts after a failure run in the background.)
async fn no_open_uploads(stored: &Stored) {
    use base64::Engine;
    let (Ok(dir), Stored::S3 { bucket, .. }) = (std::env::var("HARVESTER_TEST_S3_DATA"), stored)
    else {
        return;
    };
    let mine = format!(
        ".bucket-{}.object-",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bucket)
    );
    for _ in 0..50 {
        let open: Vec<String> = std::fs::read_dir(&dir)
            .expect("s3 data dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&mine) && n.contains(".upload-"))
            .collect();
        if open.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("multipart uploads left open in {dir} for bucket {bucket}");
}

/// A body that fails after `ok_bytes`, as when a client disconnects mid-upload.
fn broken_body(
    ok_bytes: usize,
) -> impl futures_util::Stream<Item = harvester::error::ApiResult<Bytes>> + Unpin {
    let chunk = Bytes::from(pattern(1 << 20, 4));
    let n = ok_bytes / chunk.len();
    let items = (0..n)
        .map(move |_| Ok(chunk.clone()))
        .chain(std::iter::once(Err(harvester::error::ApiError::invalid(
            "Upload interrupted",
        ))));
    futures_util::stream::iter(items)
}

async fn interrupted_upload_leaves_nothing(a: Arts) {
    let Some(stored) = Stored::new(a).await else {
        return;
    };
    let store = Store::open(&stored.destination(), None)
        .await
        .expect("open store");
    let p = safe_path("1/r/artifacts/partial.bin", false).unwrap();
    // Small (below one part) and large (server-side multipart on S3) interrupted bodies.
    for size in [3 << 20, 20 << 20] {
        let err = store
            .put(&p, broken_body(size))
            .await
            .expect_err("must fail");
        assert_eq!(err.message, "Upload interrupted");
        assert_eq!(
            stored.files().await,
            Vec::<String>::new(),
            "after {size} bytes"
        );
    }
    // An earlier version stays intact when a replacement upload fails.
    let good = futures_util::stream::iter([Ok(Bytes::from_static(b"v1"))]);
    store.put(&p, good).await.expect("put v1");
    store
        .put(&p, broken_body(10 << 20))
        .await
        .expect_err("must fail");
    assert_eq!(
        stored.files().await,
        vec!["1/r/artifacts/partial.bin".to_string()]
    );
    let listed = store
        .list(&safe_path("1/r/artifacts", true).unwrap())
        .await
        .unwrap();
    assert_eq!(listed[0].file_size, Some(2));
    no_open_uploads(&stored).await;
}

#[actix_web::test]
async fn local_interrupted_upload_leaves_nothing() {
    interrupted_upload_leaves_nothing(Arts::Local).await
}

#[actix_web::test]
async fn s3_interrupted_upload_leaves_nothing() {
    interrupted_upload_leaves_nothing(Arts::S3).await
}

#[actix_web::test]
async fn s3_public_endpoint_and_proxy_only_mode() {
    let (t, _store) = app_on!(Backend::Sqlite, Arts::S3, |c| {
        c.s3_public_endpoint_url = Some("http://s3.example.test:9000".into());
        c.s3_direct_transfers = false;
    });
    // Not advertised: the stock client sends everything through the proxy.
    let info = t
        .send(TestRequest::get().uri("/api/3.0/mlflow/server-info"))
        .await
        .1;
    assert_eq!(info["multipart_uploads_enabled"], false);
    assert_eq!(info["multipart_downloads_enabled"], false);
    // A client that asks anyway gets URLs signed for the endpoint it can reach.
    let (s, v) = t
        .send(
            TestRequest::post()
                .uri(&format!("{PROXY}/mpu/create/1/r"))
                .set_json(json!({"path": "w.bin", "num_parts": 1})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let url = v["credentials"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("http://s3.example.test:9000/"), "{url}");
    let abort = json!({"path": "w.bin", "upload_id": v["upload_id"]});
    let r = t
        .send(
            TestRequest::post()
                .uri(&format!("{PROXY}/mpu/abort/1/r"))
                .set_json(abort),
        )
        .await;
    assert_eq!(r.0, 200, "{r:?}");
}
