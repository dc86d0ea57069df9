//! ONNX models in-process, on tract (pure Rust): no Python, no worker, no socket. The fast path answers
//! exactly what `mlflow models serve` answers for the requests it takes: a one-input float model with a
//! column-based signature of float/double columns, called with `dataframe_split` or `dataframe_records`
//! holding exactly those columns as numbers and no params. MLflow's ONNX flavour then feeds the frame's
//! values as one float32 tensor and answers `{"predictions": [{output: value, …}, …]}` with each output
//! flattened to one value per row. Anything else (CSV, tensors, params, malformed input, outputs that are
//! not one value per row) is left to the pyfunc worker, whose answer is stock's by construction.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use tract_onnx::prelude::*;

use super::mlmodel::MlModel;

pub struct Onnx {
    plan: Arc<TypedRunnableModel>,
    /// The signature's columns, in order (the frame is fed in this order).
    columns: Vec<String>,
    outputs: Vec<String>,
}

impl Onnx {
    /// Load the model for the fast path; `Err` says why it cannot take one (then the worker serves).
    pub fn load(dir: &Path, model: &MlModel) -> Result<Onnx, String> {
        let file = model
            .onnx_file
            .as_deref()
            .ok_or("the onnx flavour names no model file")?;
        let cols = model
            .inputs
            .as_ref()
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty() && !model.tensor_inputs() && model.params.is_none())
            .ok_or("the signature is not a column-based one without params")?;
        let mut columns = vec![];
        for c in cols {
            let t = c["type"].as_str().unwrap_or("");
            if !matches!(t, "double" | "float") {
                return Err(format!("column type {t} is not a float"));
            }
            columns.push(c["name"].as_str().ok_or("an unnamed column")?.to_string());
        }
        let path = super::local_file(dir, file)?;
        let typed = tract_onnx::onnx()
            .model_for_path(&path)
            .and_then(|m| m.into_optimized())
            .map_err(|e| format!("tract cannot load {file}: {e}"))?;
        if typed.inputs.len() != 1 {
            return Err(format!("{} inputs", typed.inputs.len()));
        }
        let fact = typed.input_fact(0).map_err(|e| e.to_string())?;
        if fact.datum_type != f32::datum_type() || fact.rank() != 2 {
            return Err(format!("input is {fact:?}, not a float32 matrix"));
        }
        let outputs = typed
            .outputs
            .iter()
            .map(|o| {
                typed
                    .outlet_label(*o)
                    .map(String::from)
                    .unwrap_or_else(|| typed.node(o.node).name.clone())
            })
            .collect();
        let plan = typed.into_runnable().map_err(|e| e.to_string())?;
        Ok(Onnx {
            plan,
            columns,
            outputs,
        })
    }

    /// The frame's rows, in the signature's column order, when the request is one the fast path takes.
    fn rows(&self, body: &[u8]) -> Option<Vec<Vec<f64>>> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let obj = v.as_object()?;
        if obj.len() != 1 {
            return None;
        }
        let num = |v: &Value| if v.is_number() { v.as_f64() } else { None };
        let rows: Vec<Vec<f64>> = if let Some(split) = obj.get("dataframe_split") {
            let split = split.as_object()?;
            if split.keys().any(|k| k != "columns" && k != "data") {
                return None;
            }
            let cols: Vec<&str> = split
                .get("columns")?
                .as_array()?
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()?;
            let order: Vec<usize> = self
                .columns
                .iter()
                .map(|c| cols.iter().position(|x| x == c))
                .collect::<Option<_>>()?;
            if cols.len() != self.columns.len() {
                return None;
            }
            split
                .get("data")?
                .as_array()?
                .iter()
                .map(|r| {
                    let r = r.as_array().filter(|r| r.len() == cols.len())?;
                    order
                        .iter()
                        .map(|&i| num(&r[i]))
                        .collect::<Option<Vec<f64>>>()
                })
                .collect::<Option<_>>()?
        } else if let Some(records) = obj.get("dataframe_records") {
            records
                .as_array()?
                .iter()
                .map(|r| {
                    let r = r.as_object().filter(|r| r.len() == self.columns.len())?;
                    self.columns
                        .iter()
                        .map(|c| num(r.get(c)?))
                        .collect::<Option<Vec<f64>>>()
                })
                .collect::<Option<_>>()?
        } else {
            return None;
        };
        (!rows.is_empty()).then_some(rows)
    }

    /// The answer, when the fast path takes the request.
    pub fn answer(&self, content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
        let ct: Vec<String> = content_type
            .split(';')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect();
        if ct[0] != "application/json" || !ct[1..].iter().all(|p| p == "charset=utf-8") {
            return None;
        }
        let rows = self.rows(body)?;
        let (n, k) = (rows.len(), self.columns.len());
        // As MLflow's flavour: float64 values cast to float32.
        let flat: Vec<f32> = rows.iter().flatten().map(|&x| x as f32).collect();
        let input = Tensor::from_shape(&[n, k], &flat).ok()?;
        let out = self.plan.run(tvec!(input.into_tvalue())).ok()?;
        let mut columns: Vec<Vec<Value>> = vec![];
        for t in out.iter() {
            if t.len() != n {
                return None; // stock fails to build its frame here: the worker gives that error
            }
            columns.push(values(t)?);
        }
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let row: Map<String, Value> = self
                    .outputs
                    .iter()
                    .zip(&columns)
                    .map(|(name, col)| (name.clone(), col[i].clone()))
                    .collect();
                Value::Object(row)
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({"predictions": records})).ok()
    }
}

/// A tensor's values as JSON, as numpy's encoder writes them (float32 widened to float64).
fn values(t: &Tensor) -> Option<Vec<Value>> {
    let dt = t.datum_type();
    let out = if dt == f32::datum_type() {
        t.to_plain_array_view::<f32>()
            .ok()?
            .iter()
            .map(|&x| float(x as f64))
            .collect::<Option<_>>()?
    } else if dt == f64::datum_type() {
        t.to_plain_array_view::<f64>()
            .ok()?
            .iter()
            .map(|&x| float(x))
            .collect::<Option<_>>()?
    } else if dt == i64::datum_type() {
        t.to_plain_array_view::<i64>()
            .ok()?
            .iter()
            .map(|&x| Value::from(x))
            .collect()
    } else if dt == i32::datum_type() {
        t.to_plain_array_view::<i32>()
            .ok()?
            .iter()
            .map(|&x| Value::from(x))
            .collect()
    } else if dt == bool::datum_type() {
        t.to_plain_array_view::<bool>()
            .ok()?
            .iter()
            .map(|&x| Value::from(x))
            .collect()
    } else {
        return None;
    };
    Some(out)
}

/// Finite floats only (stock writes NaN, which is not JSON: leave those to the worker).
fn float(x: f64) -> Option<Value> {
    serde_json::Number::from_f64(x).map(Value::Number)
}
