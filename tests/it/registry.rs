//! Registered models and aliases: lifecycle, rename, searches, and every error code of these routes.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

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

/// Registered-model and version tags in the order they were first set, as stock 3.17.2 lists them
/// (checked against its SqlAlchemyStore: zz, aa, mm), not sorted by key.
async fn registry_tags_in_set_order(b: Backend) {
    let t = app!(b);
    let tags = json!([{"key": "zz", "value": "1"}, {"key": "aa", "value": "2"}]);
    t.ok(
        "registered-models/create",
        json!({"name": "ord", "tags": tags}),
    )
    .await;
    t.ok(
        "registered-models/set-tag",
        json!({"name": "ord", "key": "mm", "value": "3"}),
    )
    .await;
    t.ok(
        "model-versions/create",
        json!({"name": "ord", "source": "s3://b/m", "tags": tags}),
    )
    .await;
    t.ok(
        "model-versions/set-tag",
        json!({"name": "ord", "version": "1", "key": "mm", "value": "3"}),
    )
    .await;
    let m = t.ok_get("registered-models/get?name=ord").await;
    assert_eq!(
        crate::common::keys(&m["registered_model"]["tags"]),
        ["zz", "aa", "mm"]
    );
    let v = t.ok_get("model-versions/get?name=ord&version=1").await;
    // Harvester's scanner adds its own `harvester.scan.*` tags (service::scans); the client's keep their order.
    let keys: Vec<String> = crate::common::keys(&v["model_version"]["tags"])
        .into_iter()
        .filter(|k| !k.starts_with("harvester.scan."))
        .collect();
    assert_eq!(keys, ["zz", "aa", "mm"]);
}

backend_tests!(registered_models_and_aliases, registry_tags_in_set_order);
