//! `runner.json`: which `.onnx` file to run and how request columns map to
//! its input tensors and its output tensors to response columns.
//!
//! ```json
//! {
//!   "format": "mlops-onnx/2",
//!   "model": "model.onnx",
//!   "inputs": [
//!     { "tensor": "num", "type": "f32", "columns": ["age", "bmi"], "missing": "nan" },
//!     { "tensor": "sex", "type": "string", "columns": ["sex"] }
//!   ],
//!   "outputs": [
//!     { "tensor": "output_label", "columns": ["label"] },
//!     { "tensor": "output_probability", "columns": ["probability_0", "probability_1"] }
//!   ],
//!   "checks": { "bmi": { "greater_than": 0 } }
//! }
//! ```
//!
//! Format 1 (one `input`, `f64` or `f32`) is still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The configuration file in the artifact folder.
pub const CONFIG: &str = "runner.json";
/// The format this runner writes and reads.
pub const FORMAT: &str = "mlops-onnx/2";
const FORMAT_1: &str = "mlops-onnx/1";

/// A configuration, whatever format it was written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub format: String,
    /// The `.onnx` file, relative to the artifact folder.
    pub model: String,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// Bounds per input column, checked before the graph runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
}

/// One input tensor: `[rows, columns]` (or `[rows]` when the graph's input
/// has one dimension), filled from these columns in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub tensor: String,
    #[serde(rename = "type")]
    pub ty: ElementType,
    pub columns: Vec<String>,
    /// What a missing value (null) in these columns does.
    #[serde(default, skip_serializing_if = "Missing::is_skip")]
    pub missing: Missing,
}

/// An input tensor's element type, and so the type of its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementType {
    F32,
    F64,
    I64,
    I32,
    String,
    Bool,
}

impl ElementType {
    pub fn is_real(self) -> bool {
        matches!(self, ElementType::F32 | ElementType::F64)
    }

    pub fn name(self) -> &'static str {
        match self {
            ElementType::F32 => "f32",
            ElementType::F64 => "f64",
            ElementType::I64 => "i64",
            ElementType::I32 => "i32",
            ElementType::String => "string",
            ElementType::Bool => "bool",
        }
    }
}

/// What a missing input value does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// The row does not go through the graph and comes back missing.
    #[default]
    Skip,
    /// The value goes into the graph as NaN (models that handle missing
    /// values: imputers, trees with missing-value tracks). Real types only.
    Nan,
}

impl Missing {
    fn is_skip(&self) -> bool {
        *self == Missing::Skip
    }
}

/// One output tensor `[rows, k]` (or `[rows]`): `k` columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub tensor: String,
    pub columns: Vec<String>,
}

/// The domain of one input column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// How the column is named in messages (its name by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Check {
    /// Why `v` is outside the domain, if it is.
    pub fn violation(&self, name: &str, v: f64) -> Option<String> {
        let label = self.label.as_deref().unwrap_or(name);
        let bound = |cmp: &str, b: f64| Some(format!("{label} must be {cmp} {b}"));
        match () {
            _ if self.greater_than.is_some_and(|b| v <= b) => {
                bound("greater than", self.greater_than?)
            }
            _ if self.at_least.is_some_and(|b| v < b) => bound("at least", self.at_least?),
            _ if self.less_than.is_some_and(|b| v >= b) => bound("less than", self.less_than?),
            _ if self.at_most.is_some_and(|b| v > b) => bound("at most", self.at_most?),
            _ => None,
        }
    }
}

/// Format 1: one input tensor of reals.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config1 {
    #[allow(dead_code, reason = "checked before")]
    format: String,
    model: String,
    input: Input1,
    outputs: Vec<OutputSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input1 {
    tensor: String,
    columns: Vec<String>,
    #[serde(rename = "type")]
    ty: ElementType,
    #[serde(default)]
    checks: BTreeMap<String, Check>,
}

impl Config {
    /// Reads `runner.json` text (format 1 or 2) and checks that it is
    /// consistent in itself; the graph is checked when it is loaded.
    pub fn parse(text: &str) -> Result<Config, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{CONFIG}: {e}"))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        let config = match format {
            FORMAT => {
                serde_json::from_value::<Config>(value).map_err(|e| format!("{CONFIG}: {e}"))?
            }
            FORMAT_1 => {
                let c: Config1 =
                    serde_json::from_value(value).map_err(|e| format!("{CONFIG}: {e}"))?;
                if !c.input.ty.is_real() {
                    return Err(format!(
                        "{CONFIG}: format {FORMAT_1} takes `f64` or `f32` input; use {FORMAT} for others"
                    ));
                }
                Config {
                    format: FORMAT.to_string(),
                    model: c.model,
                    inputs: vec![InputSpec {
                        tensor: c.input.tensor,
                        ty: c.input.ty,
                        columns: c.input.columns,
                        missing: Missing::Skip,
                    }],
                    outputs: c.outputs,
                    checks: c.input.checks,
                }
            }
            other => {
                return Err(format!(
                    "{CONFIG}: format is `{other}`; this runner reads `{FORMAT}` (and `{FORMAT_1}`)"
                ));
            }
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.inputs.is_empty() || self.outputs.is_empty() {
            return Err(format!("{CONFIG}: name at least one input and one output"));
        }
        let mut columns: Vec<&str> = Vec::new();
        for input in &self.inputs {
            if input.columns.is_empty() {
                return Err(format!("{CONFIG}: input `{}` has no columns", input.tensor));
            }
            if input.missing == Missing::Nan && !input.ty.is_real() {
                return Err(format!(
                    "{CONFIG}: input `{}` is {}; `\"missing\": \"nan\"` applies only to f32 and f64",
                    input.tensor,
                    input.ty.name()
                ));
            }
            for c in &input.columns {
                if columns.contains(&c.as_str()) {
                    return Err(format!("{CONFIG}: column `{c}` feeds two inputs"));
                }
                columns.push(c);
            }
        }
        if let Some(name) = self.checks.keys().find(|k| !columns.contains(&k.as_str())) {
            return Err(format!("{CONFIG}: `checks` names `{name}`, which is not an input column"));
        }
        let mut outputs: Vec<&str> = Vec::new();
        for output in &self.outputs {
            if output.columns.is_empty() {
                return Err(format!("{CONFIG}: output `{}` has no columns", output.tensor));
            }
            for c in &output.columns {
                if outputs.contains(&c.as_str()) {
                    return Err(format!("{CONFIG}: output column `{c}` appears twice"));
                }
                outputs.push(c);
            }
        }
        Ok(())
    }

    /// Every input column, in order.
    pub fn input_columns(&self) -> impl Iterator<Item = (&InputSpec, &String)> {
        self.inputs.iter().flat_map(|i| i.columns.iter().map(move |c| (i, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_1_reads_as_one_input() {
        let c = Config::parse(
            r#"{"format":"mlops-onnx/1","model":"m.onnx","input":{"tensor":"X","columns":["a","b"],"type":"f64",
                "checks":{"b":{"greater_than":0}}},"outputs":[{"tensor":"Y","columns":["y"]}]}"#,
        )
        .expect("parse");
        assert_eq!(c.inputs.len(), 1);
        assert_eq!(c.inputs[0].ty, ElementType::F64);
        assert!(c.checks.contains_key("b"));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| Config::parse(text).expect_err("refused");
        assert!(err(r#"{"format":"x"}"#).contains("format is `x`"));
        assert!(
            err(r#"{"format":"mlops-onnx/2","model":"m","inputs":[{"tensor":"c","type":"string","columns":["c"],"missing":"nan"}],"outputs":[{"tensor":"y","columns":["y"]}]}"#)
                .contains("applies only to f32 and f64")
        );
        assert!(
            err(r#"{"format":"mlops-onnx/2","model":"m","inputs":[{"tensor":"a","type":"f32","columns":["c"]},{"tensor":"b","type":"f32","columns":["c"]}],"outputs":[{"tensor":"y","columns":["y"]}]}"#)
                .contains("column `c` feeds two inputs")
        );
        assert!(
            err(r#"{"format":"mlops-onnx/2","model":"m","inputs":[],"outputs":[]}"#)
                .contains("at least one input")
        );
    }
}
