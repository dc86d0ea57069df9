//! Webhooks: management, validation (events, URL rules against SSRF), secrets never returned.

use actix_web::http::Method;
use serde_json::json;

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

// A public address given literally: accepted without DNS (deliveries to it fail quietly in the background).
const URL: &str = "https://93.184.216.34/hook";

async fn manage_and_validate(b: Backend) {
    let t = app!(b);
    let body = json!({"name": "h1", "url": URL, "secret": "shh", "description": "d",
                      "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}, {"entity": "model_version_alias", "action": "deleted"}]});
    let v = t.ok("webhooks", body).await["webhook"].clone();
    let id = v["webhook_id"].as_str().unwrap().to_string();
    assert_eq!(v["status"], "ACTIVE");
    assert!(v.get("secret").is_none(), "{v}");
    assert_eq!(
        v["events"],
        json!([{"entity": "MODEL_VERSION", "action": "CREATED"}, {"entity": "MODEL_VERSION_ALIAS", "action": "DELETED"}])
    );
    t.ok(
        "webhooks",
        json!({"name": "h2", "url": URL, "events": [{"entity": "PROMPT", "action": "CREATED"}]}),
    )
    .await;
    let l = t.ok_get("webhooks?max_results=1").await;
    assert_eq!(l["webhooks"].as_array().unwrap().len(), 1);
    let tok = l["next_page_token"].as_str().unwrap().to_string();
    assert_eq!(
        t.ok_get(&format!("webhooks?page_token={tok}")).await["webhooks"][0]["name"],
        "h2"
    );
    assert_eq!(
        t.ok_get(&format!("webhooks/{id}")).await["webhook"]["name"],
        "h1"
    );
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("webhooks/{id}"),
            json!({"status": "DISABLED", "name": "renamed",
        "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["webhook"]["status"], &v["webhook"]["name"]),
        (&json!("DISABLED"), &json!("renamed"))
    );
    assert_eq!(
        v["webhook"]["events"],
        json!([{"entity": "REGISTERED_MODEL", "action": "CREATED"}])
    );
    // Errors.
    let ev = json!([{"entity": "MODEL_VERSION", "action": "CREATED"}]);
    for (body, why) in [
        (json!({"url": URL, "events": ev}), "name missing"),
        (json!({"name": "x", "events": ev}), "url missing"),
        (json!({"name": "x", "url": URL}), "events missing"),
        (
            json!({"name": "x", "url": URL, "events": [{"entity": "MODEL_VERSION", "action": "DELETED"}]}),
            "invalid pair",
        ),
        (
            json!({"name": "x", "url": URL, "events": [{"entity": "RUN", "action": "CREATED"}]}),
            "unknown entity",
        ),
        (
            json!({"name": "x", "url": URL, "events": ev, "status": "PAUSED"}),
            "bad status",
        ),
        (
            json!({"name": "x", "url": "http://93.184.216.34/hook", "events": ev}),
            "http is not allowed by default",
        ),
        (
            json!({"name": "x", "url": "https://127.0.0.1/hook", "events": ev}),
            "loopback",
        ),
        (
            json!({"name": "x", "url": "https://10.0.0.7/hook", "events": ev}),
            "private",
        ),
        (
            json!({"name": "x", "url": "https://169.254.169.254/latest/meta-data", "events": ev}),
            "instance metadata",
        ),
        (
            json!({"name": "x", "url": "https://[::1]/hook", "events": ev}),
            "IPv6 loopback",
        ),
        (
            json!({"name": "x", "url": "not a url", "events": ev}),
            "unparsable",
        ),
    ] {
        let r = t.post("webhooks", body).await;
        assert_eq!(r.0.as_u16(), 400, "{why}: {r:?}");
        assert_eq!(r.1["error_code"], "INVALID_PARAMETER_VALUE", "{why}");
    }
    let r = t.post("webhooks", json!({"name": "x", "url": URL, "events": [{"entity": "MODEL_VERSION", "action": "DELETED"}]})).await;
    assert!(
        r.1["message"]
            .as_str()
            .unwrap()
            .contains("Valid actions are: [\"created\"]"),
        "{r:?}"
    );
    assert_err(
        &t.get("webhooks/nope").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.call(Method::PATCH, "webhooks/nope", json!({"name": "x"}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.call(
            Method::PATCH,
            &format!("webhooks/{id}"),
            json!({"url": "https://10.0.0.1/x"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("webhooks/nope/test", json!({})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_err(
        &t.get("webhooks?max_results=5000").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_eq!(
        t.call(Method::DELETE, &format!("webhooks/{id}"), json!({}))
            .await
            .0,
        200
    );
    assert_err(
        &t.call(Method::DELETE, &format!("webhooks/{id}"), json!({}))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

backend_tests!(manage_and_validate);
