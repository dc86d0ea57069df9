//! Logged models and the model registry: lifecycles, searches, and every error code of these routes.

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

async fn registered_models_and_aliases(b: Backend) {
    let t = app!(b);
    let v = t
        .ok(
            "registered-models/create",
            json!({"name": "m1", "description": "d", "tags": [{"key": "team", "value": "a"}]}),
        )
        .await;
    assert_eq!(v["registered_model"]["name"], "m1");
    assert_eq!(
        v["registered_model"]["tags"],
        json!([{"key": "team", "value": "a"}])
    );
    assert_err(
        &t.post("registered-models/create", json!({"name": "m1"}))
            .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    assert_err(
        &t.post("registered-models/create", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("registered-models/get?name=nope").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.get("registered-models/get").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    for _ in 0..2 {
        t.ok(
            "model-versions/create",
            json!({"name": "m1", "source": "s3://bucket/model"}),
        )
        .await;
    }
    // Aliases: set, move, reserved names, unknown alias is a 400.
    t.ok(
        "registered-models/alias",
        json!({"name": "m1", "alias": "prod", "version": "1"}),
    )
    .await;
    t.ok(
        "registered-models/alias",
        json!({"name": "m1", "alias": "prod", "version": 2}),
    )
    .await;
    let v = t.ok_get("registered-models/alias?name=m1&alias=prod").await;
    assert_eq!(
        (
            &v["model_version"]["version"],
            &v["model_version"]["aliases"]
        ),
        (&json!("2"), &json!(["prod"]))
    );
    assert_eq!(
        t.ok_get("registered-models/alias?name=m1&alias=latest")
            .await["model_version"]["version"],
        "2"
    );
    assert_eq!(
        t.ok_get("registered-models/alias?name=m1&alias=v1").await["model_version"]["version"],
        "1"
    );
    for bad in ["latest", "LATEST", "v3", "a b", "x/y"] {
        let r = t
            .post(
                "registered-models/alias",
                json!({"name": "m1", "alias": bad, "version": "1"}),
            )
            .await;
        assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    }
    assert_err(
        &t.post(
            "registered-models/alias",
            json!({"name": "m1", "alias": "x", "version": "9"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.post(
            "registered-models/alias",
            json!({"name": "m1", "alias": "x", "version": "abc"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("registered-models/alias?name=m1&alias=nope").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // Tags, rename (versions and aliases follow), update, latest versions.
    t.ok(
        "registered-models/set-tag",
        json!({"name": "m1", "key": "k", "value": "v"}),
    )
    .await;
    assert_err(
        &t.post(
            "registered-models/set-tag",
            json!({"name": "m1", "key": "../k", "value": "v"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "registered-models/set-tag",
            json!({"name": "nope", "key": "k", "value": "v"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(
        t.call(
            Method::DELETE,
            "registered-models/delete-tag",
            json!({"name": "m1", "key": "k"})
        )
        .await
        .0,
        200
    );
    t.ok("registered-models/create", json!({"name": "other"}))
        .await;
    assert_err(
        &t.post(
            "registered-models/rename",
            json!({"name": "m1", "new_name": "other"}),
        )
        .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    assert_err(
        &t.post("registered-models/rename", json!({"name": "m1"}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "registered-models/rename",
            json!({"name": "nope", "new_name": "x"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    t.ok(
        "registered-models/rename",
        json!({"name": "m1", "new_name": "m2"}),
    )
    .await;
    let v = t.ok_get("registered-models/get?name=m2").await["registered_model"].clone();
    assert_eq!(v["aliases"], json!([{"alias": "prod", "version": "2"}]));
    assert_eq!(v["latest_versions"][0]["name"], "m2");
    assert_eq!(
        t.ok_get("model-versions/get?name=m2&version=1").await["model_version"]["name"],
        "m2"
    );
    let (s, v) = t
        .call(
            Method::PATCH,
            "registered-models/update",
            json!({"name": "m2", "description": "new"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &v["registered_model"]["description"]),
        (200, &json!("new"))
    );
    assert_err(
        &t.call(
            Method::PATCH,
            "registered-models/update",
            json!({"name": "nope"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let v = t
        .ok(
            "registered-models/get-latest-versions",
            json!({"name": "m2", "stages": ["none"]}),
        )
        .await;
    assert_eq!(v["model_versions"][0]["version"], "2");
    assert_err(
        &t.post(
            "registered-models/get-latest-versions",
            json!({"name": "m2", "stages": ["Prod"]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // Search: filters, order, pages, limits.
    let names = |v: &Value| -> Vec<String> {
        v["registered_models"].as_array().map_or(vec![], |a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect()
        })
    };
    assert_eq!(
        names(&t.ok_get("registered-models/search").await),
        vec!["m2", "other"]
    );
    assert_eq!(
        names(
            &t.ok_get("registered-models/search?filter=name%20LIKE%20%27m%25%27")
                .await
        ),
        vec!["m2"]
    );
    assert_eq!(
        names(
            &t.ok_get("registered-models/search?filter=tags.team%3D%27a%27")
                .await
        ),
        vec!["m2"]
    );
    assert_eq!(
        names(
            &t.ok_get("registered-models/search?order_by=name%20DESC")
                .await
        ),
        vec!["other", "m2"]
    );
    let p1 = t.ok_get("registered-models/search?max_results=1").await;
    assert_eq!(names(&p1), vec!["m2"]);
    let tok = p1["next_page_token"].as_str().unwrap();
    assert_eq!(
        names(
            &t.ok_get(&format!(
                "registered-models/search?max_results=1&page_token={tok}"
            ))
            .await
        ),
        vec!["other"]
    );
    assert_err(
        &t.get("registered-models/search?max_results=1001").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("registered-models/search?filter=bogus%3D%3D").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("registered-models/search?order_by=run_id").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("registered-models/search?page_token=xyz").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    // Hard delete cascades to versions and aliases.
    assert_eq!(
        t.call(
            Method::DELETE,
            "registered-models/delete",
            json!({"name": "m2"})
        )
        .await
        .0,
        200
    );
    assert_err(
        &t.get("model-versions/get?name=m2&version=1").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.call(
            Method::DELETE,
            "registered-models/delete",
            json!({"name": "m2"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    t.ok("registered-models/create", json!({"name": "m2"}))
        .await;
    let v = t
        .ok(
            "model-versions/create",
            json!({"name": "m2", "source": "s3://b/m"}),
        )
        .await;
    assert_eq!(
        v["model_version"]["version"], "1",
        "a recreated model starts again"
    );
}

backend_tests!(logged_models, registered_models_and_aliases);
