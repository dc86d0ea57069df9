//! The artifact proxy on local disk and on S3: round trips, listings, run artifact routes, errors, and a
//! traversal suite that proves nothing is written outside the root.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{assert_err, files_under, Arts, Backend};
use crate::{app_on, artifact_tests};

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

fn put(path: &str, body: &'static [u8]) -> TestRequest {
    TestRequest::put()
        .uri(&format!("{PROXY}/{path}"))
        .insert_header(("content-type", "text/plain"))
        .set_payload(body)
}

async fn proxy_round_trip(b: Backend, a: Arts) {
    let (t, store) = app_on!(b, a);
    assert_eq!(
        t.send(put("1/run/artifacts/a/b/hello.txt", b"hello"))
            .await
            .0,
        200
    );
    assert_eq!(t.send(put("1/run/artifacts/top.json", b"{}")).await.0, 200);
    let (s, body) = t
        .send(TestRequest::get().uri(&format!("{PROXY}/1/run/artifacts/a/b/hello.txt")))
        .await;
    assert_eq!((s.as_u16(), body), (200, Value::String("hello".into())));
    // Overwrite is atomic and wins.
    assert_eq!(
        t.send(put("1/run/artifacts/a/b/hello.txt", b"hello again"))
            .await
            .0,
        200
    );
    let (_, body) = t
        .send(TestRequest::get().uri(&format!("{PROXY}/1/run/artifacts/a/b/hello.txt")))
        .await;
    assert_eq!(body, Value::String("hello again".into()));
    let (_, l) = t
        .send(TestRequest::get().uri(&format!("{PROXY}?path=1/run/artifacts")))
        .await;
    assert_eq!(
        l,
        json!({"files": [{"path": "a", "is_dir": true}, {"path": "top.json", "is_dir": false, "file_size": 2}]})
    );
    let (_, l) = t
        .send(TestRequest::get().uri(&format!("{PROXY}?path=1/missing")))
        .await;
    assert_eq!(l, json!({}));
    // Missing file: 404; a directory: 400 (on S3: a key with objects under it).
    let r = t
        .send(TestRequest::get().uri(&format!("{PROXY}/1/run/artifacts/nope.txt")))
        .await;
    assert_err(&r, 404, "RESOURCE_DOES_NOT_EXIST");
    let r = t
        .send(TestRequest::get().uri(&format!("{PROXY}/1/run/artifacts/a")))
        .await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    // A listing of a file is empty.
    let (_, l) = t
        .send(TestRequest::get().uri(&format!("{PROXY}?path=1/run/artifacts/top.json")))
        .await;
    assert_eq!(l, json!({}));
    // Delete a tree; deleting again is fine.
    for _ in 0..2 {
        let (s, v) = t
            .send(TestRequest::delete().uri(&format!("{PROXY}/1/run/artifacts/a")))
            .await;
        assert_eq!((s.as_u16(), v), (200, json!({})));
    }
    assert_eq!(
        store.everything().await,
        vec!["mlartifacts/1/run/artifacts/top.json".to_string()]
    );
    // Multipart uploads and presigned downloads exist on S3 only (tests in artifacts_s3.rs); on local
    // disk MLflow answers 501 and the client falls back to the proxy.
    let info = t
        .send(TestRequest::get().uri("/api/3.0/mlflow/server-info"))
        .await
        .1;
    assert_eq!(info["multipart_uploads_enabled"], store.is_s3());
    assert_eq!(info["multipart_downloads_enabled"], store.is_s3());
    if !store.is_s3() {
        let r = t
            .send(
                TestRequest::post()
                    .uri("/api/2.0/mlflow-artifacts/mpu/create/1/x.bin")
                    .set_json(json!({"path": "x.bin", "num_parts": 2})),
            )
            .await;
        assert_err(&r, 501, "NOT_IMPLEMENTED");
        let r = t
            .send(
                TestRequest::get()
                    .uri("/api/2.0/mlflow-artifacts/presigned/1/run/artifacts/top.json"),
            )
            .await;
        assert_err(&r, 501, "NOT_IMPLEMENTED");
    }
}

async fn run_artifact_routes(b: Backend, a: Arts) {
    let (t, _store) = app_on!(b, a);
    let run = t.create_run("0").await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let uri = r["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let base = uri.strip_prefix("mlflow-artifacts:/").unwrap().to_string();
    let base: &'static str = Box::leak(base.into_boxed_str());
    assert_eq!(t.send(put(&format!("{base}/d/x.txt"), b"x")).await.0, 200);
    assert_eq!(t.send(put(&format!("{base}/y.txt"), b"yy")).await.0, 200);
    let l = t.ok_get(&format!("artifacts/list?run_id={run}")).await;
    assert_eq!(
        l,
        json!({"root_uri": uri, "files": [{"path": "d", "is_dir": true}, {"path": "y.txt", "is_dir": false, "file_size": 2}]})
    );
    let l = t
        .ok_get(&format!("artifacts/list?run_uuid={run}&path=d"))
        .await;
    assert_eq!(
        l["files"],
        json!([{"path": "d/x.txt", "is_dir": false, "file_size": 1}])
    );
    let (s, body) = t
        .send(TestRequest::get().uri(&format!("/get-artifact?path=d/x.txt&run_uuid={run}")))
        .await;
    assert_eq!((s.as_u16(), body), (200, Value::String("x".into())));
    let r = t
        .get(&format!("artifacts/list?run_id={run}&path=../.."))
        .await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t
        .get("artifacts/list?run_id=0123456789abcdef0123456789abcdef")
        .await;
    assert_err(&r, 404, "RESOURCE_DOES_NOT_EXIST");
}

async fn traversal_is_rejected(b: Backend, a: Arts) {
    let (t, store) = app_on!(b, a);
    // On disk: a secret beside the root, and a symlink inside the root that points to it.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    if let crate::common::Stored::Local(dir) = &store {
        let root = dir.path().join(crate::common::ARTIFACT_ROOT);
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
    }
    let mut patterns = vec![
        "../outside/pwned.txt",
        "a/../../outside/pwned.txt",
        "..%2Foutside%2Fpwned.txt",
        "%2e%2e/outside/pwned.txt",
        "%2E%2E%2Foutside%2Fpwned.txt",
        "%252e%252e%252foutside%252fpwned.txt",
        "a/%2e%2e/%2e%2e/outside/pwned.txt",
        "..%5coutside%5cpwned.txt",
        "a%5c..%5c..%5coutside%5cpwned.txt",
        "%2Ftmp%2Fpwned.txt",
        "C:%5cpwned.txt",
        "file:%2F%2F%2Ftmp%2Fpwned.txt",
        "a%00b.txt",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "a/./../../outside/pwned.txt",
        "~/pwned.txt",
        "%7e%2fpwned.txt",
        "s3:%2F%2Fother-bucket%2Fpwned.txt",
        "a/%0a/pwned.txt",
    ];
    if !store.is_s3() {
        // Symlinks exist on disk only; on S3 `link/x` is just a key inside the root.
        patterns.extend(["link/pwned.txt", "link/secret.txt", "link"]);
    }
    for p in patterns {
        for req in [
            TestRequest::put()
                .uri(&format!("{PROXY}/{p}"))
                .set_payload("x"),
            TestRequest::get().uri(&format!("{PROXY}/{p}")),
            TestRequest::delete().uri(&format!("{PROXY}/{p}")),
            TestRequest::get().uri(&format!("{PROXY}?path={p}")),
        ] {
            let r = t.send(req).await;
            assert!(
                r.0 == 400 && r.1["error_code"] == "INVALID_PARAMETER_VALUE" || r.0 == 404,
                "{p}: {r:?}"
            );
            assert!(r.0 != 200, "{p} was served: {r:?}");
        }
    }
    assert_eq!(files_under(outside.path()), vec!["secret.txt".to_string()]);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "secret"
    );
    // Nothing was written anywhere in the store (directory or bucket), inside the root or out of it.
    let expected: Vec<String> = if store.is_s3() {
        vec![]
    } else {
        vec!["mlartifacts/link".into()]
    };
    assert_eq!(store.everything().await, expected);
    assert!(!std::path::Path::new("/tmp/pwned.txt").exists());
}

async fn serving_modes(b: Backend, a: Arts) {
    let (t, _store) = app_on!(b, a, |c| {
        c.serve_artifacts = false;
        c.no_serve_artifacts = true;
    });
    let r = t.send(put("1/x.txt", b"x")).await;
    assert_err(&r, 404, "ENDPOINT_NOT_FOUND");
    assert!(t.ok_get("experiments/get?experiment_id=0").await["experiment"].is_object());
    let (t, _store) = app_on!(b, a, |c| c.artifacts_only = true);
    assert_eq!(t.send(put("1/x.txt", b"x")).await.0, 200);
    let r = t.get("experiments/get?experiment_id=0").await;
    assert_err(&r, 404, "ENDPOINT_NOT_FOUND");
}

artifact_tests!(
    proxy_round_trip,
    run_artifact_routes,
    traversal_is_rejected,
    serving_modes
);
