//! MLflow 3 logged models: create, finalize, metrics via log-batch, tags, params, search, delete, errors.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn logged_models(b: Backend) {
    let t = app!(b);
    let exp = t.create_experiment("lm").await;
    let run = t.create_run(&exp).await;
    let create = |name: &str| {
        json!({"experiment_id": exp, "name": name, "source_run_id": run, "model_type": "clf",
               "params": [{"key": "alpha", "value": "0.1"}], "tags": [{"key": "t", "value": "1"}]})
    };
    let m1 = t.ok("logged-models", create("first")).await["model"].clone();
    let id1 = m1["info"]["model_id"].as_str().unwrap().to_string();
    assert!(id1.starts_with("m-") && id1.len() == 34, "{id1}");
    assert_eq!(m1["info"]["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(
        m1["info"]["artifact_uri"],
        format!("mlflow-artifacts:/{exp}/models/{id1}/artifacts")
    );
    assert_eq!(
        m1["data"]["params"],
        json!([{"key": "alpha", "value": "0.1"}])
    );
    let id2 = t.ok("logged-models", create("second")).await["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Finalize, metrics through log-batch, tags, params.
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("logged-models/{id1}"),
            json!({"model_id": id1, "status": "LOGGED_MODEL_READY"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &v["model"]["info"]["status"]),
        (200, &json!("LOGGED_MODEL_READY"))
    );
    t.ok(
        "runs/log-batch",
        json!({"run_id": run, "metrics": [
        {"key": "acc", "value": 0.5, "timestamp": 1, "step": 0, "model_id": id1},
        {"key": "acc", "value": 0.9, "timestamp": 2, "step": 1, "model_id": id1},
        {"key": "acc", "value": 0.7, "timestamp": 3, "step": 0, "model_id": id2}]}),
    )
    .await;
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("logged-models/{id1}/tags"),
            json!({"tags": [{"key": "k", "value": "a"}, {"key": "k", "value": "b"}]}),
        )
        .await;
    assert_eq!(s, 200);
    t.ok(
        &format!("logged-models/{id1}/params"),
        json!({"model_id": id1, "params": [{"key": "beta", "value": "2"}]}),
    )
    .await;
    let v = t.ok_get(&format!("logged-models/{id1}")).await;
    assert_eq!(
        v["model"]["info"]["tags"],
        json!([{"key": "k", "value": "b"}, {"key": "t", "value": "1"}])
    );
    assert_eq!(v["model"]["data"]["metrics"].as_array().unwrap().len(), 2);
    assert_eq!(v["model"]["data"]["metrics"][0]["run_id"], json!(run));
    // Search: filter on attributes, metrics, params and tags; order by a metric's latest value.
    let search = |body: Value| async { t.ok("logged-models/search", body).await };
    let ids = |v: &Value| -> Vec<String> {
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["info"]["model_id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = search(json!({"experiment_ids": [exp]})).await;
    assert_eq!(
        ids(&all),
        vec![id2.clone(), id1.clone()],
        "default order: newest first"
    );
    let v = search(json!({"experiment_ids": [exp], "filter": "name = 'first' AND params.beta = '2' AND tags.k = 'b'"})).await;
    assert_eq!(ids(&v), vec![id1.clone()]);
    let v = search(json!({"experiment_ids": [exp], "filter": "metrics.acc > 0.8"})).await;
    assert_eq!(ids(&v), vec![id1.clone()]);
    let v = search(json!({"experiment_ids": [exp], "order_by": [{"field_name": "metrics.acc", "ascending": true}]})).await;
    assert_eq!(
        ids(&v),
        vec![id2.clone(), id1.clone()],
        "latest acc: 0.7 < 0.9"
    );
    let v = search(json!({"experiment_ids": [exp], "filter": "attributes.model_id IN ('{id1}')".replace("{id1}", &id1)})).await;
    assert_eq!(ids(&v), vec![id1.clone()]);
    let p1 = search(json!({"experiment_ids": [exp], "max_results": 1})).await;
    assert_eq!(ids(&p1).len(), 1);
    let p2 = search(
        json!({"experiment_ids": [exp], "max_results": 1, "page_token": p1["next_page_token"]}),
    )
    .await;
    assert_eq!(ids(&p2), vec![id1.clone()]);
    // Delete: hidden unless allow_deleted.
    assert_eq!(
        t.call(Method::DELETE, &format!("logged-models/{id2}"), json!({}))
            .await
            .0,
        200
    );
    assert_err(
        &t.get(&format!("logged-models/{id2}")).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(
        t.ok_get(&format!("logged-models/{id2}?allow_deleted=true"))
            .await["model"]["info"]["model_id"],
        json!(id2)
    );
    // Errors.
    assert_err(
        &t.post("logged-models", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("logged-models", json!({"experiment_id": "999"}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.post(
            "logged-models",
            json!({"experiment_id": exp, "tags": [{"key": "../x"}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("logged-models/m-00000000000000000000000000000000")
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let r = t
        .call(
            Method::PATCH,
            &format!("logged-models/{id1}"),
            json!({"status": "DONE"}),
        )
        .await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    let r = t
        .call(
            Method::DELETE,
            &format!("logged-models/{id1}/tags/missing"),
            json!({}),
        )
        .await;
    assert_err(&r, 404, "RESOURCE_DOES_NOT_EXIST");
    assert_err(
        &t.post("logged-models/search", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "logged-models/search",
            json!({"experiment_ids": [exp], "filter": "nope.x = 1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "logged-models/search",
            json!({"experiment_ids": [exp], "order_by": [{"ascending": true}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
}

backend_tests!(logged_models);
