//! The UI's files and UI-only endpoints: index and hashed assets with their caching, `--static-prefix`,
//! and the stubs the UI calls on every page.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn ui_files_and_endpoints(b: Backend) {
    let ui = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ui.path().join("static/js")).unwrap();
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><title>MLflow</title>",
    )
    .unwrap();
    std::fs::write(ui.path().join("static/js/main.abc.js"), "console.log(1)").unwrap();
    let dir = ui.path().display().to_string();
    let t = app!(b, move |c| {
        c.ui_dir = Some(dir);
        c.static_prefix = Some("/mlflow".into());
    });
    let (s, h, body) = t.raw(TestRequest::get().uri("/mlflow/")).await;
    assert_eq!(
        (s, h["content-type"].as_str(), h["cache-control"].as_str()),
        (200, "text/html; charset=utf-8", "no-cache")
    );
    assert!(String::from_utf8_lossy(&body).contains("<title>MLflow</title>"));
    let (s, h, body) = t
        .raw(TestRequest::get().uri("/mlflow/static-files/static/js/main.abc.js"))
        .await;
    assert_eq!(s, 200);
    assert!(h["content-type"].contains("javascript"), "{h:?}");
    assert_eq!(h["cache-control"], "public, max-age=2419200");
    assert_eq!(&body[..], b"console.log(1)");
    for bad in [
        "/mlflow/static-files/nope.js",
        "/mlflow/static-files/..%2f..%2fetc%2fpasswd",
    ] {
        let (s, _, _) = t.raw(TestRequest::get().uri(bad)).await;
        assert!(s == 404 || s == 400, "{bad}: {s}");
    }
    assert_eq!(
        t.raw(TestRequest::get().uri("/static-files/static/js/main.abc.js"))
            .await
            .0,
        404,
        "outside the prefix"
    );
    // UI-only endpoints.
    let get = |p: &str| TestRequest::get().uri(&format!("/mlflow/{p}"));
    let r = t.send(get("ajax-api/2.0/mlflow/users/current")).await;
    assert_err(&r, 404, "ENDPOINT_NOT_FOUND");
    assert_eq!(
        t.send(get("ajax-api/3.0/mlflow/assistant/config")).await.1,
        json!({"providers": {}, "projects": {}, "remote_access_allowed": false})
    );
    assert_eq!(
        t.send(get("ajax-api/3.0/mlflow/assistant/providers"))
            .await
            .1,
        json!({"providers": []})
    );
    assert_eq!(
        t.send(get("ajax-api/3.0/mlflow/ui-telemetry")).await.1["disable_ui_telemetry"],
        true
    );
    assert_eq!(
        t.send(get(
            "ajax-api/2.0/mlflow/gateway-proxy?gateway_path=api/2.0/endpoints/"
        ))
        .await
        .1,
        json!({"endpoints": []})
    );
    let post = |p: &str, body: serde_json::Value| {
        TestRequest::post()
            .uri(&format!("/mlflow/{p}"))
            .set_json(body)
    };
    assert_eq!(
        t.send(post("ajax-api/3.0/mlflow/traces/metrics", json!({})))
            .await
            .1,
        json!({})
    );
    assert_eq!(
        t.send(post(
            "ajax-api/3.0/mlflow/ui-telemetry",
            json!({"records": []})
        ))
        .await
        .0,
        200
    );
    // search-datasets: the datasets logged in an experiment, with their context.
    let exp = t
        .send(post(
            "api/2.0/mlflow/experiments/create",
            json!({"name": "ds"}),
        ))
        .await
        .1["experiment_id"]
        .clone();
    let run = t
        .send(post(
            "api/2.0/mlflow/runs/create",
            json!({"experiment_id": exp}),
        ))
        .await
        .1["run"]["info"]["run_id"]
        .clone();
    let ds = json!({"name": "train", "digest": "d1", "source_type": "code", "source": "{}"});
    let (s, v) = t
        .send(post(
            "api/2.0/mlflow/runs/log-inputs",
            json!({"run_id": run, "datasets": [
        {"dataset": ds, "tags": [{"key": "mlflow.data.context", "value": "training"}]}]}),
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    let v = t
        .send(post(
            "ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({"experiment_ids": [exp]}),
        ))
        .await
        .1;
    assert_eq!(
        v,
        json!({"dataset_summaries": [{"experiment_id": exp, "name": "train", "digest": "d1", "context": "training"}]})
    );
    assert_eq!(
        t.send(post(
            "ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({"experiment_ids": ["0"]})
        ))
        .await
        .1,
        json!({})
    );
    let r = t
        .send(post(
            "ajax-api/2.0/mlflow/experiments/search-datasets",
            json!({}),
        ))
        .await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
}

async fn no_ui_says_so(b: Backend) {
    let t = app!(b, |c| c.ui_dir = None);
    let (s, _, body) = t.raw(TestRequest::get().uri("/")).await;
    // Tests run from the repository, where .venv may hold mlflow: either the UI or the explanation.
    let text = String::from_utf8_lossy(&body);
    assert_eq!(s, 200);
    assert!(
        text.contains("<!doctype html>") || text.contains("No MLflow UI is available"),
        "{text}"
    );
}

backend_tests!(ui_files_and_endpoints, no_ui_says_so);
