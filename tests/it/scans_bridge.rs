//! The acceptance path: a submission made from the template, harvested by the bridge, goes from
//! `pending` to `passed` with no manual step; the same submission with one malicious line in `predict`
//! goes to `failed`, with the finding that names the file and the line.

use std::io::Write;

use actix_web::test::TestRequest;
use serde_json::Value;

use crate::common::Backend;
use crate::evalai_fake::FakeEvalai;
use crate::evalai_support::slack;
use crate::scans::{malicious_model, template_files, template_model};
use crate::{backend_tests, bridge_app, eventually, tracked};

/// A submission zip: the model folder beside the participant's own files.
fn package(model_py: &str) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    z.start_file("NOTES.md", o).unwrap();
    z.write_all(b"my submission\n").unwrap();
    for (name, body) in template_files(model_py) {
        z.start_file(format!("model/{name}"), o).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

async fn harvested_template_submissions_are_scanned(b: Backend) {
    let fake = FakeEvalai::start();
    let (t, _dir) = bridge_app!(b, fake, 3600);
    fake.add(31, "finished", package(template_model()), ".zip");
    fake.add(32, "finished", package(&malicious_model()), ".zip");
    for id in [31, 32] {
        let (s, v) = t.send(slack(id)).await;
        assert_eq!(s.as_u16(), 200, "{v}");
    }
    let mut versions = Vec::new();
    for id in [31, 32] {
        let row = eventually!(60, "the submission registered", {
            tracked!(t, id).filter(|r| r["state"] == "registered")
        });
        versions.push(row["model_version"].as_i64().unwrap());
    }
    macro_rules! scan {
        ($v:expr) => {{
            let req = TestRequest::get().uri(&format!(
                "/api/harvester/v1/scans/bridge-test-challenge-1/{}",
                $v
            ));
            serde_json::from_slice::<Value>(&t.raw(req).await.2).unwrap()
        }};
    }
    let good = eventually!(60, "the template submission's scan", {
        let s = scan!(versions[0]);
        (s["scan_status"] != "pending").then_some(s)
    });
    assert_eq!(good["status"], "passed", "{good}");
    assert_eq!(good["history"][0]["event"], "created", "{good}");
    let bad = eventually!(60, "the malicious submission's scan", {
        let s = scan!(versions[1]);
        (s["scan_status"] != "pending").then_some(s)
    });
    assert_eq!(bad["status"], "failed", "{bad}");
    let hit = bad["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "B605")
        .cloned()
        .unwrap_or_else(|| panic!("{bad}"));
    assert_eq!(
        (hit["file"].as_str(), hit["line"].as_u64()),
        (Some("model.py"), Some(26)),
        "{hit}"
    );

    // A zip bomb is not unpacked: no version, and the run says why.
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    z.start_file("model/MLmodel", o).unwrap();
    z.write_all(b"flavors: {}\n").unwrap();
    z.start_file("model/zeros.bin", o).unwrap();
    z.write_all(&vec![0u8; 40 << 20]).unwrap();
    fake.add(33, "finished", z.finish().unwrap().into_inner(), ".zip");
    let (s, _) = t.send(slack(33)).await;
    assert_eq!(s.as_u16(), 200);
    let row = eventually!(60, "the bomb's submission logged", {
        tracked!(t, 33).filter(|r| r["state"] == "logged")
    });
    assert!(row["model_version"].is_null(), "{row}");
    let runs = crate::runs_of!(t, 33);
    let why = runs[0]["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "harvester.evalai.model_error")
        .cloned();
    assert!(
        why.is_some_and(|w| w["value"].as_str().unwrap().contains("archive refused")),
        "{runs:?}"
    );
}

backend_tests!(harvested_template_submissions_are_scanned);
