//! Serving without Python on both backends: refs resolve through the registry, the scan gate refuses
//! what has not passed (until an override), and each served version's OpenAPI document, the index,
//! Swagger UI's selector and the dashboard list what they should. Workers are tested against a real
//! `mlflow models serve` in compat-tests/test_serving.py.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::Backend;
use crate::scans::{malicious_model, template_files, template_model};
use crate::{app, backend_tests, eventually};

macro_rules! get {
    ($t:expr, $uri:expr) => {{
        let (s, h, body) = $t.raw(TestRequest::get().uri(&$uri)).await;
        let text = String::from_utf8_lossy(&body).to_string();
        (s, h, text)
    }};
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn gated_resolved_and_documented(b: Backend) {
    let t = app!(b, |c| c.job_poll_ms = 20);
    let good = register!(t, "srv-good", template_files(template_model()));
    assert_eq!(settled!(t, "srv-good", good)["status"], "passed");
    let bad = register!(t, "srv-bad", template_files(&malicious_model()));
    assert_eq!(settled!(t, "srv-bad", bad)["status"], "failed");

    // The gate: a 403 naming the status and the report, for invocations and documents alike.
    let (s, _, body) = t
        .raw(
            TestRequest::post()
                .uri("/serving/srv-bad/latest/invocations")
                .set_json(
                    json!({"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.0, 2.0]]}}),
                ),
        )
        .await;
    let e = json_of(&String::from_utf8_lossy(&body));
    assert_eq!(
        (s, e["error_code"].as_str()),
        (403, Some("PERMISSION_DENIED")),
        "{e}"
    );
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("'failed'") && msg.contains("/api/harvester/v1/scans/srv-bad/1"),
        "{msg}"
    );
    assert_eq!(
        get!(t, "/serving/srv-bad/1/openapi.json".to_string()).0,
        403
    );

    // Refs: unknown alias 400 (as MLflow's get-by-alias), empty stage 404, nonsense 400, no model 404.
    assert_eq!(
        get!(t, "/serving/srv-good/@nope/openapi.json".to_string()).0,
        400
    );
    assert_eq!(
        get!(t, "/serving/srv-good/Staging/openapi.json".to_string()).0,
        404
    );
    assert_eq!(
        get!(t, "/serving/srv-good/v-one/openapi.json".to_string()).0,
        400
    );
    assert_eq!(get!(t, "/serving/nobody/1/openapi.json".to_string()).0, 404);

    // The version's document, from its signature.
    let (s, _, text) = get!(t, "/serving/srv-good/latest/openapi.json".to_string());
    assert_eq!(s, 200, "{text}");
    let doc = json_of(&text);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], "1");
    let post = &doc["paths"]["/serving/srv-good/latest/invocations"]["post"];
    let content = &post["requestBody"]["content"]["application/json"];
    let titles: Vec<&str> = content["schema"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "dataframe_split",
            "dataframe_records",
            "instances",
            "inputs"
        ]
    );
    let split = &content["schema"]["oneOf"][0]["properties"]["dataframe_split"];
    assert_eq!(
        split["properties"]["columns"]["items"]["enum"],
        json!(["x1", "x2"])
    );
    assert_eq!(
        split["properties"]["data"]["items"]["prefixItems"][1],
        json!({"type": "number", "format": "double"})
    );
    assert_eq!(
        content["examples"]["dataframe_records"]["value"],
        json!({"dataframe_records": [{"x1": 0.5, "x2": 0.5}]})
    );
    let out = &post["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(
        out["properties"]["predictions"]["items"]["properties"]["score"]["type"],
        "number"
    );

    // An alias resolves to its version, and follows it.
    t.ok(
        "registered-models/alias",
        json!({"name": "srv-good", "alias": "champ", "version": good}),
    )
    .await;
    let doc = json_of(&get!(t, "/serving/srv-good/@champ/openapi.json".to_string()).2);
    assert_eq!(doc["info"]["x-harvester"]["aliases"], json!(["champ"]));

    // Index, Swagger UI's selector and the dashboard: the served version, not the refused one.
    let index = json_of(&get!(t, "/serving/openapi.json".to_string()).2);
    let listed: Vec<&str> = index["x-harvester-models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["srv-good"]);
    let (s, h, _) = get!(t, "/serving/docs/".to_string());
    assert_eq!((s, h["content-type"].as_str()), (200, "text/html"));
    let init = get!(t, "/serving/docs/swagger-initializer.js".to_string()).2;
    assert!(
        init.contains("/serving/srv-good/1/openapi.json") && !init.contains("srv-bad"),
        "{init}"
    );
    let (s, _, page) = get!(t, "/serving/".to_string());
    assert_eq!(s, 200);
    for want in [
        "srv-good",
        "srv-bad",
        ">passed<",
        ">failed<",
        "@champ",
        "/serving/srv-good/1/invocations",
    ] {
        assert!(page.contains(want), "{want} in the dashboard");
    }
    assert!(
        !page.contains("/serving/srv-bad/1/invocations"),
        "a refused version has no invocation link"
    );

    // An override lets the refused version through the gate.
    let (s, _, _) = t
        .raw(
            TestRequest::post()
                .uri("/api/harvester/v1/scans/srv-bad/1/override")
                .set_json(json!({"status": "passed", "reason": "reviewed"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        get!(t, "/serving/srv-bad/1/openapi.json".to_string()).0,
        200
    );
}

backend_tests!(gated_resolved_and_documented);
