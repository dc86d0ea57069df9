//! JSON written as Python's `json.dumps(value)` writes it (`", "` and `": "` separators), for values
//! MLflow stores as text and clients compare byte for byte (the `mlflow.modelVersions` tag).

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

struct PyFormatter;

impl Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// `json.dumps(value)` (keys in the value's own order; serde_json's maps are sorted).
pub fn dumps<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_python() {
        let v = serde_json::json!([{"name": "model", "version": 1}, {"name": "b", "version": 2}]);
        assert_eq!(
            super::dumps(&v),
            r#"[{"name": "model", "version": 1}, {"name": "b", "version": 2}]"#
        );
    }
}
