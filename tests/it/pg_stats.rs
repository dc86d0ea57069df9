//! PostgreSQL's planner statistics follow a bulk load: the server runs `ANALYZE` on the searched tables
//! once the rows it has written double (`src/db/stats.rs`), instead of waiting for autovacuum.

use serde_json::{json, Value};

use crate::binary;
use crate::common::Backend;
use crate::databases::count;

#[actix_web::test]
async fn a_bulk_load_is_analyzed() {
    let Some(s) = binary::start(Backend::Postgres, 2).await else {
        return;
    };
    let analyzed = "SELECT CAST(count(*) AS INTEGER) AS n FROM pg_stat_user_tables \
                    WHERE relname = 'latest_metrics' AND last_analyze IS NOT NULL";
    // A fresh store was migrated, never analyzed by hand.
    assert_eq!(count(Backend::Postgres, &s.uri, analyzed), 0);
    let exp = s.post("experiments/create", json!({"name": "bulk"})).await["experiment_id"]
        .as_str()
        .expect("experiment")
        .to_string();
    let run = s.post("runs/create", json!({"experiment_id": exp})).await["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_string();
    for b in 0..6 {
        let metrics: Vec<Value> = (0..1000)
            .map(|i| json!({"key": format!("m{b}-{i}"), "value": 1.0, "timestamp": 1, "step": 0}))
            .collect();
        s.post("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
    }
    let t0 = std::time::Instant::now();
    while count(Backend::Postgres, &s.uri, analyzed) == 0 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "6,000 rows written and latest_metrics never analyzed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
