//! The OpenAPI 3.1 document of one served version, generated from its MLflow signature: typed JSON
//! schemas for the four JSON request formats (and CSV), tensors by dtype and shape, the params schema,
//! the output schema, the model's descriptions and its source run's metrics.

use serde_json::{json, Map, Value};

use super::mlmodel::MlModel;
use crate::types::registry::ModelVersion;

/// What the document describes besides the signature.
pub struct About<'a> {
    pub mv: &'a ModelVersion,
    pub model_description: Option<&'a str>,
    pub metrics: &'a [(String, f64)],
    /// The model's own `serving_input_example.json`, when it was logged with an input example.
    pub example: Option<Value>,
    /// Where the version is invoked, e.g. `/serving/iris/3`.
    pub base: String,
}

/// A JSON schema for one MLflow column or item type.
fn of_type(t: &Value) -> Value {
    match t["type"].as_str().unwrap_or("") {
        "boolean" => json!({"type": "boolean"}),
        "integer" => json!({"type": "integer", "format": "int32"}),
        "long" => json!({"type": "integer", "format": "int64"}),
        "float" => json!({"type": "number", "format": "float"}),
        "double" => json!({"type": "number", "format": "double"}),
        "string" => json!({"type": "string"}),
        "binary" => json!({"type": "string", "contentEncoding": "base64"}),
        "datetime" => json!({"type": "string", "format": "date-time"}),
        "array" => json!({"type": "array", "items": of_type(&t["items"])}),
        "object" => {
            let mut props = Map::new();
            let mut required = vec![];
            for p in t["properties"].as_object().into_iter().flatten() {
                props.insert(p.0.clone(), of_type(p.1));
                if p.1["required"].as_bool().unwrap_or(true) {
                    required.push(json!(p.0));
                }
            }
            json!({"type": "object", "properties": props, "required": required})
        }
        "map" => json!({"type": "object", "additionalProperties": of_type(&t["values"])}),
        _ => json!({}),
    }
}

/// An example value of a JSON schema built by [`of_type`].
fn example_of(s: &Value) -> Value {
    match s["type"].as_str() {
        Some("boolean") => json!(true),
        Some("integer") => json!(1),
        Some("number") => json!(0.5),
        Some("string") if s["format"] == "date-time" => json!("2026-01-01T00:00:00"),
        Some("string") if s.get("contentEncoding").is_some() => json!("aGFydmVzdGVy"),
        Some("string") => json!("text"),
        Some("array") => json!([example_of(&s["items"])]),
        Some("object") => Value::Object(
            s["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), example_of(v)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn tensor_schema(spec: &Value) -> Value {
    let dtype = spec["dtype"].as_str().unwrap_or("float64");
    let mut s = if dtype.starts_with("int") || dtype.starts_with("uint") {
        json!({"type": "integer"})
    } else if dtype.starts_with("float") {
        json!({"type": "number"})
    } else if dtype == "bool" {
        json!({"type": "boolean"})
    } else {
        json!({"type": "string"})
    };
    let shape: Vec<i64> = spec["shape"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    // The first dimension is the batch: instances are arrays of the remaining dimensions.
    for &d in shape.iter().skip(1).rev() {
        s = if d > 0 {
            json!({"type": "array", "items": s, "minItems": d, "maxItems": d})
        } else {
            json!({"type": "array", "items": s})
        };
    }
    json!({"type": "array", "items": s, "description": format!("dtype {dtype}, shape {shape:?}")})
}

/// Request body schemas and examples, one per format.
fn request(model: &MlModel, params: Option<&Value>) -> (Vec<(&'static str, Value, Value)>, Value) {
    let cols: Vec<Value> = model
        .inputs
        .as_ref()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let mut formats = vec![];
    if model.tensor_inputs() {
        let s = tensor_schema(&cols[0]["tensor-spec"]);
        let ex = json!([example_of(&s["items"])]);
        formats.push(("instances", s.clone(), ex.clone()));
        formats.push(("inputs", s, ex));
    } else if !cols.is_empty() {
        let names: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| c["name"].as_str().map_or(i.to_string(), String::from))
            .collect();
        let types: Vec<Value> = cols.iter().map(of_type).collect();
        let row: Map<String, Value> = names.iter().cloned().zip(types.iter().cloned()).collect();
        let required: Vec<&String> = names
            .iter()
            .zip(&cols)
            .filter(|(_, c)| c["required"].as_bool().unwrap_or(true))
            .map(|(n, _)| n)
            .collect();
        let record = json!({"type": "object", "properties": row, "required": required});
        let ex_row: Map<String, Value> = names
            .iter()
            .cloned()
            .zip(types.iter().map(example_of))
            .collect();
        let split = json!({"type": "object", "required": ["columns", "data"], "properties": {
            "columns": {"type": "array", "items": {"type": "string", "enum": names}},
            "data": {"type": "array", "items": {"type": "array", "prefixItems": types}},
            "index": {"type": "array"}}});
        let columnar: Map<String, Value> = names
            .iter()
            .cloned()
            .zip(types.iter().map(|t| json!({"type": "array", "items": t})))
            .collect();
        formats.push((
            "dataframe_split",
            split,
            json!({"columns": names, "data": [ex_row.values().cloned().collect::<Vec<_>>()]}),
        ));
        formats.push((
            "dataframe_records",
            json!({"type": "array", "items": record.clone()}),
            json!([ex_row.clone()]),
        ));
        formats.push((
            "instances",
            json!({"type": "array", "items": record}),
            json!([ex_row.clone()]),
        ));
        formats.push((
            "inputs",
            json!({"type": "object", "properties": columnar}),
            Value::Object(
                ex_row
                    .iter()
                    .map(|(k, v)| (k.clone(), json!([v])))
                    .collect(),
            ),
        ));
    } else {
        for f in [
            "dataframe_split",
            "dataframe_records",
            "instances",
            "inputs",
        ] {
            formats.push((f, json!({}), Value::Null));
        }
    }
    let params_schema = match params {
        Some(p) => {
            let props: Map<String, Value> = p
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let mut s = of_type(p);
                    if p["shape"].is_array() {
                        s = json!({"type": "array", "items": s});
                    }
                    s["default"] = p["default"].clone();
                    Some((p["name"].as_str()?.to_string(), s))
                })
                .collect();
            json!({"type": "object", "properties": props, "additionalProperties": false})
        }
        None => json!({"type": "object"}),
    };
    (formats, params_schema)
}

fn response(model: &MlModel) -> Value {
    let cols: Vec<Value> = model
        .outputs
        .as_ref()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let items = if model
        .outputs
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().all(|c| c["type"] == "tensor"))
        && !cols.is_empty()
    {
        tensor_schema(&cols[0]["tensor-spec"])["items"].clone()
    } else if cols.len() == 1 && cols[0]["name"].is_null() {
        of_type(&cols[0])
    } else if !cols.is_empty() {
        let props: Map<String, Value> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c["name"].as_str().map_or(i.to_string(), String::from),
                    of_type(c),
                )
            })
            .collect();
        json!({"type": "object", "properties": props})
    } else {
        json!({})
    };
    json!({"type": "object", "required": ["predictions"],
           "properties": {"predictions": {"type": "array", "items": items}}})
}

/// The document for one version.
pub fn document(model: &MlModel, about: &About) -> Value {
    let mv = about.mv;
    let (formats, params) = request(model, model.params.as_ref());
    let mut one_of = vec![];
    let mut examples = Map::new();
    let explicit = about.example.clone().filter(Value::is_object);
    if let Some(ex) = &explicit {
        examples.insert(
            "logged".into(),
            json!({"summary": "the model's own input example", "value": ex}),
        );
    }
    for (name, schema, ex) in &formats {
        let mut props = Map::new();
        props.insert((*name).into(), schema.clone());
        if model.params.is_some() {
            props.insert("params".into(), params.clone());
        }
        one_of.push(
            json!({"type": "object", "title": name, "required": [name], "properties": props}),
        );
        if !ex.is_null() {
            examples.insert(
                (*name).into(),
                json!({"summary": name, "value": {*name: ex}}),
            );
        }
    }
    let mut description = String::new();
    if let Some(d) = about.model_description.filter(|d| !d.is_empty()) {
        description.push_str(d);
        description.push_str("\n\n");
    }
    if !mv.description.is_empty() {
        description.push_str(&format!("Version {}: {}\n\n", mv.version, mv.description));
    }
    if !about.metrics.is_empty() {
        description.push_str("| metric | value |\n|---|---|\n");
        for (k, v) in about.metrics {
            description.push_str(&format!("| {k} | {v} |\n"));
        }
        description.push('\n');
    }
    description.push_str(&format!(
        "Served by Harvester as `mlflow models serve` 3.17.2 serves it. Flavours: {}.",
        model.flavors.join(", ")
    ));
    let err = json!({"$ref": "#/components/schemas/Error"});
    let ok = json!({"description": "predictions", "content": {"application/json": {"schema": response(model)}}});
    let mut responses = json!({
        "200": ok,
        "400": {"description": "malformed input or a schema mismatch", "content": {"application/json": {"schema": err}}},
        "403": {"description": "the version's scan has not passed", "content": {"application/json": {"schema": err}}},
        "415": {"description": "unsupported content type", "content": {"text/plain": {"schema": {"type": "string"}}}}
    });
    responses["504"] =
        json!({"description": "the prediction took longer than the request timeout"});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} v{}", mv.name, mv.version),
            "version": mv.version,
            "description": description,
            "x-harvester": {"model": mv.name, "version": mv.version, "stage": mv.current_stage,
                            "aliases": mv.aliases, "run_id": mv.run_id, "source": mv.source,
                            "metrics": about.metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>()}
        },
        "paths": {
            format!("{}/invocations", about.base): {"post": {
                "operationId": "invocations",
                "summary": format!("Predict with {} v{}", mv.name, mv.version),
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"oneOf": one_of}, "examples": examples},
                    "text/csv": {"schema": {"type": "string",
                        "description": "a header row of the input columns, then one row per prediction (pandas.DataFrame.to_csv without the index)"}}
                }},
                "responses": responses
            }},
            format!("{}/ping", about.base): {"get": {
                "operationId": "ping", "summary": "200 once the model is loaded",
                "responses": {"200": {"description": "loaded"}}
            }}
        },
        "components": {"schemas": {"Error": {"type": "object", "properties": {
            "error_code": {"type": "string"}, "message": {"type": "string"}}}}}
    })
}
