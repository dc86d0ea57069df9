//! The validator: a submission package against the competition template. Exactly one MLflow model
//! with the python_function flavour, a signature and an input example, every requirement pinned with
//! `==`, a declared Python version, size limits, and for models from code the template's
//! `predict(self, context, model_input, params=None)`. Each failure is a high `HV-VAL-*` finding.

use yaml_rust2::{Yaml, YamlLoader};

use super::deps::{classify, requirement_lines, Line, Pin};
use super::{Finding, Scan, Severity};

/// Largest package the template allows, and most files.
pub const MAX_PACKAGE_BYTES: u64 = 2 << 30;
pub const MAX_PACKAGE_FILES: usize = 10_000;

fn fail(scan: &mut Scan, rule: &str, file: &str, msg: impl Into<String>) {
    scan.add(Finding::new(rule, Severity::High, file, msg));
}

/// Does `doc` hold a non-empty signature input schema?
fn has_signature(doc: &Yaml) -> bool {
    match &doc["signature"]["inputs"] {
        Yaml::String(s) => {
            let t = s.trim();
            !t.is_empty() && t != "[]" && t != "null"
        }
        _ => false,
    }
}

pub fn check(scan: &mut Scan) {
    let models: Vec<String> = scan
        .manifest
        .iter()
        .map(|(p, _)| p.clone())
        .filter(|p| p == "MLmodel" || p.ends_with("/MLmodel"))
        .collect();
    let total: u64 = scan.manifest.iter().map(|(_, s)| s).sum();
    if total > MAX_PACKAGE_BYTES || scan.manifest.len() > MAX_PACKAGE_FILES {
        fail(scan, "HV-VAL-SIZE", "(package)", format!(
            "{} files, {total} bytes: a package holds at most {MAX_PACKAGE_FILES} files and {MAX_PACKAGE_BYTES} bytes",
            scan.manifest.len()
        ));
    }
    let mlmodel = match models.as_slice() {
        [one] => one.clone(),
        [] => {
            return fail(
                scan,
                "HV-VAL-MLMODEL",
                "(package)",
                "no MLmodel file: a submission is one MLflow model",
            )
        }
        many => {
            return fail(
                scan,
                "HV-VAL-MLMODEL",
                &many[1],
                format!(
                    "{} MLmodel files ({}): a submission is exactly one MLflow model",
                    many.len(),
                    many.join(", ")
                ),
            )
        }
    };
    let root = mlmodel.strip_suffix("MLmodel").unwrap_or("").to_string();
    let text = scan.texts.get(&mlmodel).cloned().unwrap_or_default();
    let doc = match YamlLoader::load_from_str(&text) {
        Ok(mut d) if !d.is_empty() => d.swap_remove(0),
        _ => {
            return fail(
                scan,
                "HV-VAL-MLMODEL",
                &mlmodel,
                "MLmodel is not a readable YAML document",
            )
        }
    };
    let pyfunc = &doc["flavors"]["python_function"];
    if pyfunc.is_badvalue() {
        fail(scan, "HV-VAL-PYFUNC", &mlmodel, "the model has no python_function flavour, so it cannot be served through the template's predict");
    }
    if !has_signature(&doc) {
        fail(scan, "HV-VAL-SIGNATURE", &mlmodel, "no signature: save the model with signature=infer_signature(...) (the served API is generated from it)");
    }
    let example = doc["saved_input_example_info"]["artifact_path"]
        .as_str()
        .map(|p| format!("{root}{p}"));
    match example {
        Some(p) if scan.manifest.iter().any(|(m, _)| *m == p) => {}
        Some(p) => fail(
            scan,
            "HV-VAL-INPUT-EXAMPLE",
            &mlmodel,
            format!("the input example {p} is missing"),
        ),
        None => fail(
            scan,
            "HV-VAL-INPUT-EXAMPLE",
            &mlmodel,
            "no input example: save the model with input_example=...",
        ),
    }
    let req_path = format!("{root}requirements.txt");
    match scan.texts.get(&req_path).cloned() {
        None => fail(
            scan,
            "HV-VAL-REQUIREMENTS",
            &mlmodel,
            "no requirements.txt beside MLmodel",
        ),
        Some(reqs) => {
            let loose: Vec<String> = requirement_lines(&reqs)
                .into_iter()
                .filter_map(|(_, l)| match classify(&l) {
                    Line::Pin(Pin::Unpinned(name)) => Some(name),
                    _ => None,
                })
                .collect();
            if !loose.is_empty() {
                fail(
                    scan,
                    "HV-VAL-REQUIREMENTS",
                    &req_path,
                    format!("not pinned with ==: {}", loose.join(", ")),
                );
            }
        }
    }
    let env_python = scan
        .texts
        .get(&format!("{root}python_env.yaml"))
        .and_then(|t| YamlLoader::load_from_str(t).ok())
        .and_then(|d| {
            d.first().and_then(|d| {
                d["python"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| d["python"].as_f64().map(|f| f.to_string()))
            })
        });
    if pyfunc["python_version"].as_str().is_none() && env_python.is_none() {
        fail(
            scan,
            "HV-VAL-PYTHON",
            &mlmodel,
            "no Python version declared (python_function.python_version or python_env.yaml)",
        );
    }
    if pyfunc["loader_module"].as_str() == Some("mlflow.pyfunc.loaders.code_model") {
        let code = pyfunc["model_code_path"]
            .as_str()
            .and_then(|p| p.rsplit(['/', '\\']).next())
            .map(|n| format!("{root}{n}"));
        match code
            .as_ref()
            .and_then(|c| scan.texts.get(c).map(|t| (c.clone(), t.clone())))
        {
            Some((file, src)) => {
                if let Err(why) = super::python::template_interface(&src) {
                    fail(scan, "HV-VAL-TEMPLATE", &file, why);
                }
            }
            None => fail(
                scan,
                "HV-VAL-TEMPLATE",
                &mlmodel,
                "the model's code file is not in the package",
            ),
        }
    }
}
