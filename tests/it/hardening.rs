//! Faults a reliability probe found (issue 11), each pinned by a test: the Host check and security
//! headers, MLflow bodies for unknown routes and methods, bounded filters, long values and NUL bytes on
//! both backends, bounded history pages and int64 ranges.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn host_header_and_security_headers(b: Backend) {
    let t = app!(b);
    // DNS rebinding: a write whose Host names another site is refused, as stock 3.17 refuses it.
    let (s, body) = t
        .send(
            TestRequest::post()
                .uri("/api/2.0/mlflow/experiments/create")
                .insert_header(("host", "evil.example"))
                .set_json(json!({"name": "x"})),
        )
        .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(
        body,
        json!("Invalid Host header - possible DNS rebinding attack detected")
    );
    assert_eq!(
        t.ok("experiments/search", json!({"max_results": 10})).await["experiments"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "nothing was created"
    );
    // Health stays reachable for load balancers whatever their Host.
    let (s, ..) = t
        .raw(
            TestRequest::get()
                .uri("/health")
                .insert_header(("host", "lb.internal")),
        )
        .await;
    assert_eq!(s, 200);
    for host in [
        "127.0.0.1:5000",
        "localhost",
        "[::1]:80",
        "10.0.0.7:5000",
        "192.168.1.2",
    ] {
        let (s, ..) = t
            .raw(
                TestRequest::get()
                    .uri("/api/2.0/mlflow/experiments/get?experiment_id=0")
                    .insert_header(("host", host)),
            )
            .await;
        assert_eq!(s, 200, "{host}");
    }
    let (_, headers, _) = t.raw(TestRequest::get().uri("/health")).await;
    assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // A cross-origin write from a foreign page is blocked; localhost origins are allowed.
    let (s, _) = t
        .send(
            TestRequest::post()
                .uri("/api/2.0/mlflow/experiments/create")
                .insert_header(("origin", "https://evil.example"))
                .set_json(json!({"name": "y"})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, headers, _) = t
        .raw(
            TestRequest::post()
                .uri("/api/2.0/mlflow/experiments/create")
                .insert_header(("origin", "http://localhost:3000"))
                .set_json(json!({"name": "z"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    // A preflight from an allowed origin: 204 on API routes.
    let (s, headers, _) = t
        .raw(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/api/2.0/mlflow/experiments/create")
                .insert_header(("origin", "http://127.0.0.1:8080"))
                .insert_header(("access-control-request-method", "POST")),
        )
        .await;
    assert_eq!(s, 204);
    assert!(headers["access-control-allow-methods"].contains("POST"));

    // Configured: only the named host, and DENY framing.
    let t = app!(b, |c| {
        c.allowed_hosts = Some("mlflow.corp.example,*.mlflow.internal:5000".into());
        c.x_frame_options = "DENY".into();
    });
    for (host, want) in [
        ("mlflow.corp.example", 200),
        ("a.mlflow.internal:5000", 200),
        ("localhost:5000", 403),
    ] {
        let (s, headers, _) = t
            .raw(
                TestRequest::get()
                    .uri("/api/2.0/mlflow/experiments/get?experiment_id=0")
                    .insert_header(("host", host)),
            )
            .await;
        assert_eq!(s, want, "{host}");
        assert_eq!(headers["x-frame-options"], "DENY");
    }
    // The UI served from an allowed name may write to its own API (a same-origin request).
    for (origin, want) in [
        ("https://mlflow.corp.example", 200),
        ("https://evil.example", 403),
    ] {
        let (s, _, _) = t
            .raw(
                TestRequest::post()
                    .uri("/api/2.0/mlflow/experiments/create")
                    .insert_header(("host", "mlflow.corp.example"))
                    .insert_header(("origin", origin))
                    .set_json(json!({"name": format!("from {origin}")})),
            )
            .await;
        assert_eq!(s, want, "{origin}");
    }
}

async fn unknown_routes_and_methods(b: Backend) {
    let t = app!(b);
    for uri in ["/api/2.0/mlflow/nope", "/ajax-api/2.0/mlflow/nope", "/nope"] {
        let got = t.send(TestRequest::get().uri(uri)).await;
        assert_err(&got, 404, "ENDPOINT_NOT_FOUND");
    }
    let got = t
        .send(TestRequest::delete().uri("/api/2.0/mlflow/experiments/get"))
        .await;
    assert_err(&got, 405, "BAD_REQUEST");
    let got = t
        .send(TestRequest::delete().uri("/ajax-api/2.0/mlflow/gateway-proxy"))
        .await;
    assert_err(&got, 405, "BAD_REQUEST");
    // Repeated slashes reach the route (Werkzeug merges them too).
    let (s, v) = t
        .send(TestRequest::get().uri("//api/2.0/mlflow/experiments/get?experiment_id=0"))
        .await;
    assert_eq!(s, 200, "{v}");
}

fn clauses(n: usize) -> String {
    vec!["metrics.a > 0"; n].join(" AND ")
}

async fn filters_are_bounded(b: Backend) {
    let t = app!(b);
    let exp = t.create_experiment("bounded").await;
    let run = t.create_run(&exp).await;
    t.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "a", "value": 1.0, "timestamp": 1, "step": 0}),
    )
    .await;
    let v = t
        .ok(
            "runs/search",
            json!({"experiment_ids": [exp], "filter": clauses(50)}),
        )
        .await;
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));
    for n in [51, 400, 990, 2000] {
        let got = t
            .post(
                "runs/search",
                json!({"experiment_ids": [exp], "filter": clauses(n)}),
            )
            .await;
        assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    }
    let list: Vec<String> = (0..1001).map(|i| format!("'{i}'")).collect();
    let got = t
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "filter": format!("params.p IN ({})", list.join(","))}),
        )
        .await;
    assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    // The same bound holds in every search grammar (registry, logged models).
    let got = t
        .post(
            "registered-models/search",
            json!({"filter": vec!["name = 'a'"; 60].join(" AND ")}),
        )
        .await;
    assert!(got.0 == 400, "{}", got.1);
}

fn long(n: usize) -> String {
    // Multi-byte characters: 2,704 bytes is PostgreSQL's btree entry limit, so bytes matter.
    "é".repeat(n)
}

async fn long_values_are_stored(b: Backend) {
    let t = app!(b);
    let exp = t.create_experiment("long").await;
    let run = t.create_run(&exp).await;
    let param = long(6000);
    let tag = long(8000);
    t.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "p", "value": param}),
    )
    .await;
    t.ok(
        "runs/set-tag",
        json!({"run_id": run, "key": "mlflow.note.content", "value": tag}),
    )
    .await;
    t.ok(
        "runs/log-batch",
        json!({"run_id": run, "params": [{"key": "q", "value": long(6000)}],
               "tags": [{"key": "t", "value": long(8000)}]}),
    )
    .await;
    t.ok(
        "experiments/set-experiment-tag",
        json!({"experiment_id": exp, "key": "e", "value": long(20000)}),
    )
    .await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let params = &r["run"]["data"]["params"];
    assert!(params
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["value"] == json!(param)));
    // A search on the long value finds it (equality uses the hash index on PostgreSQL).
    let v = t
        .ok(
            "runs/search",
            json!({"experiment_ids": [exp], "filter": format!("params.p = '{param}'")}),
        )
        .await;
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));

    let name = "m".repeat(256);
    t.ok("registered-models/create", json!({"name": name}))
        .await;
    t.ok(
        "registered-models/set-tag",
        json!({"name": name, "key": "k", "value": long(100_000)}),
    )
    .await;
    t.ok(
        "model-versions/create",
        json!({"name": name, "source": "s3://bucket/model"}),
    )
    .await;
    t.ok(
        "model-versions/set-tag",
        json!({"name": name, "version": "1", "key": "k", "value": long(100_000)}),
    )
    .await;
    let got = t
        .post("registered-models/create", json!({"name": "m".repeat(257)}))
        .await;
    assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    for bad in ["a/b", "a:b", ".", "..x"] {
        let got = t
            .post("registered-models/create", json!({"name": bad}))
            .await;
        assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    }
    let got = t
        .post(
            "registered-models/rename",
            json!({"name": name, "new_name": "x/y"}),
        )
        .await;
    assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
}

async fn nul_bytes_are_refused_alike(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    for (path, body) in [
        (
            "runs/log-parameter",
            json!({"run_id": run, "key": "p", "value": "a\u{0}b"}),
        ),
        (
            "runs/set-tag",
            json!({"run_id": run, "key": "t\u{0}", "value": "v"}),
        ),
        ("experiments/create", json!({"name": "nul\u{0}"})),
    ] {
        let got = t.post(path, body).await;
        assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    }
    let got = t.get(&format!("runs/get?run_id={run}%00")).await;
    assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    assert_eq!(r["run"]["data"].get("params"), None, "nothing stored: {r}");
}

async fn history_pages_and_int64_ranges(b: Backend) {
    let t = app!(b);
    let run = t.create_run("0").await;
    let metrics: Vec<Value> = (0..3)
        .map(|i| json!({"key": "h", "value": i, "timestamp": i, "step": i}))
        .collect();
    t.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
        .await;
    // i64::MAX as max_results neither overflows nor lifts the page bound.
    let v = t
        .ok_get(&format!(
            "metrics/get-history?run_id={run}&metric_key=h&max_results=9223372036854775807"
        ))
        .await;
    assert_eq!(v["metrics"].as_array().map(Vec::len), Some(3));
    // A step outside int64 is refused, not clamped to i64::MAX.
    for step in [json!(1e30), json!(-1e30), json!(18446744073709551615u64)] {
        let got = t
            .post(
                "runs/log-metric",
                json!({"run_id": run, "key": "s", "value": 1, "timestamp": 1, "step": step}),
            )
            .await;
        assert_err(&got, 400, "INVALID_PARAMETER_VALUE");
    }
    let got = t
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "s", "value": 1, "timestamp": 1, "step": 9007199254740992.0}),
        )
        .await;
    assert_eq!(
        got.0, 200,
        "a whole float inside int64 is a step: {}",
        got.1
    );
}

/// Params, tags, metrics and experiment tags come back in the order they were first logged, as stock
/// lists them (it has no ORDER BY), not sorted by key; overwriting a tag keeps its place on SQLite.
async fn params_and_tags_in_logged_order(b: Backend) {
    let t = app!(b);
    let exp = t
        .ok(
            "experiments/create",
            json!({"name": "order", "tags": [{"key": "zz", "value": "1"}, {"key": "aa", "value": "2"},
                   {"key": "mm", "value": "3"}]}),
        )
        .await["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = t.create_run(&exp).await;
    t.ok(
        "runs/log-batch",
        json!({"run_id": run,
               "params": [{"key": "p_z", "value": "1"}, {"key": "p_a", "value": "2"}, {"key": "p_m", "value": "3"}],
               "tags": [{"key": "b_z", "value": "1"}, {"key": "b_a", "value": "1"}],
               "metrics": [{"key": "m_z", "value": 1, "timestamp": 1, "step": 0},
                           {"key": "m_a", "value": 1, "timestamp": 1, "step": 0}]}),
    )
    .await;
    t.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "p_0", "value": "x"}),
    )
    .await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    let data = &r["run"]["data"];
    assert_eq!(
        crate::common::keys(&data["params"]),
        ["p_z", "p_a", "p_m", "p_0"]
    );
    assert_eq!(crate::common::keys(&data["metrics"]), ["m_z", "m_a"]);
    let tags = crate::common::keys(&data["tags"]);
    assert_eq!(&tags[tags.len() - 2..], ["b_z", "b_a"]);
    let found = t.ok("runs/search", json!({"experiment_ids": [exp]})).await;
    assert_eq!(
        crate::common::keys(&found["runs"][0]["data"]["params"]),
        ["p_z", "p_a", "p_m", "p_0"]
    );
    let e = t
        .ok_get(&format!("experiments/get?experiment_id={exp}"))
        .await;
    assert_eq!(
        crate::common::keys(&e["experiment"]["tags"]),
        ["zz", "aa", "mm"]
    );
}

backend_tests!(
    params_and_tags_in_logged_order,
    host_header_and_security_headers,
    unknown_routes_and_methods,
    filters_are_bounded,
    long_values_are_stored,
    nul_bytes_are_refused_alike,
    history_pages_and_int64_ranges,
);
