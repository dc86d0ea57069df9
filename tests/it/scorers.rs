//! Scorers on both backends, answered as stock 3.17.2 answers (its bodies were recorded from a throwaway
//! `mlflow server`): versions 1, 2, … per name, get (latest or one), versions, list (latest of each),
//! delete one version or all, stock's errors; and with auth on, the creator's MANAGE grant, a READ user who
//! may read but not delete, and the grant gone with the scorer.

use actix_web::test::TestRequest;
use harvester::auth::{users, Permission};
use serde_json::{json, Value};

use crate::app;
use crate::backend_tests;
use crate::common::{assert_err, Backend};

const V3: &str = "/api/3.0/mlflow";

async fn scorers_are_versioned_listed_and_deleted(b: Backend) {
    let t = app!(b);
    let exp = t.create_experiment("judges").await;
    let register = |payload: &str| {
        TestRequest::post()
            .uri(&format!("{V3}/scorers/register"))
            .set_json(json!({"experiment_id": exp, "name": "s1", "serialized_scorer": payload}))
    };
    let (s, first) = t
        .send(register(r#"{"name": "s1", "type": "pyfunc"}"#))
        .await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["version"], 1);
    assert_eq!(
        first["experiment_id"],
        exp.as_str(),
        "a string in the register answer"
    );
    assert_eq!(first["name"], "s1");
    let (_, second) = t.send(register(r#"{"name": "s1"}"#)).await;
    assert_eq!(second["version"], 2);
    assert_eq!(
        second["scorer_id"], first["scorer_id"],
        "one scorer, two versions"
    );

    let get = |q: &str| TestRequest::get().uri(&format!("{V3}/scorers/{q}"));
    let (_, latest) = t
        .send(get(&format!("get?experiment_id={exp}&name=s1")))
        .await;
    let sc = &latest["scorer"];
    assert_eq!(
        (
            sc["scorer_version"].clone(),
            sc["serialized_scorer"].clone()
        ),
        (json!(2), json!(r#"{"name": "s1"}"#))
    );
    assert_eq!(
        sc["experiment_id"],
        json!(exp.parse::<i64>().unwrap()),
        "an integer in a Scorer"
    );
    let (_, one) = t
        .send(get(&format!("get?experiment_id={exp}&name=s1&version=1")))
        .await;
    assert_eq!(one["scorer"]["scorer_version"], 1);
    let (_, all) = t
        .send(get(&format!("versions?experiment_id={exp}&name=s1")))
        .await;
    let versions: Vec<&Value> = all["scorers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["scorer_version"])
        .collect();
    assert_eq!(versions, [&json!(1), &json!(2)]);
    let (_, list) = t.send(get(&format!("list?experiment_id={exp}"))).await;
    assert_eq!(list["scorers"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["scorers"][0]["scorer_version"], 2);
    let (_, everywhere) = t.send(get("list")).await;
    assert_eq!(everywhere["scorers"], list["scorers"]);

    // Stock's errors.
    let missing = t
        .send(get(&format!("get?experiment_id={exp}&name=nope")))
        .await;
    assert_err(&missing, 404, "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        missing.1["message"],
        format!("Scorer with name 'nope' not found for experiment {exp}.")
    );
    let no_version = t
        .send(get(&format!("get?experiment_id={exp}&name=s1&version=9")))
        .await;
    assert_eq!(
        no_version.1["message"],
        format!("Scorer with name 's1' and version 9 not found for experiment {exp}.")
    );
    let bad = |name: &str, payload: &str, e: &str| {
        TestRequest::post()
            .uri(&format!("{V3}/scorers/register"))
            .set_json(json!({"experiment_id": e, "name": name, "serialized_scorer": payload}))
    };
    let r = t.send(bad("  ", "{}", &exp)).await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    assert_eq!(
        r.1["message"],
        "Scorer name cannot be empty or contain only whitespace."
    );
    let r = t.send(bad("x", "not json", &exp)).await;
    assert_eq!(r.1["message"], "serialized_scorer must be valid JSON");
    let r = t
        .send(bad("x", r#"{"call_source": "import os"}"#, &exp))
        .await;
    assert_err(&r, 400, "INVALID_PARAMETER_VALUE");
    assert!(
        r.1["message"]
            .as_str()
            .unwrap()
            .starts_with("Custom scorer registration"),
        "{}",
        r.1
    );
    assert_err(
        &t.send(bad("x", "{}", "77777")).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // Delete one version, then the scorer.
    let delete = |body: Value| {
        TestRequest::delete()
            .uri(&format!("{V3}/scorers/delete"))
            .set_json(body)
    };
    let (s, _) = t
        .send(delete(
            json!({"experiment_id": exp, "name": "s1", "version": 1}),
        ))
        .await;
    assert_eq!(s, 200);
    let (_, all) = t
        .send(get(&format!("versions?experiment_id={exp}&name=s1")))
        .await;
    assert_eq!(all["scorers"].as_array().unwrap().len(), 1);
    let (s, _) = t
        .send(delete(json!({"experiment_id": exp, "name": "s1"})))
        .await;
    assert_eq!(s, 200);
    assert_err(
        &t.send(delete(json!({"experiment_id": exp, "name": "s1"})))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (_, list) = t.send(get(&format!("list?experiment_id={exp}"))).await;
    assert_eq!(list["scorers"], json!([]));
}

const PASSWORD: &str = "scorer-password-1234";

fn basic(user: &str) -> String {
    crate::common::basic_auth(user, PASSWORD)
}

async fn scorer_grants_follow_stock(b: Backend) {
    let Some((t, db)) = crate::common::app_with_auth(b, Permission::Read, PASSWORD).await else {
        return;
    };
    users::create(&db, "owner", PASSWORD, false).expect("user");
    users::create(&db, "reader", PASSWORD, false).expect("user");
    let as_ = |who: &str, req: TestRequest| req.insert_header(("Authorization", basic(who)));
    let (_, e) = t
        .send(
            as_(
                "owner",
                TestRequest::post().uri("/api/2.0/mlflow/experiments/create"),
            )
            .set_json(json!({"name": "j"})),
        )
        .await;
    let exp = e["experiment_id"].as_str().unwrap().to_string();
    let body = json!({"experiment_id": exp, "name": "a/b", "serialized_scorer": "{}"});
    let (s, r) = t
        .send(
            as_(
                "owner",
                TestRequest::post().uri(&format!("{V3}/scorers/register")),
            )
            .set_json(body.clone()),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // The reader (default READ) may not register on another's experiment (needs EDIT).
    let (s, _) = t
        .send(
            as_(
                "reader",
                TestRequest::post().uri(&format!("{V3}/scorers/register")),
            )
            .set_json(body),
        )
        .await;
    assert_eq!(s, 403);
    // The creator holds MANAGE on `<experiment>/<quoted name>`, as stock's pattern.
    let (_, g) = t
        .send(as_("admin", TestRequest::get().uri(&format!(
            "{V3}/users/permissions/get?username=owner&resource_type=scorer&resource_id={exp}/a%252Fb"
        ))))
        .await;
    assert_eq!(g["permission"], "MANAGE", "{g}");
    // Online-scoring configurations as a database made by stock holds them: shown in stock's shape, and
    // only to a user who may read the experiment.
    let scorer_id = r["scorer_id"].as_str().unwrap().to_string();
    let sql = format!(
        "INSERT INTO online_scoring_configs (online_scoring_config_id, scorer_id, sample_rate, experiment_id) \
         VALUES ('osc-1', '{scorer_id}', 0.25, {exp})"
    );
    let raw = || -> harvester::error::ApiResult<usize> {
        harvester::db_write!(db, |conn| Ok(diesel::RunQueryDsl::execute(
            diesel::sql_query(&sql),
            conn
        )?))
    };
    assert_eq!(raw().expect("config row"), 1);
    let configs = format!("{V3}/scorers/online-configs?scorer_ids={scorer_id}&scorer_ids=none");
    let (s, c) = t
        .send(as_("reader", TestRequest::get().uri(&configs)))
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        c,
        json!({"configs": [{"online_scoring_config_id": "osc-1", "scorer_id": scorer_id, "sample_rate": 0.25,
            "experiment_id": exp}]})
    );
    let (s, _) = t
        .send(as_(
            "reader",
            TestRequest::get().uri(&format!("{V3}/scorers/online-configs")),
        ))
        .await;
    assert_eq!(s, 400, "scorer_ids is required");
    let reader = users::get(&db, "reader").unwrap();
    harvester::auth::grants::grant_user(
        &db,
        reader.id,
        "reader",
        "experiment",
        &exp,
        Permission::Deny,
        true,
    )
    .unwrap();
    let (s, _) = t
        .send(as_("reader", TestRequest::get().uri(&configs)))
        .await;
    assert_eq!(s, 403, "a denied experiment's configuration is not shown");
    harvester::auth::grants::revoke_user(&db, reader.id, "reader", "experiment", &exp).unwrap();

    let get = format!("{V3}/scorers/get?experiment_id={exp}&name=a%2Fb");
    let (s, _) = t.send(as_("reader", TestRequest::get().uri(&get))).await;
    assert_eq!(s, 200, "default READ reads the scorer");
    let del = json!({"experiment_id": exp, "name": "a/b"});
    let (s, _) = t
        .send(
            as_(
                "reader",
                TestRequest::delete().uri(&format!("{V3}/scorers/delete")),
            )
            .set_json(del.clone()),
        )
        .await;
    assert_eq!(s, 403, "READ does not delete");
    let (s, _) = t
        .send(
            as_(
                "owner",
                TestRequest::delete().uri(&format!("{V3}/scorers/delete")),
            )
            .set_json(del),
        )
        .await;
    assert_eq!(s, 200);
    let (s, g) = t
        .send(as_("admin", TestRequest::get().uri(&format!(
            "{V3}/users/permissions/get?username=owner&resource_type=scorer&resource_id={exp}/a%252Fb"
        ))))
        .await;
    assert_eq!(
        (s.as_u16(), g["permission"].clone()),
        (200, json!("READ")),
        "the grant went with the scorer: {g}"
    );
}

backend_tests!(
    scorers_are_versioned_listed_and_deleted,
    scorer_grants_follow_stock
);
