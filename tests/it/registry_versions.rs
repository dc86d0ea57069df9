//! Model versions: source validation (§7.4), stages, soft delete, tags, download URI, search, prompts.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn create_and_validate_sources(b: Backend) {
    let t = app!(b);
    let exp = t.create_experiment("mv").await;
    let run = t.create_run(&exp).await;
    let lm = t
        .ok(
            "logged-models",
            json!({"experiment_id": exp, "name": "model", "source_run_id": run}),
        )
        .await;
    let mid = lm["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_string();
    let loc = lm["model"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .to_string();
    t.ok("registered-models/create", json!({"name": "m"})).await;
    // models:/<model_id>: storage location and run filled from the logged model, registration recorded.
    let v = t
        .ok(
            "model-versions/create",
            json!({"name": "m", "source": format!("models:/{mid}"), "model_id": mid}),
        )
        .await;
    let mv = &v["model_version"];
    assert_eq!(
        (&mv["version"], &mv["status"], &mv["run_id"]),
        (&json!("1"), &json!("READY"), &json!(run))
    );
    assert_eq!(
        (&mv["description"], &mv["run_link"], &mv["current_stage"]),
        (&json!(""), &json!(""), &json!("None"))
    );
    assert_eq!(
        t.ok_get("model-versions/get-download-uri?name=m&version=1")
            .await["artifact_uri"],
        json!(loc)
    );
    let tags = t.ok_get(&format!("logged-models/{mid}")).await["model"]["info"]["tags"].clone();
    assert_eq!(
        tags,
        // json.dumps' separators, byte for byte as stock writes the tag.
        json!([{"key": "mlflow.modelVersions", "value": "[{\"name\": \"m\", \"version\": 1}]"}])
    );
    // models:/<name>/<version> resolves to that version's storage.
    let v = t
        .ok(
            "model-versions/create",
            json!({"name": "m", "source": "models:/m/1"}),
        )
        .await;
    assert_eq!(v["model_version"]["version"], "2");
    assert_eq!(
        t.ok_get("model-versions/get-download-uri?name=m&version=2")
            .await["artifact_uri"],
        json!(loc)
    );
    // Accepted as given: runs:/ with the matching run, an artifact URI under the run, other remote URIs.
    for (source, run_id) in [
        (format!("runs:/{run}/model"), Some(run.clone())),
        (
            format!("mlflow-artifacts:/{exp}/{run}/artifacts/model"),
            Some(run.clone()),
        ),
        ("s3://bucket/path/model".to_string(), None),
        (format!("{loc}/sub"), None),
    ] {
        let mut body = json!({"name": "m", "source": source});
        if let Some(r) = run_id {
            body["run_id"] = json!(r);
        }
        t.ok("model-versions/create", body).await;
    }
    // Rejected.
    let bad: Vec<(Value, u16, &str)> = vec![
        (json!({"name": "m"}), 400, "INVALID_PARAMETER_VALUE"),
        (
            json!({"source": "s3://b/m"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "nope", "source": "s3://b/m"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            json!({"name": "m", "source": "s3://b/../secret"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": "s3://b/%2e%2e/secret"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": "s3://b/m\u{0}x"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": "runs:/0123456789abcdef0123456789abcdef/model", "run_id": run}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": format!("mlflow-artifacts:/{exp}/other/artifacts"), "run_id": run}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": "models:/m-00000000000000000000000000000000"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            json!({"name": "m", "source": format!("models:/{mid}"), "model_id": "m-1"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": format!("runs:/{run}/model"), "model_id": mid}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": "mlflow-artifacts:/elsewhere", "model_id": mid}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "m", "source": "models:/m/99"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            json!({"name": "m", "source": "s3://b/m", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
    ];
    for (body, status, code) in bad {
        let r = t.post("model-versions/create", body.clone()).await;
        assert_eq!(r.0.as_u16(), status, "{body} -> {r:?}");
        assert_eq!(r.1["error_code"], code, "{body}");
    }
}

async fn stages_tags_delete_search(b: Backend) {
    let t = app!(b);
    t.ok("registered-models/create", json!({"name": "s"})).await;
    for _ in 0..3 {
        t.ok(
            "model-versions/create",
            json!({"name": "s", "source": "s3://b/m"}),
        )
        .await;
    }
    let stage = |v: &str, s: &str, archive: bool| json!({"name": "s", "version": v, "stage": s, "archive_existing_versions": archive});
    let v = t
        .ok(
            "model-versions/transition-stage",
            stage("1", "production", false),
        )
        .await;
    assert_eq!(v["model_version"]["current_stage"], "Production");
    t.ok(
        "model-versions/transition-stage",
        stage("2", "Production", true),
    )
    .await;
    assert_eq!(
        t.ok_get("model-versions/get?name=s&version=1").await["model_version"]["current_stage"],
        "Archived"
    );
    assert_err(
        &t.post("model-versions/transition-stage", stage("3", "Live", false))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "model-versions/transition-stage",
            stage("3", "Archived", true),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "model-versions/transition-stage",
            stage("9", "Staging", false),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.post(
            "model-versions/transition-stage",
            json!({"name": "s", "version": "1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // Tags, update.
    t.ok(
        "model-versions/set-tag",
        json!({"name": "s", "version": "3", "key": "q", "value": "hi"}),
    )
    .await;
    assert_err(
        &t.post(
            "model-versions/set-tag",
            json!({"name": "s", "version": "3", "key": "", "value": "x"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "model-versions/set-tag",
            json!({"name": "s", "version": "7", "key": "k", "value": "x"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (s, v) = t
        .call(
            Method::PATCH,
            "model-versions/update",
            json!({"name": "s", "version": "3", "description": "best"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &v["model_version"]["description"]),
        (200, &json!("best"))
    );
    assert_err(
        &t.get("model-versions/get?name=s&version=abc").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("model-versions/get?name=s").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // Search: default order (last updated first), filters, order_by.
    let versions = |v: &Value| -> Vec<String> {
        v["model_versions"].as_array().map_or(vec![], |a| {
            a.iter()
                .map(|m| m["version"].as_str().unwrap().to_string())
                .collect()
        })
    };
    assert_eq!(
        versions(
            &t.ok_get("model-versions/search?filter=name%3D%27s%27")
                .await
        ),
        vec!["3", "2", "1"]
    );
    assert_eq!(
        versions(
            &t.ok_get("model-versions/search?filter=tags.q%3D%27hi%27")
                .await
        ),
        vec!["3"]
    );
    assert_eq!(
        versions(
            &t.ok_get(
                "model-versions/search?filter=version_number%3C%3D2&order_by=version_number%20ASC"
            )
            .await
        ),
        vec!["1", "2"]
    );
    assert_eq!(
        versions(
            &t.ok_get(
                "model-versions/search?filter=source_path%20LIKE%20%27s3%3A%25%27&max_results=1"
            )
            .await
        )
        .len(),
        1
    );
    assert_err(
        &t.get("model-versions/search?filter=stage%3D%27x%27").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // Soft delete: gone from reads and searches, aliases removed, number kept.
    t.ok(
        "registered-models/alias",
        json!({"name": "s", "alias": "a", "version": "3"}),
    )
    .await;
    assert_eq!(
        t.call(
            Method::DELETE,
            "model-versions/delete",
            json!({"name": "s", "version": "3"})
        )
        .await
        .0,
        200
    );
    assert_err(
        &t.get("model-versions/get?name=s&version=3").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.call(
            Method::DELETE,
            "model-versions/delete",
            json!({"name": "s", "version": "3"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.get("registered-models/alias?name=s&alias=a").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_eq!(
        versions(
            &t.ok_get("model-versions/search?filter=name%3D%27s%27")
                .await
        ),
        vec!["2", "1"]
    );
    let v = t
        .ok(
            "model-versions/create",
            json!({"name": "s", "source": "s3://b/m"}),
        )
        .await;
    assert_eq!(v["model_version"]["version"], "4");
}

async fn prompts_are_excluded_unless_asked(b: Backend) {
    let t = app!(b);
    let prompt_tag = json!([{"key": "mlflow.prompt.is_prompt", "value": "true"}]);
    t.ok(
        "registered-models/create",
        json!({"name": "p", "tags": prompt_tag}),
    )
    .await;
    t.ok("registered-models/create", json!({"name": "model"}))
        .await;
    let tags = json!([{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "Hi {{x}}"}]);
    t.ok(
        "model-versions/create",
        json!({"name": "p", "source": "dummy-source", "tags": tags}),
    )
    .await;
    t.ok(
        "model-versions/create",
        json!({"name": "model", "source": "s3://b/m"}),
    )
    .await;
    let names = |v: &Value, field: &str| -> Vec<String> {
        v[field].as_array().map_or(vec![], |a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect()
        })
    };
    let q = |f: &str| {
        f.replace(' ', "%20")
            .replace('`', "%60")
            .replace('=', "%3D")
            .replace('\'', "%27")
            .replace('!', "%21")
    };
    assert_eq!(
        names(
            &t.ok_get("registered-models/search").await,
            "registered_models"
        ),
        vec!["model"]
    );
    let client_default = q("tags.`mlflow.prompt.is_prompt` != 'true'");
    assert_eq!(
        names(
            &t.ok_get(&format!("registered-models/search?filter={client_default}"))
                .await,
            "registered_models"
        ),
        vec!["model"]
    );
    let prompts = q("tags.`mlflow.prompt.is_prompt` = 'true'");
    assert_eq!(
        names(
            &t.ok_get(&format!("registered-models/search?filter={prompts}"))
                .await,
            "registered_models"
        ),
        vec!["p"]
    );
    assert_eq!(
        names(&t.ok_get("model-versions/search").await, "model_versions"),
        vec!["model"]
    );
    assert_eq!(
        names(
            &t.ok_get(&format!("model-versions/search?filter={prompts}"))
                .await,
            "model_versions"
        ),
        vec!["p"]
    );
}

backend_tests!(
    create_and_validate_sources,
    stages_tags_delete_search,
    prompts_are_excluded_unless_asked
);
