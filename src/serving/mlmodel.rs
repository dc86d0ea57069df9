//! What serving needs from a model's `MLmodel` file: its flavours and its signature.

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

#[derive(Debug, Clone, Default)]
pub struct MlModel {
    pub flavors: Vec<String>,
    /// The ONNX flavour's model file, relative to the model's folder.
    pub onnx_file: Option<String>,
    /// The signature's `inputs`, `outputs` and `params` (MLflow stores each as a JSON string).
    pub inputs: Option<Value>,
    pub outputs: Option<Value>,
    pub params: Option<Value>,
}

impl MlModel {
    pub fn parse(text: &str) -> Result<MlModel, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("MLmodel: {e}"))?;
        let doc = docs.into_iter().next().ok_or("MLmodel is empty")?;
        let mut m = MlModel::default();
        if let Some(h) = doc["flavors"].as_hash() {
            m.flavors = h
                .keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
        }
        m.onnx_file = doc["flavors"]["onnx"]["data"].as_str().map(String::from);
        let sig = &doc["signature"];
        let field = |k: &str| -> Option<Value> {
            match &sig[k] {
                Yaml::String(s) => serde_json::from_str(s).ok(),
                _ => None,
            }
        };
        m.inputs = field("inputs");
        m.outputs = field("outputs");
        m.params = field("params");
        Ok(m)
    }

    pub fn has(&self, flavor: &str) -> bool {
        self.flavors.iter().any(|f| f == flavor)
    }

    /// Inputs given as tensors (`[{"type": "tensor", "tensor-spec": …}]`).
    pub fn tensor_inputs(&self) -> bool {
        self.inputs
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty() && a.iter().all(|c| c["type"] == "tensor"))
    }
}
