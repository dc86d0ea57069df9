//! search-runs: the §4.1 filter grammar, ordering, view types, paging and its errors.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests};

fn names(v: &Value) -> Vec<String> {
    v["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["info"]["run_name"].as_str().map(String::from))
        .collect()
}

async fn seed<S, B>(t: &crate::common::TestApp<S>) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let exp = t.create_experiment("search").await;
    for (i, name) in ["Alpha", "beta", "gamma", "delta"].iter().enumerate() {
        let v = t.ok("runs/create", json!({"experiment_id": exp, "run_name": name, "start_time": 100 + i as i64, "user_id": "u"})).await;
        let id = v["run"]["info"]["run_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut metrics = vec![json!({"key": "acc", "value": i as f64 / 10.0, "timestamp": 1})];
        if i != 3 {
            metrics.push(json!({"key": "loss", "value": 10 - i, "timestamp": 1}));
        }
        let mut params = vec![json!({"key": "lr", "value": format!("0.{i}")})];
        if i % 2 == 0 {
            params.push(json!({"key": "my param", "value": "even"}));
        }
        let tags = vec![json!({"key": "team", "value": if i < 2 { "Vision" } else { "nlp" }})];
        t.ok(
            "runs/log-batch",
            json!({"run_id": id, "metrics": metrics, "params": params, "tags": tags}),
        )
        .await;
        if i == 1 {
            let ds =
                json!({"name": "mnist", "digest": "d1", "source_type": "code", "source": "{}"});
            t.ok("runs/log-inputs", json!({"run_id": id, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "eval"}], "dataset": ds}]})).await;
        }
    }
    exp
}

async fn filter_grammar(b: Backend) {
    let t = app!(b);
    let exp = seed(&t).await;
    let q = |f: &str| json!({"experiment_ids": [exp.clone()], "filter": f});
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("", vec!["delta", "gamma", "beta", "Alpha"]),
        ("metrics.acc > 0.15", vec!["delta", "gamma"]),
        (
            "metrics.acc >= 0.1 and metrics.loss < 10",
            vec!["gamma", "beta"],
        ),
        ("metric.loss != 9", vec!["gamma", "Alpha"]),
        ("params.lr = '0.2'", vec!["gamma"]),
        ("params.`my param` = 'even'", vec!["gamma", "Alpha"]),
        ("params.\"my param\" IS NULL", vec!["delta", "beta"]),
        (
            "params.lr IS NOT NULL",
            vec!["delta", "gamma", "beta", "Alpha"],
        ),
        ("tags.team LIKE 'V%'", vec!["beta", "Alpha"]),
        ("tags.team LIKE 'v%'", vec![]),
        ("tags.team ILIKE 'v%'", vec!["beta", "Alpha"]),
        ("tags.team != 'nlp'", vec!["beta", "Alpha"]),
        ("attributes.run_name = 'beta'", vec!["beta"]),
        ("run_name ILIKE 'a%'", vec!["Alpha"]),
        ("attributes.start_time >= 102", vec!["delta", "gamma"]),
        (
            "attribute.status = 'RUNNING' AND attributes.user_id = 'u'",
            vec!["delta", "gamma", "beta", "Alpha"],
        ),
        ("datasets.name = 'mnist'", vec!["beta"]),
        ("dataset.context = 'eval'", vec!["beta"]),
        ("datasets.digest IN ('d1', 'd2')", vec!["beta"]),
        ("tags.`mlflow.runName` = 'delta'", vec!["delta"]),
    ];
    for (f, want) in cases {
        let v = t.ok("runs/search", q(f)).await;
        assert_eq!(names(&v), want, "filter {f:?}");
    }
    let all = t.ok("runs/search", q("")).await;
    let id = all["runs"][0]["info"]["run_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let v = t
        .ok(
            "runs/search",
            q(&format!("attributes.run_id IN ('{id}', 'nope')")),
        )
        .await;
    assert_eq!(names(&v), vec!["delta"]);
    let v = t
        .ok("runs/search", q(&format!("run_id NOT IN ('{id}')")))
        .await;
    assert_eq!(names(&v).len(), 3);
    for bad in [
        "metrics.acc = 'x'",
        "params.lr = 5",
        "params.lr > '1'",
        "tags.team = 'a' OR tags.team = 'b'",
        "foo.bar = '1'",
        "attributes.nope = '1'",
        "attributes.run_name IN ('a')",
        "metrics.acc IS NULL",
        "params.lr = 'unterminated",
        "params.lr IN ()",
    ] {
        assert_err(
            &t.post("runs/search", q(bad)).await,
            400,
            "INVALID_PARAMETER_VALUE",
        );
    }
}

async fn ordering_views_and_paging(b: Backend) {
    let t = app!(b);
    let exp = seed(&t).await;
    let search = |order: Value| json!({"experiment_ids": [exp.clone()], "order_by": order});
    assert_eq!(
        names(
            &t.ok("runs/search", search(json!(["metrics.acc DESC"])))
                .await
        ),
        vec!["delta", "gamma", "beta", "Alpha"]
    );
    // Runs missing the key sort last in both directions.
    assert_eq!(
        names(
            &t.ok("runs/search", search(json!(["metrics.loss ASC"])))
                .await
        ),
        vec!["gamma", "beta", "Alpha", "delta"]
    );
    assert_eq!(
        names(
            &t.ok("runs/search", search(json!(["metrics.loss DESC"])))
                .await
        ),
        vec!["Alpha", "beta", "gamma", "delta"]
    );
    assert_eq!(
        names(
            &t.ok("runs/search", search(json!(["attributes.run_name ASC"])))
                .await
        ),
        vec!["Alpha", "beta", "delta", "gamma"]
    );
    assert_eq!(
        names(&t.ok("runs/search", search(json!(["params.lr DESC"]))).await),
        vec!["delta", "gamma", "beta", "Alpha"]
    );
    assert_eq!(
        names(
            &t.ok(
                "runs/search",
                search(json!(["tags.team ASC", "start_time ASC"]))
            )
            .await
        ),
        vec!["Alpha", "beta", "gamma", "delta"]
    );
    assert_err(
        &t.post(
            "runs/search",
            search(json!(["start_time ASC", "start_time DESC"])),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("runs/search", search(json!(["nope.x ASC"]))).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("runs/search", search(json!(["start_time sideways"])))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"experiment_ids": [exp.clone()], "max_results": 3});
        if let Some(tk) = &token {
            body["page_token"] = json!(tk);
        }
        let v = t.ok("runs/search", body).await;
        seen.extend(names(&v));
        match v["next_page_token"].as_str() {
            Some(tk) => token = Some(tk.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["delta", "gamma", "beta", "Alpha"]);
    assert_err(
        &t.post(
            "runs/search",
            json!({"experiment_ids": [exp.clone()], "max_results": 50001}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/search",
            json!({"experiment_ids": [exp.clone()], "max_results": 0}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post(
            "runs/search",
            json!({"experiment_ids": [exp.clone()], "page_token": "zzz"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_err(
        &t.post("runs/search", json!({"experiment_ids": ["x"]}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    let first = t
        .ok("runs/search", json!({"experiment_ids": [exp.clone()]}))
        .await["runs"][0]["info"]["run_id"]
        .clone();
    t.ok("runs/delete", json!({"run_id": first})).await;
    let view = |vt: &str| json!({"experiment_ids": [exp.clone()], "run_view_type": vt});
    assert_eq!(
        names(&t.ok("runs/search", view("ACTIVE_ONLY")).await).len(),
        3
    );
    assert_eq!(
        names(&t.ok("runs/search", view("DELETED_ONLY")).await),
        vec!["delta"]
    );
    assert_eq!(names(&t.ok("runs/search", view("ALL")).await).len(), 4);
    assert_err(
        &t.post("runs/search", view("DELETED")).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let (s, _) = t
        .send(TestRequest::get().uri("/api/2.0/mlflow/runs/search"))
        .await;
    assert_eq!(s, 405, "runs/search is POST-only");
    let v = t
        .ok("runs/search", json!({"experiment_ids": [exp.clone()]}))
        .await;
    assert!(
        v["runs"][0]["data"]["params"].is_array() && v["runs"][0]["data"]["metrics"].is_array()
    );
}

/// A search led by a metric runs in two groups (the runs that have it, then those without): every page
/// size and page token gives the order of the one-shot search, including pages that start past the
/// first group's end.
async fn paging_across_a_missing_sort_key(b: Backend) {
    let t = app!(b);
    let exp = seed(&t).await;
    for order in [
        json!(["metrics.loss ASC"]),
        json!(["metrics.loss DESC", "attributes.run_name ASC"]),
        json!(["params.`my param` DESC", "start_time ASC"]),
        json!(["tags.team ASC"]),
    ] {
        let body = |max: usize, token: &Option<String>| {
            let mut b =
                json!({"experiment_ids": [exp.clone()], "order_by": order, "max_results": max});
            if let Some(tk) = token {
                b["page_token"] = json!(tk);
            }
            b
        };
        let whole = names(&t.ok("runs/search", body(100, &None)).await);
        assert_eq!(whole.len(), 4, "{order}");
        for max in 1..=4 {
            let (mut seen, mut token) = (Vec::new(), None);
            loop {
                let v = t.ok("runs/search", body(max, &token)).await;
                seen.extend(names(&v));
                match v["next_page_token"].as_str() {
                    Some(tk) => token = Some(tk.to_string()),
                    None => break,
                }
            }
            assert_eq!(seen, whole, "{order}, pages of {max}");
        }
        // A page token far past the end: an empty page, not an error.
        let far = harvester::search::encode_page_token(40);
        let v = t.ok("runs/search", body(2, &Some(far))).await;
        assert!(names(&v).is_empty(), "{v}");
    }
}

backend_tests!(
    filter_grammar,
    ordering_views_and_paging,
    paging_across_a_missing_sort_key
);
