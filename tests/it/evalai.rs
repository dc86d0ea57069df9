//! The EvalAI bridge against the test EvalAI (`evalai_fake`): Slack pokes, signed webhooks, the poller,
//! duplicates, metrics before the record, outages, foreign file URLs, and the durable job table.

use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{Arts, Backend};
use crate::evalai_fake::{model_package, FakeEvalai, TOKEN};
use crate::evalai_support::{
    bridge_config, config, metric, now_s, param, signed, slack, slack_body, tag, SECRET,
};
use crate::{
    app_on, artifact_tests, backend_tests, bridge_app, evalai_files, eventually, runs_of,
    still_once, tracked,
};

async fn slack_poke_harvests_a_model(b: Backend, a: Arts) {
    let fake = FakeEvalai::start();
    let (cfg_dir, path) = config(&fake, 3600);
    let (t, _store) = app_on!(b, a, bridge_config(path));
    let _keep = cfg_dir;
    fake.add(2, "finished", model_package(), ".zip");
    let started = Instant::now();
    let (s, v) = t.send(slack(2)).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(v["submission_id"], 2);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the Slack receiver must answer at once"
    );
    let row = eventually!(30, "submission 2 registered", {
        let r = tracked!(t, 2);
        r.filter(|r| r["state"] == "registered")
    });
    assert_eq!(row["model_name"], "bridge-test-challenge-1");
    assert_eq!(row["model_version"], 1);
    assert_eq!(row["evalai_status"], "finished");
    let runs = runs_of!(t, 2);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(run["info"]["run_name"], "method-2");
    assert_eq!(run["info"]["status"], "FINISHED");
    assert_eq!(param(run, "learning_rate").as_deref(), Some("0.0003"));
    assert_eq!(param(run, "framework").as_deref(), Some("pytorch"));
    assert_eq!(metric(run, "test_split.accuracy"), Some(0.502));
    assert_eq!(metric(run, "test_split.f1"), Some(0.25));
    assert_eq!(metric(run, "execution_time_s"), Some(0.226046));
    assert_eq!(
        tag(run, "evalai.participant_team_name").as_deref(),
        Some("Team Alpha")
    );
    assert_eq!(tag(run, "evalai.status").as_deref(), Some("finished"));
    assert_eq!(
        tag(run, "mlflow.note.content").as_deref(),
        Some("ResNet-50 fine-tuned, lr=3e-4, 20 epochs")
    );
    let run_id = run["info"]["run_id"].as_str().unwrap().to_string();
    let files = evalai_files!(t, run_id);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    for f in [
        "evalai/input_file.zip",
        "evalai/stdout_file.txt",
        "evalai/stderr_file.txt",
        "evalai/submission_result_file.json",
    ] {
        assert!(files.contains(&f), "{f} in {files:?}");
    }
    let (_, h, body) = t
        .raw(TestRequest::get().uri(&format!(
            "/get-artifact?run_uuid={run_id}&path=evalai/stdout_file.txt"
        )))
        .await;
    assert_eq!(&body[..], b"stdout of 2\n", "{h:?}");
    let mv = t
        .ok_get("model-versions/get?name=bridge-test-challenge-1&version=1")
        .await["model_version"]
        .clone();
    assert_eq!(mv["run_id"], run_id.as_str());
    let tags: Vec<(String, String)> = mv["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().into(),
                t["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        tags.iter().any(|(k, _)| k == "harvester.scan.status"),
        "{tags:?}"
    );
    // This package is no template submission (no signature, no input example, a pickled class): its
    // scan fails, with the validator's findings.
    let scan = eventually!(30, "the version's scan", {
        let (_, _, body) = t
            .raw(TestRequest::get().uri("/api/harvester/v1/scans/bridge-test-challenge-1/1"))
            .await;
        let s: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (s["scan_status"] != "pending").then_some(s)
    });
    assert_eq!(scan["status"], "failed", "{scan}");
    let rules: Vec<&str> = scan["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"HV-VAL-SIGNATURE") && rules.contains(&"HV-VAL-INPUT-EXAMPLE"),
        "{rules:?}"
    );
    assert!(
        tags.contains(&("evalai.submission_id".into(), "2".into())),
        "{tags:?}"
    );
    let uri = t
        .ok_get("model-versions/get-download-uri?name=bridge-test-challenge-1&version=1")
        .await;
    let loc = uri["artifact_uri"].as_str().unwrap().to_string();
    assert!(loc.starts_with("mlflow-artifacts:/"), "{loc}");
    let (_, _, mlmodel) = t
        .raw(TestRequest::get().uri(
            "/model-versions/get-artifact?name=bridge-test-challenge-1&version=1&path=MLmodel",
        ))
        .await;
    assert!(
        String::from_utf8_lossy(&mlmodel).contains("python_function"),
        "{mlmodel:?}"
    );
    // A second poke changes nothing.
    still_once!(t, 2, 1);
}

async fn signed_webhook_brings_metrics(b: Backend) {
    let fake = FakeEvalai::start();
    let (t, _dir) = bridge_app!(b, fake, 3600);
    let body = json!({"submission": {"id": 11, "status": "running"},
                      "result": [{"split": "test_split", "show_to_participant": true, "accuracies": {"accuracy": 0.77, "f1": 0.5}}]});
    // Bad signature, wrong secret, stale timestamp, no headers: 401 and nothing stored.
    let mut bad = signed(&body, SECRET, now_s());
    bad = bad.insert_header(("X-Harvester-Signature", "sha256=00"));
    for req in [
        bad,
        signed(&body, "other", now_s()),
        signed(&body, SECRET, now_s() - 301),
        TestRequest::post()
            .uri("/api/harvester/v1/evalai/onprem/webhook")
            .set_json(&body),
    ] {
        let (s, v) = t.send(req).await;
        assert_eq!(s.as_u16(), 401, "{v}");
        assert_eq!(v["error_code"], "UNAUTHENTICATED");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tracked!(t, 11).is_none());
    assert!(runs_of!(t, 11).is_empty());
    fake.add(11, "running", b"predictions".to_vec(), ".txt");
    let (s, v) = t.send(signed(&body, SECRET, now_s())).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let run = eventually!(20, "run 11 with the webhook's metrics", {
        let r = runs_of!(t, 11);
        r.into_iter()
            .find(|r| metric(r, "test_split.accuracy") == Some(0.77))
    });
    assert_eq!(run["info"]["status"], "RUNNING");
    assert_eq!(metric(&run, "test_split.f1"), Some(0.5));
    let (s, v) = t
        .send(
            TestRequest::post()
                .uri("/api/harvester/v1/evalai/nowhere/slack")
                .set_json(slack_body(1)),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (s, v) = t
        .send(
            TestRequest::post()
                .uri("/api/harvester/v1/evalai/onprem/slack")
                .set_json(json!({"text": "x"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
}

async fn poller_follows_submissions(b: Backend) {
    let fake = FakeEvalai::start();
    fake.add(1, "submitted", b"p".to_vec(), ".txt");
    fake.set(1, "started_at", json!(null));
    fake.with(|s| s.staff = false);
    let (t, _dir) = bridge_app!(b, fake, 1);
    eventually!(
        20,
        "run 1 scheduled",
        runs_of!(t, 1)
            .into_iter()
            .find(|r| r["info"]["status"] == "SCHEDULED")
    );
    fake.set(1, "status", json!("running"));
    fake.set(1, "started_at", json!("2026-11-26T18:00:00.000000Z"));
    eventually!(
        20,
        "run 1 running, started when EvalAI says",
        runs_of!(t, 1)
            .into_iter()
            .find(|r| r["info"]["status"] == "RUNNING"
                && r["info"]["start_time"] == json!(1_795_716_000_000i64))
    );
    // Throttled for a while: the poller waits as told and carries on.
    fake.with(|s| s.throttle = 2);
    fake.set(1, "status", json!("finished"));
    fake.add(3, "finished", b"q".to_vec(), ".txt");
    let run = eventually!(
        30,
        "run 1 finished",
        runs_of!(t, 1)
            .into_iter()
            .find(|r| r["info"]["status"] == "FINISHED")
    );
    // Not staff: the figures come from the host leaderboard.
    assert_eq!(metric(&run, "test_split.accuracy"), Some(0.501));
    let run3 = eventually!(
        30,
        "run 3",
        runs_of!(t, 3)
            .into_iter()
            .find(|r| r["info"]["status"] == "FINISHED")
    );
    assert_eq!(metric(&run3, "test_split.f1"), Some(0.25));
    assert_eq!(runs_of!(t, 1).len(), 1);
    let row = eventually!(
        10,
        "1 logged",
        tracked!(t, 1).filter(|r| r["state"] == "logged")
    );
    assert!(
        row["model_version"].is_null(),
        "a text file is not a model: {row}"
    );
    assert!(
        fake.count("/api/jobs/challenge/1/submission/?submitted_after=") > 0,
        "the watermark is used"
    );
}

async fn duplicate_signals_make_one_run(b: Backend) {
    let fake = FakeEvalai::start();
    let (t, _dir) = bridge_app!(b, fake, 3600);
    fake.add(5, "finished", model_package(), ".zip");
    let body = json!({"submission": {"id": 5}, "result": [{"test_split": {"accuracy": 0.9}}]});
    let reqs = (0..10).map(|i| {
        if i % 3 == 0 {
            signed(&body, SECRET, now_s())
        } else {
            slack(5)
        }
    });
    let answers = futures_util::future::join_all(reqs.map(|r| t.send(r))).await;
    assert!(
        answers.iter().all(|(s, _)| s.as_u16() == 200),
        "{answers:?}"
    );
    eventually!(
        30,
        format!("5 registered: {:?}", tracked!(t, 5)),
        tracked!(t, 5).filter(|r| r["state"] == "registered")
    );
    still_once!(t, 5, 5);
}

async fn metrics_before_the_record(b: Backend) {
    let fake = FakeEvalai::start();
    let (t, _dir) = bridge_app!(b, fake, 1);
    // The evaluation script reports before EvalAI's API shows the submission.
    let body = json!({"submission": {"id": 7}, "result": [{"split": "val_split", "accuracies": {"top5": 0.99}}]});
    let (s, v) = t.send(signed(&body, SECRET, now_s())).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let row = tracked!(t, 7).expect("tracked before the record exists");
    assert_ne!(row["state"], "registered");
    fake.add(7, "finished", b"x".to_vec(), ".txt");
    let run = eventually!(
        30,
        "run 7 with both metrics",
        runs_of!(t, 7)
            .into_iter()
            .find(|r| metric(r, "val_split.top5") == Some(0.99)
                && metric(r, "test_split.accuracy").is_some()
                // The pull writes the metrics, then the status: wait for the whole of it.
                && r["info"]["status"] == "FINISHED")
    );
    assert_eq!(run["info"]["status"], "FINISHED");
}

async fn outage_loses_nothing(b: Backend) {
    let fake = FakeEvalai::start();
    fake.add(8, "finished", b"x".to_vec(), ".txt");
    fake.with(|s| s.outage = true);
    let (t, _dir) = bridge_app!(b, fake, 1);
    t.send(slack(8)).await;
    let row = eventually!(
        20,
        "a failed attempt recorded",
        tracked!(t, 8).filter(|r| r["attempts"].as_i64() >= Some(1))
    );
    assert!(
        row["last_error"].as_str().unwrap_or("").contains("503"),
        "{row}"
    );
    assert!(runs_of!(t, 8).is_empty());
    fake.with(|s| s.outage = false);
    eventually!(
        40,
        "run 8 after the outage",
        runs_of!(t, 8)
            .into_iter()
            .find(|r| r["info"]["status"] == "FINISHED")
    );
    let row = eventually!(
        10,
        "8 logged",
        tracked!(t, 8).filter(|r| r["state"] == "logged")
    );
    assert!(row["last_error"].is_null(), "{row}");
}

async fn foreign_file_urls_are_refused(b: Backend) {
    let fake = FakeEvalai::start();
    let (t, _dir) = bridge_app!(b, fake, 3600);
    fake.add(9, "finished", b"x".to_vec(), ".txt");
    fake.set(
        9,
        "stdout_file",
        json!("http://198.51.100.7/media/stdout.txt"),
    );
    t.send(slack(9)).await;
    let row = eventually!(
        20,
        "9 logged",
        tracked!(t, 9).filter(|r| r["state"] == "logged")
    );
    assert!(
        row["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("refused stdout_file"),
        "{row}"
    );
    let run_id = runs_of!(t, 9)[0]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let files = evalai_files!(t, run_id);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    assert!(
        files.contains(&"evalai/input_file.txt") && !files.iter().any(|f| f.contains("stdout")),
        "{files:?}"
    );
}

async fn submissions_listing_validates(b: Backend) {
    let fake = FakeEvalai::start();
    let (t, _dir) = bridge_app!(b, fake, 3600);
    let (s, v) = t
        .send(TestRequest::get().uri("/api/harvester/v1/evalai/submissions?status=bogus"))
        .await;
    assert_eq!(
        (s.as_u16(), v["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
    let (s, v) = t
        .send(TestRequest::get().uri("/api/harvester/v1/evalai/submissions?status=failed"))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(v["submissions"], json!([]));
    assert!(!v.to_string().contains(TOKEN));
}

artifact_tests!(slack_poke_harvests_a_model);
backend_tests!(
    signed_webhook_brings_metrics,
    poller_follows_submissions,
    duplicate_signals_make_one_run,
    metrics_before_the_record,
    outage_loses_nothing,
    foreign_file_urls_are_refused,
    submissions_listing_validates,
);
