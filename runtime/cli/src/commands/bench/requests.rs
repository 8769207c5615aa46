//! The requests a benchmark sends: a template's rows repeated to each
//! batch size.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use mlops_engine::Schema;
use serde_json::{Value, json};

use super::Args;
use crate::UsageError;

/// The request whose rows are repeated: the given one, or made-up rows of
/// the declared columns.
pub fn template(args: &Args, inputs: &Schema) -> anyhow::Result<Value> {
    if let Some(path) = &args.request {
        let body: Value = serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", path.display()))?;
        if !body["data"].is_object() {
            bail!(UsageError(format!(
                "{}: `data` must be an object of columns to repeat rows",
                path.display()
            )));
        }
        return Ok(body);
    }
    let Schema::Frame(fields) = inputs else {
        bail!(UsageError(
            "the model does not declare its columns: pass --request with a sample body".into()
        ));
    };
    // Deterministic values in [0.5, 3.0): positive, as most measurements are.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        0.5 + 2.5 * ((state >> 11) as f64 / (1u64 << 53) as f64)
    };
    let mut data = serde_json::Map::new();
    for f in fields {
        let column: Vec<Value> = (0..64)
            .map(|i| match f.type_ {
                mlops_engine::DataType::F64 => json!(next()),
                mlops_engine::DataType::S64 => json!(i),
                mlops_engine::DataType::Bool => json!(i % 2 == 0),
                mlops_engine::DataType::String => json!(format!("v{i}")),
            })
            .collect();
        data.insert(f.name.clone(), Value::Array(column));
    }
    Ok(json!({ "data": data }))
}

/// The template's rows repeated (cycled) to `rows` rows.
pub fn body_with_rows(template: &Value, rows: usize) -> Bytes {
    let mut data = serde_json::Map::new();
    if let Some(columns) = template["data"].as_object() {
        for (name, values) in columns {
            let values = values.as_array().cloned().unwrap_or_default();
            let column: Vec<Value> = if values.is_empty() {
                Vec::new()
            } else {
                (0..rows).map(|i| values[i % values.len()].clone()).collect()
            };
            data.insert(name.clone(), Value::Array(column));
        }
    }
    Bytes::from(json!({ "data": data }).to_string())
}
