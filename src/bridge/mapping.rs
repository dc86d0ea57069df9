//! EvalAI → MLflow, as pure functions of the JSON EvalAI returns: run name, times and status, tags,
//! params from `submission_metadata`, and metric keys `<split>.<label>`.

use serde_json::Value;

/// EvalAI's terminal statuses.
pub fn is_terminal(status: &str) -> bool {
    matches!(status, "finished" | "failed" | "cancelled" | "archived")
}

/// The MLflow run status for an EvalAI status.
pub fn run_status(status: &str) -> &'static str {
    match status {
        "finished" => "FINISHED",
        "failed" => "FAILED",
        "cancelled" | "archived" => "KILLED",
        "running" | "resuming" | "partially_evaluated" => "RUNNING",
        _ => "SCHEDULED",
    }
}

/// Milliseconds of an ISO 8601 timestamp as EvalAI writes them (`2026-11-26T17:02:06.680619Z`).
pub fn millis(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    let dt = aws_sdk_s3::primitives::DateTime::from_str(
        s,
        aws_sdk_s3::primitives::DateTimeFormat::DateTime,
    )
    .ok()?;
    dt.to_millis().ok()
}

pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() && s != "None" => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A dataset split's codename as evaluation scripts write it: `Test Split` → `test_split`.
pub fn split_codename(name: &str) -> String {
    let mut out = String::new();
    for ch in name.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// An MLflow key (param or metric): letters, digits and `_ - . / space`; anything else becomes `_`.
pub fn key(raw: &str) -> String {
    let k: String = raw
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "_-./ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(250)
        .collect();
    if k.trim().is_empty() || k.contains("..") || k.starts_with('/') {
        "_".repeat(k.len().max(1))
    } else {
        k
    }
}

fn clip(s: String, n: usize) -> String {
    if s.chars().count() <= n {
        s
    } else {
        s.chars().take(n).collect()
    }
}

/// The hyperparameters: each `submission_metadata` answer (a list of attribute objects as the UI and CLI
/// send it, or a plain object as other clients do), the `values` of a checkbox joined with commas.
pub fn params(metadata: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let k = key(k);
            if !out.iter().any(|(e, _)| *e == k) {
                out.push((k, clip(v, 6000)));
            }
        }
    };
    match metadata {
        Value::Array(items) => {
            for item in items {
                let Some(name) = item.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let value = match (item.get("value"), item.get("values")) {
                    (Some(v), _) if text(v).is_some() => text(v),
                    (_, Some(Value::Array(vs))) if !vs.is_empty() => {
                        Some(vs.iter().filter_map(text).collect::<Vec<_>>().join(","))
                    }
                    _ => None,
                };
                push(name, value);
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                let v = match v {
                    Value::Array(_) | Value::Object(_) => Some(v.to_string()),
                    other => text(other),
                };
                push(k, v);
            }
        }
        _ => {}
    }
    out
}

/// The run's tags from the submission record.
pub fn tags(installation: &str, s: &Value) -> Vec<(String, String)> {
    let mut out = vec![("evalai.installation".to_string(), installation.to_string())];
    for (tag, field) in [
        ("evalai.submission_id", "id"),
        ("evalai.participant_team", "participant_team"),
        ("evalai.participant_team_name", "participant_team_name"),
        ("evalai.status", "status"),
        ("evalai.submitted_at", "submitted_at"),
        ("evalai.project_url", "project_url"),
        ("evalai.publication_url", "publication_url"),
        ("evalai.created_by", "created_by"),
        ("evalai.is_public", "is_public"),
        ("evalai.is_baseline", "is_baseline"),
        ("evalai.challenge_phase", "challenge_phase"),
        ("mlflow.note.content", "method_description"),
    ] {
        if let Some(v) = s.get(field).and_then(text) {
            out.push((tag.to_string(), clip(v, 8000)));
        }
    }
    out
}

pub fn run_name(s: &Value) -> String {
    match s.get("method_name").and_then(text) {
        Some(n) if !n.trim().is_empty() => clip(n, 250),
        _ => format!(
            "submission-{}",
            s.get("id").and_then(Value::as_i64).unwrap_or(0)
        ),
    }
}

/// Metrics an evaluation script reports, in either of EvalAI's shapes: the remote worker's list of
/// `{"split", "accuracies"}`, or `evaluate()`'s list of `{"<split>": {metric: value}}`; also a plain
/// `{"<split>": {metric: value}}` object. Only finite numbers are kept.
pub fn reported_metrics(result: &Value) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut split_map = |split: &str, m: &Value| {
        if let Some(o) = m.as_object() {
            for (label, v) in o {
                if let Some(x) = v.as_f64().filter(|x| x.is_finite()) {
                    out.push((key(&format!("{split}.{label}")), x));
                }
            }
        }
    };
    let items: Vec<&Value> = match result {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![result],
        _ => vec![],
    };
    for item in items {
        match (
            item.get("split").and_then(Value::as_str),
            item.get("accuracies"),
        ) {
            (Some(split), Some(acc)) => split_map(split, acc),
            _ => {
                if let Some(o) = item.as_object() {
                    for (split, m) in o {
                        split_map(split, m);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_fields() {
        let s: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/evalai/jobs_submission_1.json"
        ))
        .expect("fixture");
        assert_eq!(run_name(&s), "resnet50-finetune");
        assert_eq!(millis(&s["started_at"]), Some(1_795_712_526_680));
        assert_eq!(
            params(&s["submission_metadata"]),
            vec![
                ("learning_rate".to_string(), "0.0003".to_string()),
                ("framework".to_string(), "pytorch".to_string())
            ]
        );
        let t = tags("onprem", &s);
        assert!(t.contains(&("evalai.submission_id".into(), "1".into())));
        assert!(t.contains(&(
            "mlflow.note.content".into(),
            "ResNet-50 fine-tuned, lr=3e-4, 20 epochs".into()
        )));
        assert_eq!(
            run_name(&json!({"id": 7, "method_name": ""})),
            "submission-7"
        );
        assert_eq!(split_codename("Test Split"), "test_split");
        assert_eq!(run_status("cancelled"), "KILLED");
        assert_eq!(millis(&json!("None")), None);
    }

    #[test]
    fn metrics_in_every_shape() {
        let remote = json!([{"split": "test_split", "show_to_participant": true, "accuracies": {"accuracy": 0.91, "f1": 0.88}}]);
        assert_eq!(
            reported_metrics(&remote),
            vec![
                ("test_split.accuracy".to_string(), 0.91),
                ("test_split.f1".to_string(), 0.88)
            ]
        );
        let evaluate =
            json!([{"train_split": {"acc": 1}}, {"test_split": {"acc": 0.5, "note": "x"}}]);
        assert_eq!(
            reported_metrics(&evaluate),
            vec![
                ("train_split.acc".to_string(), 1.0),
                ("test_split.acc".to_string(), 0.5)
            ]
        );
        assert_eq!(
            params(&json!([{"name": "opts", "type": "checkbox", "values": ["a", "b"]}])),
            vec![("opts".to_string(), "a,b".to_string())]
        );
    }
}
