//! The artifact proxy on local disk: round trips, listings, run artifact routes, errors, and a traversal
//! suite that proves nothing is written outside the root.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

fn put(path: &str, body: &'static [u8]) -> TestRequest {
    TestRequest::put()
        .uri(&format!("{PROXY}/{path}"))
        .insert_header(("content-type", "text/plain"))
        .set_payload(body)
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

async fn proxy_round_trip(b: Backend) {
    let t = app!(b);
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
    // Missing file: 404; a directory: 400.
    let r = t
        .send(TestRequest::get().uri(&format!("{PROXY}/1/run/artifacts/nope.txt")))
        .await;
    assert_err(&r, 404, "RESOURCE_DOES_NOT_EXIST");
    let r = t
        .send(TestRequest::get().uri(&format!("{PROXY}/1/run/artifacts/a")))
        .await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    // Delete a tree; deleting again is fine.
    for _ in 0..2 {
        let (s, v) = t
            .send(TestRequest::delete().uri(&format!("{PROXY}/1/run/artifacts/a")))
            .await;
        assert_eq!((s.as_u16(), v), (200, json!({})));
    }
    let root = t.artifacts.path().join("mlartifacts");
    assert_eq!(
        files_under(&root),
        vec!["1/run/artifacts/top.json".to_string()]
    );
    // Local storage has no multipart upload: the client falls back to PUT.
    let r = t
        .send(
            TestRequest::post()
                .uri("/api/2.0/mlflow-artifacts/mpu/create/1/x.bin")
                .set_json(json!({"path": "x.bin", "num_parts": 2})),
        )
        .await;
    assert_err(&r, 501, "NOT_IMPLEMENTED");
}

async fn run_artifact_routes(b: Backend) {
    let t = app!(b);
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

async fn traversal_is_rejected(b: Backend) {
    let t = app!(b);
    let root = t.artifacts.path().join("mlartifacts");
    let outside = t.artifacts.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    // A symlink inside the root that points out of it.
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let patterns = [
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
        "link/pwned.txt",
        "link/secret.txt",
        "link",
    ];
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
    assert_eq!(files_under(&outside), vec!["secret.txt".to_string()]);
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "secret"
    );
    assert_eq!(files_under(&root), vec!["link".to_string()]);
    assert!(!std::path::Path::new("/tmp/pwned.txt").exists());
}

async fn serving_modes(b: Backend) {
    let t = app!(b, |c| {
        c.serve_artifacts = false;
        c.no_serve_artifacts = true;
    });
    let r = t.send(put("1/x.txt", b"x")).await;
    assert_err(&r, 404, "ENDPOINT_NOT_FOUND");
    assert!(t.ok_get("experiments/get?experiment_id=0").await["experiment"].is_object());
    let t = app!(b, |c| c.artifacts_only = true);
    assert_eq!(t.send(put("1/x.txt", b"x")).await.0, 200);
    let r = t.get("experiments/get?experiment_id=0").await;
    assert_err(&r, 404, "ENDPOINT_NOT_FOUND");
}

backend_tests!(
    proxy_round_trip,
    run_artifact_routes,
    traversal_is_rejected,
    serving_modes
);
