//! Workspaces with auth on, on both backends: the `admin` and `user` roles stock seeds into a new
//! workspace, the workspace boundary (no grant there, so nothing, not even through `default_permission`),
//! who may create (a workspace-wide USE), listings and views of workspaces, and roles dropped with their
//! workspace.

use actix_web::test::TestRequest;
use harvester::auth::{roles, users, Permission};
use serde_json::json;

use crate::backend_tests;
use crate::common::{basic_auth, Backend};
use crate::workspaces::{assert_denied, get, post, WS};

const PASSWORD: &str = "workspace-password-1234";

async fn with_auth(b: Backend) {
    let Some((t, db)) = crate::common::app_with_auth_and(b, Permission::Read, PASSWORD, |c| {
        c.enable_workspaces = true
    })
    .await
    else {
        return;
    };
    let admin = basic_auth("admin", PASSWORD);
    let alice_id = users::create(&db, "alice", PASSWORD, false).unwrap().id;
    let alice = basic_auth("alice", PASSWORD);
    let as_ = |who: &str, req: TestRequest| req.insert_header(("Authorization", who.to_string()));

    assert_denied(
        &t.send(as_(
            &alice,
            TestRequest::post()
                .uri(WS)
                .set_json(json!({"name": "team-a"})),
        ))
        .await,
    );
    let (s, r) = t
        .send(as_(
            &admin,
            TestRequest::post()
                .uri(WS)
                .set_json(json!({"name": "team-a"})),
        ))
        .await;
    assert_eq!(s, 201, "{r}");
    // Stock seeds two roles into a new workspace.
    let mut seeded: Vec<(String, String)> = roles::list(&db, &["team-a".to_string()])
        .unwrap()
        .into_iter()
        .map(|r| {
            let p = roles::permissions_of(&db, r.id).unwrap();
            assert_eq!(p.len(), 1);
            assert_eq!(
                (p[0].resource_type.as_str(), p[0].resource_pattern.as_str()),
                ("workspace", "*")
            );
            (r.name, p[0].permission.clone())
        })
        .collect();
    seeded.sort();
    assert_eq!(
        seeded,
        vec![
            ("admin".into(), "MANAGE".into()),
            ("user".into(), "USE".into())
        ]
    );

    // Admin's experiment in team-a; alice, without a role there, sees nothing and may create nothing.
    let (_, r) = t
        .send(as_(
            &admin,
            post("team-a", "experiments/create", json!({"name": "a1"})),
        ))
        .await;
    let a1 = r["experiment_id"].as_str().unwrap().to_string();
    assert_denied(
        &t.send(as_(
            &alice,
            get("team-a", &format!("experiments/get?experiment_id={a1}")),
        ))
        .await,
    );
    assert_denied(
        &t.send(as_(
            &alice,
            post("team-a", "experiments/create", json!({"name": "a2"})),
        ))
        .await,
    );
    let (_, r) = t
        .send(as_(
            &alice,
            post("team-a", "experiments/search", json!({"max_results": 10})),
        ))
        .await;
    assert!(r.get("experiments").is_none(), "{r}");
    let (_, r) = t.send(as_(&alice, TestRequest::get().uri(WS))).await;
    assert!(
        r.get("workspaces").is_none() || r["workspaces"] == json!([]),
        "{r}"
    );
    assert_denied(
        &t.send(as_(&alice, TestRequest::get().uri(&format!("{WS}/team-a"))))
            .await,
    );
    // With workspaces on, default_permission does not reach into a workspace without a grant, not even
    // `default` (grant_default_workspace_access is off).
    assert_denied(
        &t.send(as_(
            &alice,
            TestRequest::get().uri("/api/2.0/mlflow/experiments/get?experiment_id=0"),
        ))
        .await,
    );

    // As a member (`user`: USE on the workspace), alice reads everything and creates; she owns what she
    // creates, but may not change the admin's experiment.
    let user_role = roles::list(&db, &["team-a".to_string()])
        .unwrap()
        .into_iter()
        .find(|r| r.name == "user")
        .unwrap();
    roles::assign(&db, alice_id, user_role.id).unwrap();
    let (s, r) = t
        .send(as_(
            &alice,
            get("team-a", &format!("experiments/get?experiment_id={a1}")),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = t
        .send(as_(
            &alice,
            post("team-a", "experiments/create", json!({"name": "a2"})),
        ))
        .await;
    assert_eq!(s, 200, "{r}");
    let a2 = r["experiment_id"].as_str().unwrap().to_string();
    let (s, _) = t
        .send(as_(
            &alice,
            post(
                "team-a",
                "experiments/set-experiment-tag",
                json!({"experiment_id": a2, "key": "k", "value": "v"}),
            ),
        ))
        .await;
    assert_eq!(s, 200);
    assert_denied(
        &t.send(as_(
            &alice,
            post(
                "team-a",
                "experiments/set-experiment-tag",
                json!({"experiment_id": a1, "key": "k", "value": "v"}),
            ),
        ))
        .await,
    );
    let (_, r) = t.send(as_(&alice, TestRequest::get().uri(WS))).await;
    assert_eq!(r["workspaces"], json!([{"name": "team-a"}]), "{r}");
    let (s, _) = t
        .send(as_(&alice, TestRequest::get().uri(&format!("{WS}/team-a"))))
        .await;
    assert_eq!(s, 200);
    // Deleting the workspace drops its roles.
    t.send(as_(
        &admin,
        post("team-a", "experiments/delete", json!({"experiment_id": a1})),
    ))
    .await;
    let (s, _) = t
        .send(as_(
            &admin,
            TestRequest::delete().uri(&format!("{WS}/team-a?mode=SET_DEFAULT")),
        ))
        .await;
    assert_eq!(s, 204);
    assert!(roles::list(&db, &["team-a".to_string()])
        .unwrap()
        .is_empty());
}

backend_tests!(with_auth);
