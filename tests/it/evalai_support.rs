//! Helpers of the EvalAI bridge tests: the config file for a test EvalAI, Slack and signed-webhook
//! requests, and waiting for runs and tracked submissions.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::evalai_fake::{FakeEvalai, TOKEN};

pub const SECRET: &str = "test-webhook-secret";
pub const EXPERIMENT: &str = "evalai/bridge-test-challenge-1/dev";

/// The config file for `fake`, in a temp dir that must outlive the app.
pub fn config(fake: &FakeEvalai, poll_secs: u64) -> (tempfile::TempDir, String) {
    static ENV: std::sync::Once = std::sync::Once::new();
    ENV.call_once(|| {
        std::env::set_var("HV_TEST_EVALAI_TOKEN", TOKEN);
        std::env::set_var("HV_TEST_EVALAI_SECRET", SECRET);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("evalai.toml");
    std::fs::write(
        &path,
        format!(
            "[[evalai]]\nname = \"onprem\"\nurl = \"{}\"\ntoken_env = \"HV_TEST_EVALAI_TOKEN\"\nauth = \"token\"\n\
             challenges = [1]\npoll_interval_secs = {poll_secs}\nwebhook_secret_env = \"HV_TEST_EVALAI_SECRET\"\n\
             registered_model = \"{{challenge_slug}}\"\n",
            fake.url
        ),
    )
    .expect("write config");
    let p = path.display().to_string();
    (dir, p)
}

pub fn bridge_config(path: String) -> impl FnOnce(&mut harvester::config::ServerConfig) {
    move |c| {
        c.evalai_config = Some(path);
        c.job_poll_ms = 20;
        c.job_lease_secs = 2;
    }
}

#[macro_export]
macro_rules! bridge_app {
    ($b:expr, $fake:expr, $poll:expr) => {{
        let (dir, path) = $crate::evalai_support::config(&$fake, $poll);
        (
            $crate::app!($b, $crate::evalai_support::bridge_config(path)),
            dir,
        )
    }};
}

/// Poll `f` every 50 ms until it gives `Some`, for at most `secs` seconds.
#[macro_export]
macro_rules! eventually {
    ($secs:expr, $what:expr, $f:expr) => {{
        let start = std::time::Instant::now();
        loop {
            if let Some(v) = $f {
                break v;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs($secs),
                "timed out waiting for {}",
                $what
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }};
}

pub fn slack_body(id: i64) -> Value {
    let mut v: Value = serde_json::from_str(include_str!(
        "../fixtures/evalai/slack_webhook_new_submission_payload.json"
    ))
    .expect("fixture");
    v["attachments"][0]["fields"][2]["value"] = json!(id);
    v
}

pub fn slack(id: i64) -> TestRequest {
    TestRequest::post()
        .uri("/api/harvester/v1/evalai/onprem/slack")
        .set_json(slack_body(id))
}

pub fn signed(body: &Value, secret: &str, ts: i64) -> TestRequest {
    let raw = body.to_string();
    let sig = harvester::bridge::signals::sign(secret, &ts.to_string(), raw.as_bytes());
    TestRequest::post()
        .uri("/api/harvester/v1/evalai/onprem/webhook")
        .insert_header(("content-type", "application/json"))
        .insert_header(("X-Harvester-Signature", sig))
        .insert_header(("X-Harvester-Timestamp", ts.to_string()))
        .set_payload(raw)
}

pub fn now_s() -> i64 {
    harvester::service::now_ms() / 1000
}

/// The runs of submission `id` (every lifecycle stage).
#[macro_export]
macro_rules! runs_of {
    ($t:expr, $id:expr) => {{
        let (s, e) = $t.get(&format!("experiments/get-by-name?experiment_name={}", $crate::evalai_support::EXPERIMENT)).await;
        if s.as_u16() != 200 {
            Vec::new()
        } else {
            let exp = e["experiment"]["experiment_id"].as_str().unwrap_or_default().to_string();
            let v = $t
                .ok("runs/search", serde_json::json!({"experiment_ids": [exp], "run_view_type": "ALL",
                    "filter": format!("tags.`evalai.submission_id` = '{}'", $id)}))
                .await;
            v["runs"].as_array().cloned().unwrap_or_default()
        }
    }};
}

#[macro_export]
macro_rules! tracked {
    ($t:expr, $id:expr) => {{
        let (_, v) = $t
            .send(TestRequest::get().uri("/api/harvester/v1/evalai/submissions?name=onprem"))
            .await;
        v["submissions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["submission_id"] == serde_json::json!($id))
            .cloned()
    }};
}

/// `pokes` more Slack pokes for submission `id` leave it with one run and the model with one version.
#[macro_export]
macro_rules! still_once {
    ($t:expr, $id:expr, $pokes:expr) => {{
        for _ in 0..$pokes {
            $t.send($crate::evalai_support::slack($id)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        assert_eq!($crate::runs_of!($t, $id).len(), 1);
        let (_, v) = $t
            .get("model-versions/search?filter=name%3D%27bridge-test-challenge-1%27")
            .await;
        assert_eq!(v["model_versions"].as_array().map(Vec::len), Some(1), "{v}");
    }};
}

pub fn metric(run: &Value, key: &str) -> Option<f64> {
    run["data"]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["key"] == key)?["value"]
        .as_f64()
}

pub fn param(run: &Value, key: &str) -> Option<String> {
    Some(
        run["data"]["params"]
            .as_array()?
            .iter()
            .find(|m| m["key"] == key)?["value"]
            .as_str()?
            .to_string(),
    )
}

pub fn tag(run: &Value, key: &str) -> Option<String> {
    Some(
        run["data"]["tags"]
            .as_array()?
            .iter()
            .find(|m| m["key"] == key)?["value"]
            .as_str()?
            .to_string(),
    )
}

/// The paths under a run's `evalai/` artifacts.
#[macro_export]
macro_rules! evalai_files {
    ($t:expr, $run_id:expr) => {{
        let listed = $t
            .ok_get(&format!("artifacts/list?run_id={}&path=evalai", $run_id))
            .await;
        listed["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    }};
}
