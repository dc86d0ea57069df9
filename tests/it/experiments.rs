//! Experiments: CRUD, uniqueness across lifecycle stages, cascade to runs, tags, search.

use serde_json::json;

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

async fn default_experiment(b: Backend) {
    let t = app!(b);
    let v = t.ok_get("experiments/get?experiment_id=0").await;
    assert_eq!(v["experiment"]["name"], "Default");
    assert_eq!(v["experiment"]["artifact_location"], "mlflow-artifacts:/0");
    assert_eq!(v["experiment"]["lifecycle_stage"], "active");
}

async fn create_get_and_errors(b: Backend) {
    let t = app!(b);
    let id = t.create_experiment("exp-a").await;
    assert_eq!(id, "1");
    let v = t
        .ok_get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(v["experiment"]["artifact_location"], "mlflow-artifacts:/1");
    assert!(v["experiment"]["creation_time"].is_i64());
    let v = t
        .ok_get("experiments/get-by-name?experiment_name=exp-a")
        .await;
    assert_eq!(v["experiment"]["experiment_id"], "1");
    assert_err(
        &t.post("experiments/create", json!({"name": "exp-a"})).await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    assert_err(
        &t.post("experiments/create", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("experiments/create", json!({"name": ""})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("experiments/create", json!({"name": "x".repeat(501)}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "experiments/create",
            json!({"name": "r", "artifact_location": "runs:/x"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("experiments/get?experiment_id=999").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.get("experiments/get?experiment_id=abc").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("experiments/get").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.get("experiments/get-by-name?experiment_name=nope").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let v = t
        .ok(
            "experiments/create",
            json!({"name": "with-loc", "artifact_location": "s3://bucket/p"}),
        )
        .await;
    let loc = t
        .ok_get(&format!(
            "experiments/get?experiment_id={}",
            v["experiment_id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(loc["experiment"]["artifact_location"], "s3://bucket/p");
}

async fn delete_restore_cascade(b: Backend) {
    let t = app!(b);
    let id = t.create_experiment("gone").await;
    let run = t.create_run(&id).await;
    t.ok("experiments/delete", json!({"experiment_id": id}))
        .await;
    let v = t
        .ok_get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(v["experiment"]["lifecycle_stage"], "deleted");
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    assert_eq!(r["run"]["info"]["lifecycle_stage"], "deleted");
    // Names stay unique across deleted experiments; a deleted one is still found by name.
    assert_err(
        &t.post("experiments/create", json!({"name": "gone"})).await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    t.ok_get("experiments/get-by-name?experiment_name=gone")
        .await;
    assert_err(
        &t.post("experiments/delete", json!({"experiment_id": id}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.post("runs/create", json!({"experiment_id": id})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "experiments/update",
            json!({"experiment_id": id, "new_name": "x"}),
        )
        .await,
        400,
        "INVALID_STATE",
    );
    t.ok("experiments/restore", json!({"experiment_id": id}))
        .await;
    let r = t.ok_get(&format!("runs/get?run_id={run}")).await;
    assert_eq!(r["run"]["info"]["lifecycle_stage"], "active");
    assert_err(
        &t.post("experiments/restore", json!({"experiment_id": id}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.post("experiments/delete", json!({"experiment_id": "424242"}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

async fn rename_and_tags(b: Backend) {
    let t = app!(b);
    let id = t.create_experiment("old").await;
    t.create_experiment("taken").await;
    t.ok(
        "experiments/update",
        json!({"experiment_id": id, "new_name": "new"}),
    )
    .await;
    assert_eq!(
        t.ok_get(&format!("experiments/get?experiment_id={id}"))
            .await["experiment"]["name"],
        "new"
    );
    assert_err(
        &t.post(
            "experiments/update",
            json!({"experiment_id": id, "new_name": "taken"}),
        )
        .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    assert_err(
        &t.post("experiments/update", json!({"experiment_id": id}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    t.ok(
        "experiments/set-experiment-tag",
        json!({"experiment_id": id, "key": "k", "value": "v1"}),
    )
    .await;
    t.ok(
        "experiments/set-experiment-tag",
        json!({"experiment_id": id, "key": "k", "value": "v2"}),
    )
    .await;
    let v = t
        .ok_get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(
        v["experiment"]["tags"],
        json!([{"key": "k", "value": "v2"}])
    );
    let long = "x".repeat(20001);
    assert_err(
        &t.post(
            "experiments/set-experiment-tag",
            json!({"experiment_id": id, "key": "k", "value": long}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    t.ok(
        "experiments/delete-experiment-tag",
        json!({"experiment_id": id, "key": "k"}),
    )
    .await;
    assert_err(
        &t.post(
            "experiments/delete-experiment-tag",
            json!({"experiment_id": id, "key": "k"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

async fn search_experiments(b: Backend) {
    let t = app!(b);
    for n in ["alpha", "beta", "Gamma"] {
        let id = t.create_experiment(n).await;
        t.ok(
            "experiments/set-experiment-tag",
            json!({"experiment_id": id, "key": "team", "value": n}),
        )
        .await;
    }
    assert_err(
        &t.post("experiments/search", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("experiments/search", json!({"max_results": 50001}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let v = t.ok("experiments/search", json!({"max_results": 10})).await;
    assert_eq!(v["experiments"].as_array().map(|a| a.len()), Some(4));
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "filter": "name LIKE '%a'", "order_by": ["name ASC"]}),
        )
        .await;
    let names: Vec<&str> = v["experiments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Gamma", "alpha", "beta"]);
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "filter": "name ILIKE 'g%'"}),
        )
        .await;
    assert_eq!(v["experiments"][0]["name"], "Gamma");
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "filter": "tags.team = 'beta'"}),
        )
        .await;
    assert_eq!(v["experiments"].as_array().map(|a| a.len()), Some(1));
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "filter": "tags.`team` IS NULL"}),
        )
        .await;
    assert_eq!(v["experiments"][0]["name"], "Default");
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "filter": "experiment_id IN ('1', '2')"}),
        )
        .await;
    assert_eq!(v["experiments"].as_array().map(|a| a.len()), Some(2));
    let page1 = t.ok("experiments/search", json!({"max_results": 3})).await;
    let token = page1["next_page_token"]
        .as_str()
        .expect("token")
        .to_string();
    let page2 = t
        .ok(
            "experiments/search",
            json!({"max_results": 3, "page_token": token}),
        )
        .await;
    assert_eq!(page2["experiments"].as_array().map(|a| a.len()), Some(1));
    assert!(page2.get("next_page_token").is_none());
    let g = t
        .ok_get("experiments/search?max_results=2&order_by=name+DESC")
        .await;
    assert_eq!(g["experiments"][0]["name"], "beta");
    assert_err(
        &t.post(
            "experiments/search",
            json!({"max_results": 5, "filter": "name = 'a' OR name = 'b'"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "experiments/search",
            json!({"max_results": 5, "filter": "params.a = 'b'"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "experiments/search",
            json!({"max_results": 5, "page_token": "!!notatoken"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    t.ok("experiments/delete", json!({"experiment_id": "1"}))
        .await;
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "view_type": "DELETED_ONLY"}),
        )
        .await;
    assert_eq!(v["experiments"][0]["name"], "alpha");
    let v = t
        .ok(
            "experiments/search",
            json!({"max_results": 10, "view_type": "ALL"}),
        )
        .await;
    assert_eq!(v["experiments"].as_array().map(|a| a.len()), Some(4));
    assert_err(
        &t.post(
            "experiments/search",
            json!({"max_results": 10, "view_type": "BOGUS"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
}

backend_tests!(
    default_experiment,
    create_get_and_errors,
    delete_restore_cascade,
    rename_and_tags,
    search_experiments
);
