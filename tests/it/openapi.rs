//! The committed `api-spec/openapi.json` must equal the document generated from the code.
//! Regenerate with `cargo run -- dump-openapi > api-spec/openapi.json`.

#[test]
fn committed_spec_matches_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/api-spec/openapi.json"
    ))
    .expect("api-spec/openapi.json is committed");
    let generated = harvester::openapi::spec_json();
    assert!(
        committed == generated,
        "api-spec/openapi.json is stale: run `cargo run -- dump-openapi > api-spec/openapi.json` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("valid JSON");
    let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
    assert_eq!(
        paths, 114,
        "unexpected endpoint count: update this number when adding routes on purpose"
    );
}
