//! The AI gateway's configuration on both backends, answered in stock 3.17.2's shapes (recorded from a
//! throwaway `mlflow server` with curl): secrets sealed at rest and shown masked, model definitions on a
//! secret, endpoints on definitions (with the usage experiment stock makes), budget policies; stock's
//! errors; and with auth on, the creator's MANAGE, a reader who may read but not change, listings that
//! hold only what a user may read, and admin-only budget writes.

use actix_web::test::TestRequest;
use harvester::auth::{users, Permission};
use serde_json::{json, Value};

use crate::app;
use crate::backend_tests;
use crate::common::{assert_err, basic_auth, Backend};

const G: &str = "/api/3.0/mlflow/gateway";
const PASSWORD: &str = "gateway-password-1234";

fn post(path: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("{G}/{path}"))
        .set_json(body)
}

fn get(path: &str) -> TestRequest {
    TestRequest::get().uri(&format!("{G}/{path}"))
}

fn delete(path: &str, body: Value) -> TestRequest {
    TestRequest::delete()
        .uri(&format!("{G}/{path}"))
        .set_json(body)
}

async fn configuration_round_trip(b: Backend) {
    let t = app!(b);
    let (s, r) = t
        .send(post(
            "secrets/create",
            json!({"secret_name": "s1", "provider": "openai",
            "secret_value": {"api_key": "sk-test-abcdef123456"}}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let sec = &r["secret"];
    let sid = sec["secret_id"].as_str().unwrap().to_string();
    assert!(sid.starts_with("s-") && sid.len() == 34, "{sid}");
    assert_eq!(sec["masked_values"], json!({"api_key": "sk-...3456"}));
    assert!(
        sec.get("auth_config").is_none() && sec.get("created_by").is_none(),
        "{sec}"
    );
    assert_err(
        &t.send(post(
            "secrets/create",
            json!({"secret_name": "s1", "secret_value": {"api_key": "x"}}),
        ))
        .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    assert_err(
        &t.send(post("secrets/create", json!({"secret_value": {}})))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let steer = t
        .send(post(
            "secrets/create",
            json!({"secret_name": "s9", "secret_value": {"base_url": "x"}}),
        ))
        .await;
    assert_err(&steer, 400, "INVALID_PARAMETER_VALUE");
    let (_, aws) = t
        .send(post("secrets/create", json!({"secret_name": "s3", "provider": "bedrock",
            "secret_value": {"aws_access_key_id": "AKIAABCDEFGH1234", "aws_secret_access_key": "abc"},
            "auth_config": {"aws_region_name": "us-east-1"}})))
        .await;
    assert_eq!(
        aws["secret"]["masked_values"],
        json!({"aws_access_key_id": "AKI...1234", "aws_secret_access_key": "***"})
    );
    assert_eq!(
        aws["secret"]["auth_config"],
        json!({"aws_region_name": "us-east-1"})
    );
    let (_, listed) = t.send(get("secrets/list?provider=openai")).await;
    assert_eq!(
        listed["secrets"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let (_, upd) = t
        .send(post(
            "secrets/update",
            json!({"secret_id": sid, "secret_value": {"api_key": "sk-new-key-999999"}}),
        ))
        .await;
    assert_eq!(upd["secret"]["masked_values"]["api_key"], "sk-...9999");

    let (s, r) = t
        .send(post(
            "model-definitions/create",
            json!({"name": "md1", "secret_id": sid,
            "provider": "openai", "model_name": "gpt-4"}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let md = r["model_definition"]["model_definition_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r["model_definition"]["secret_name"], "s1");
    let missing = t
        .send(post(
            "model-definitions/create",
            json!({"name": "md2", "secret_id": "nope",
            "provider": "openai", "model_name": "gpt-4"}),
        ))
        .await;
    assert_err(&missing, 404, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        missing.1["message"],
        "GatewaySecret not found (secret_id='nope')"
    );

    let configs = json!([{"model_definition_id": md, "linkage_type": "PRIMARY"}]);
    let (s, r) = t
        .send(post(
            "endpoints/create",
            json!({"name": "ep1", "model_configs": configs}),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let ep = &r["endpoint"];
    let eid = ep["endpoint_id"].as_str().unwrap().to_string();
    assert_eq!(
        (ep["created_by"].clone(), ep["usage_tracking"].clone()),
        (json!(""), json!(true))
    );
    let m = &ep["model_mappings"][0];
    assert_eq!(
        (m["weight"].clone(), m["linkage_type"].clone()),
        (json!(1.0), json!("PRIMARY"))
    );
    assert_eq!(m["model_definition"]["name"], "md1");
    // Usage is traced to `gateway/<name>`, tagged as stock tags it.
    let exp_id = ep["experiment_id"].as_str().unwrap();
    let (_, exp) = t
        .send(TestRequest::get().uri(&format!(
            "/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"
        )))
        .await;
    assert_eq!(exp["experiment"]["name"], "gateway/ep1");
    assert!(
        exp["experiment"]["tags"].to_string().contains(&eid),
        "{exp}"
    );
    for (body, code) in [
        (
            json!({"name": "ep1", "model_configs": configs}),
            "RESOURCE_ALREADY_EXISTS",
        ),
        (
            json!({"name": "ep 2", "model_configs": configs}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "ep2", "model_configs": [{"model_definition_id": md}]}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"name": "ep2", "model_configs": []}),
            "INVALID_PARAMETER_VALUE",
        ),
    ] {
        assert_err(&t.send(post("endpoints/create", body)).await, 400, code);
    }
    let (_, by_name) = t.send(get("endpoints/get?name=ep1")).await;
    assert_eq!(by_name["endpoint"]["endpoint_id"], eid.as_str());
    let (_, two) = t
        .send(post(
            "endpoints/update",
            json!({"endpoint_id": eid, "name": "ep-renamed",
            "fallback_config": {"strategy": "SEQUENTIAL", "max_attempts": 2},
            "model_configs": [{"model_definition_id": md, "linkage_type": "PRIMARY", "weight": 0.5},
                {"model_definition_id": md, "linkage_type": "FALLBACK", "fallback_order": 1}]}),
        ))
        .await;
    let e2 = &two["endpoint"];
    assert_eq!(e2["name"], "ep-renamed");
    assert_eq!(
        e2["fallback_config"],
        json!({"strategy": "SEQUENTIAL", "max_attempts": 2})
    );
    let kinds: Vec<&str> = e2["model_mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["linkage_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PRIMARY", "FALLBACK"], "{two}");
    assert_eq!(
        t.send(post(
            "endpoints/set-tag",
            json!({"endpoint_id": eid, "key": "team", "value": "vision"})
        ))
        .await
        .0,
        200
    );
    let (_, tagged) = t
        .send(get(&format!("endpoints/get?endpoint_id={eid}")))
        .await;
    assert_eq!(
        tagged["endpoint"]["tags"],
        json!([{"key": "team", "value": "vision"}])
    );

    // One more model attached and detached; a scorer bound to the endpoint and unbound.
    let (_, md2) = t
        .send(post(
            "model-definitions/create",
            json!({"name": "md2", "secret_id": sid,
            "provider": "openai", "model_name": "gpt-3.5-turbo"}),
        ))
        .await;
    let md2 = md2["model_definition"]["model_definition_id"]
        .as_str()
        .unwrap()
        .to_string();
    let attach = json!({"endpoint_id": eid, "model_config": {"model_definition_id": md2,
        "linkage_type": "PRIMARY", "weight": 1.0}});
    let (s, m) = t
        .send(post("endpoints/models/attach", attach.clone()))
        .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["mapping"]["model_definition_id"], md2.as_str());
    assert_err(
        &t.send(post("endpoints/models/attach", attach)).await,
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    let (_, three) = t
        .send(get(&format!("endpoints/get?endpoint_id={eid}")))
        .await;
    assert_eq!(
        three["endpoint"]["model_mappings"].as_array().map(Vec::len),
        Some(3)
    );
    let detach = json!({"endpoint_id": eid, "model_definition_id": md2});
    assert_eq!(
        t.send(post("endpoints/models/detach", detach.clone()))
            .await
            .0,
        200
    );
    assert_err(
        &t.send(post("endpoints/models/detach", detach)).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let bind = json!({"endpoint_id": eid, "resource_type": "scorer", "resource_id": "job-1"});
    let (s, bd) = t
        .send(post("endpoints/bindings/create", bind.clone()))
        .await;
    assert_eq!(
        (s.as_u16(), bd["binding"]["resource_id"].clone()),
        (200, json!("job-1")),
        "{bd}"
    );
    let (_, listed) = t
        .send(get(&format!("endpoints/bindings/list?endpoint_id={eid}")))
        .await;
    assert_eq!(
        listed["bindings"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(
        t.send(delete("endpoints/bindings/delete", bind.clone()))
            .await
            .0,
        200
    );
    assert_err(
        &t.send(delete("endpoints/bindings/delete", bind)).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // A definition in use cannot go; a secret can, leaving its definitions without one.
    assert_err(
        &t.send(delete(
            "model-definitions/delete",
            json!({"model_definition_id": md}),
        ))
        .await,
        400,
        "INVALID_STATE",
    );
    assert_eq!(
        t.send(delete("secrets/delete", json!({"secret_id": sid})))
            .await
            .0,
        200
    );
    let (_, orphan) = t
        .send(get(&format!(
            "model-definitions/get?model_definition_id={md}"
        )))
        .await;
    assert!(
        orphan["model_definition"].get("secret_id").is_none(),
        "{orphan}"
    );
    assert_eq!(
        t.send(delete("endpoints/delete", json!({"endpoint_id": eid})))
            .await
            .0,
        200
    );
    assert_err(
        &t.send(get(&format!("endpoints/get?endpoint_id={eid}")))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(
        t.send(delete(
            "model-definitions/delete",
            json!({"model_definition_id": md})
        ))
        .await
        .0,
        200
    );

    let (s, r) = t
        .send(post("budgets/create", json!({"budget_unit": "USD", "budget_amount": 100.0,
            "duration": {"unit": "DAYS", "value": 30}, "target_scope": "GLOBAL", "budget_action": "ALERT"})))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["budget_policy"]["duration"],
        json!({"unit": "DAYS", "value": 30})
    );
    let user_scoped = t
        .send(post("budgets/create", json!({"budget_unit": "USD", "budget_amount": 1.0,
            "duration": {"unit": "DAYS", "value": 1}, "target_scope": "USER", "budget_action": "ALERT"})))
        .await;
    assert_err(&user_scoped, 400, "INVALID_PARAMETER_VALUE");
    let bid = r["budget_policy"]["budget_policy_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, upd) = t
        .send(post(
            "budgets/update",
            json!({"budget_policy_id": bid, "budget_amount": 200.0}),
        ))
        .await;
    assert_eq!(upd["budget_policy"]["budget_amount"], 200.0);
    let (_, page) = t.send(get("budgets/list?max_results=1")).await;
    assert_eq!(
        page["budget_policies"].as_array().map(Vec::len),
        Some(1),
        "{page}"
    );
}

async fn gateway_grants_follow_stock(b: Backend) {
    let Some((t, db)) = crate::common::app_with_auth(b, Permission::NoPermissions, PASSWORD).await
    else {
        return;
    };
    for u in ["owner", "other"] {
        users::create(&db, u, PASSWORD, false).expect("user");
    }
    let as_ = |who: &str, req: TestRequest| {
        req.insert_header(("Authorization", basic_auth(who, PASSWORD)))
    };
    let (s, r) = t
        .send(as_(
            "owner",
            post(
                "secrets/create",
                json!({"secret_name": "mine",
            "secret_value": {"api_key": "sk-owner-123456"}}),
            ),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let sid = r["secret"]["secret_id"].as_str().unwrap().to_string();
    // The creator holds MANAGE; the other user (default NO_PERMISSIONS) neither sees nor uses it.
    let (_, g) = t
        .send(as_("admin", TestRequest::get().uri(&format!(
            "/api/3.0/mlflow/users/permissions/get?username=owner&resource_type=gateway_secret&resource_id={sid}"
        ))))
        .await;
    assert_eq!(g["permission"], "MANAGE", "{g}");
    let (_, seen) = t.send(as_("other", get("secrets/list"))).await;
    assert_eq!(seen["secrets"], json!([]), "{seen}");
    let (_, own) = t.send(as_("owner", get("secrets/list"))).await;
    assert_eq!(own["secrets"].as_array().map(Vec::len), Some(1));
    let md_body = json!({"name": "md", "secret_id": sid, "provider": "openai", "model_name": "m"});
    assert_eq!(
        t.send(as_(
            "other",
            post("model-definitions/create", md_body.clone())
        ))
        .await
        .0,
        403
    );
    assert_eq!(
        t.send(as_("other", get(&format!("secrets/get?secret_id={sid}"))))
            .await
            .0,
        403
    );
    // A READ grant lets the other read, not change or delete.
    harvester::auth::grants::grant_user(
        &db,
        users::get(&db, "other").unwrap().id,
        "other",
        "gateway_secret",
        &sid,
        Permission::Read,
        true,
    )
    .expect("grant");
    let (s, r) = t
        .send(as_("other", get(&format!("secrets/get?secret_id={sid}"))))
        .await;
    assert_eq!(s, 200, "{r}");
    let update = json!({"secret_id": sid, "secret_value": {"api_key": "hacked"}});
    assert_eq!(
        t.send(as_("other", post("secrets/update", update))).await.0,
        403
    );
    assert_eq!(
        t.send(as_(
            "other",
            delete("secrets/delete", json!({"secret_id": sid}))
        ))
        .await
        .0,
        403
    );
    assert_eq!(
        t.send(as_(
            "other",
            post("model-definitions/create", md_body.clone())
        ))
        .await
        .0,
        403,
        "USE is needed"
    );
    let (s, _) = t
        .send(as_("owner", post("model-definitions/create", md_body)))
        .await;
    assert_eq!(s, 200);
    // Budgets: anyone signed in reads them, only admins write them.
    let budget = json!({"budget_unit": "USD", "budget_amount": 5.0, "duration": {"unit": "DAYS", "value": 7},
        "target_scope": "GLOBAL", "budget_action": "REJECT"});
    assert_eq!(
        t.send(as_("owner", post("budgets/create", budget.clone())))
            .await
            .0,
        403
    );
    assert_eq!(
        t.send(as_("admin", post("budgets/create", budget))).await.0,
        200
    );
    assert_eq!(t.send(as_("other", get("budgets/list"))).await.0, 200);
    // Deleting the secret drops its grants.
    assert_eq!(
        t.send(as_(
            "owner",
            delete("secrets/delete", json!({"secret_id": sid}))
        ))
        .await
        .0,
        200
    );
    let (_, g) = t
        .send(as_("admin", TestRequest::get().uri(&format!(
            "/api/3.0/mlflow/users/permissions/get?username=owner&resource_type=gateway_secret&resource_id={sid}"
        ))))
        .await;
    assert_ne!(g["permission"], "MANAGE", "{g}");
}

backend_tests!(configuration_round_trip, gateway_grants_follow_stock);
