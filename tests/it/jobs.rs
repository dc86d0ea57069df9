//! The durable job queue on both backends: merging of queued duplicates, one running job per key, claims
//! limited to the kinds a process handles, retries, permanent failures and leases that run out.

use std::time::Duration;

use harvester::db::Db;
use harvester::jobs::{JobError, NewJob, Queue};
use serde_json::json;

use crate::backend_tests;
use crate::common::{fresh_store, Backend};
use crate::databases::count;

fn queue(b: Backend) -> Option<(Queue, Queue, String, crate::common::Guard)> {
    let (uri, guard) = fresh_store(b)?;
    let db = Db::connect(&uri, 4, Duration::from_secs(30)).expect("db");
    // Two workers' views of one table: their own owner ids, short leases.
    Some((
        Queue::new(db.clone(), Duration::from_millis(300)),
        Queue::new(db, Duration::from_millis(300)),
        uri,
        guard,
    ))
}

async fn keys_kinds_and_retries(b: Backend) {
    let Some((q, other, uri, _g)) = queue(b) else {
        return;
    };
    let rows = |sql: &str| count(b, &uri, sql);
    for _ in 0..3 {
        q.enqueue(&NewJob::new("t.sync", json!({"n": 1})).key("k1"))
            .unwrap();
    }
    assert_eq!(
        rows("SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE dedupe_key = 'k1'"),
        1,
        "queued duplicates merge"
    );
    q.enqueue(&NewJob::new("t.other", json!({}))).unwrap();
    // A process claims only the kinds it handles.
    assert!(q.claim(&["t.none"]).unwrap().is_none());
    let a = q.claim(&["t.sync"]).unwrap().expect("the keyed job");
    assert_eq!((a.kind.as_str(), a.attempts), ("t.sync", 1));
    // While it runs, a new job with its key queues but is not handed out, to this worker or another.
    q.enqueue(&NewJob::new("t.sync", json!({"n": 2})).key("k1"))
        .unwrap();
    assert!(
        other.claim(&["t.sync"]).unwrap().is_none(),
        "one running job per key"
    );
    let o = other
        .claim(&["t.sync", "t.other"])
        .unwrap()
        .expect("another kind is free");
    assert_eq!(o.kind, "t.other");
    other.complete(o.id).unwrap();
    q.complete(a.id).unwrap();
    let b2 = other
        .claim(&["t.sync"])
        .unwrap()
        .expect("the second keyed job, once the first is done");
    assert_eq!(b2.payload, r#"{"n":2}"#);
    // A retryable failure comes back after its delay; a permanent one never does.
    other
        .fail(
            b2.id,
            &JobError::retry("EvalAI 503"),
            Duration::from_millis(200),
        )
        .unwrap();
    assert!(
        q.claim(&["t.sync"]).unwrap().is_none(),
        "not before its delay"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again = q.claim(&["t.sync"]).unwrap().expect("retried");
    assert_eq!((again.id, again.attempts), (b2.id, 2));
    q.fail(again.id, &JobError::permanent("404"), Duration::ZERO)
        .unwrap();
    assert!(q.claim(&["t.sync"]).unwrap().is_none());
    assert_eq!(rows("SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE state = 'failed' AND last_error = '404'"), 1);
}

async fn an_expired_lease_is_taken_over(b: Backend) {
    let Some((q, other, uri, _g)) = queue(b) else {
        return;
    };
    q.enqueue(&NewJob::new("t.sync", json!({})).key("k"))
        .unwrap();
    let j = q.claim(&["t.sync"]).unwrap().expect("claimed");
    // The first worker dies (no renewal, no outcome).
    assert!(
        other.claim(&["t.sync"]).unwrap().is_none(),
        "the lease still holds"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let taken = other
        .claim(&["t.sync"])
        .unwrap()
        .expect("taken over after the lease");
    assert_eq!((taken.id, taken.attempts), (j.id, 2));
    // The dead worker's late outcome is ignored: the job belongs to the new owner.
    q.complete(j.id).unwrap();
    assert!(!q.renew(j.id).unwrap());
    assert!(other.renew(j.id).unwrap());
    other.complete(j.id).unwrap();
    assert_eq!(
        count(
            b,
            &uri,
            "SELECT CAST(count(*) AS INTEGER) AS n FROM harvester_jobs WHERE state = 'done'"
        ),
        1
    );
}

backend_tests!(keys_kinds_and_retries, an_expired_lease_is_taken_over);
