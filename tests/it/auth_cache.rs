//! The gate decides warm requests from what it remembers; these are its promises, on both backends: a
//! change made through this server counts on the very next request (a revoked grant, a new password, a
//! lost admin flag), and one made behind its back (another replica) counts within `USER_TTL`.

use actix_web::test::TestRequest;
use base64::Engine;
use diesel::RunQueryDsl;
use harvester::auth::{cache::USER_TTL, users, Permission};
use serde_json::json;

use crate::backend_tests;
use crate::common::Backend;

const PASSWORD: &str = "cache-password-1234";
const NEW_PASSWORD: &str = "cache-password-5678";

fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn changes_count_at_once_here_and_within_the_ttl_elsewhere(b: Backend) {
    let Some((t, db)) = crate::common::app_with_auth(b, Permission::NoPermissions, PASSWORD).await
    else {
        return;
    };
    users::create(&db, "carol", PASSWORD, false).expect("user");
    let admin = basic("admin", PASSWORD);
    let carol = basic("carol", PASSWORD);
    let as_ = |who: &str, req: TestRequest| req.insert_header(("Authorization", who.to_string()));

    let (_, e) = t
        .send(
            as_(
                &admin,
                TestRequest::post().uri("/api/2.0/mlflow/experiments/create"),
            )
            .set_json(json!({"name": "cached"})),
        )
        .await;
    let exp = e["experiment_id"].as_str().expect("experiment").to_string();
    let get = format!("/api/2.0/mlflow/experiments/get?experiment_id={exp}");
    let grant = json!({"username": "carol", "resource_type": "experiment", "resource_id": exp,
        "permission": "READ"});
    let status = |r: (actix_web::http::StatusCode, serde_json::Value)| r.0.as_u16();

    assert_eq!(
        status(t.send(as_(&carol, TestRequest::get().uri(&get))).await),
        403
    );
    let (s, body) = t
        .send(
            as_(
                &admin,
                TestRequest::post().uri("/api/3.0/mlflow/users/permissions/grant"),
            )
            .set_json(grant.clone()),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "grant: {body}");
    // Warm the cache with a few reads, then revoke: the next read is refused.
    for _ in 0..3 {
        assert_eq!(
            status(t.send(as_(&carol, TestRequest::get().uri(&get))).await),
            200
        );
    }
    let (s, body) = t
        .send(
            as_(
                &admin,
                TestRequest::post().uri("/api/3.0/mlflow/users/permissions/revoke"),
            )
            .set_json(json!({"username": "carol", "resource_type": "experiment",
                    "resource_id": exp})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "revoke: {body}");
    assert_eq!(
        status(t.send(as_(&carol, TestRequest::get().uri(&get))).await),
        403
    );

    // A new password: the old one stops working at once.
    let (s, body) = t
        .send(
            as_(
                &admin,
                TestRequest::patch().uri("/api/2.0/mlflow/users/update-password"),
            )
            .set_json(json!({"username": "carol", "password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "update-password: {body}");
    assert_eq!(
        status(t.send(as_(&carol, TestRequest::get().uri(&get))).await),
        401
    );
    let carol = basic("carol", NEW_PASSWORD);
    assert_eq!(
        status(t.send(as_(&carol, TestRequest::get().uri(&get))).await),
        403
    );

    // Behind the server's back, as another replica would: a grant written straight into the tables.
    // Within the TTL it may not count yet; after it, it must.
    let sql = format!(
        "INSERT INTO harvester_role_permissions (role_id, resource_type, resource_pattern, permission) \
         SELECT r.id, 'experiment', '{exp}', 'READ' FROM harvester_roles r \
         WHERE r.name = '__user_' || (SELECT id FROM harvester_users WHERE username = 'carol') || '__'"
    );
    let raw = || -> harvester::error::ApiResult<usize> {
        harvester::db_write!(db, |conn| Ok(diesel::sql_query(&sql).execute(conn)?))
    };
    let n = raw().expect("raw grant");
    assert_eq!(n, 1, "carol's own role exists (she was granted before)");
    actix_web::rt::time::sleep(USER_TTL + std::time::Duration::from_millis(100)).await;
    assert_eq!(
        status(t.send(as_(&carol, TestRequest::get().uri(&get))).await),
        200
    );
}

backend_tests!(changes_count_at_once_here_and_within_the_ttl_elsewhere);
