//! Serves an ONNX model without code. `initialization` reads `runner.json`
//! from the artifact folder, which names the `.onnx` file, the columns that
//! make up its input tensor and the columns its output tensors become:
//!
//! ```json
//! {
//!   "format": "mlops-onnx/1",
//!   "model": "model.onnx",
//!   "input": { "tensor": "X", "columns": ["ACS", "RDEP", "DEN"], "type": "f64",
//!              "checks": { "RDEP": { "greater_than": 0, "label": "RDEP (deep resistivity, ohm·m)" } } },
//!   "outputs": [ { "tensor": "AC", "columns": ["AC"] } ]
//! }
//! ```
//!
//! `checks` are what a graph cannot say: the domain of an input. A value
//! outside it (or not finite) is refused as bad input naming the row.
//!
//! A request's rows become the input tensor `[rows, columns]` (`f64` or
//! `f32`); each output tensor `[rows, k]` (or `[rows]`) becomes `k` columns.
//! Rows with a missing input are left out of the run and come back missing.
//! The graph runs in tract, inside the sandbox like any other model.

use mlops_sdk::{Column, Context, Frame, Init, Model, ModelError, Payload, Validity};
use serde::Deserialize;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid as _;

/// The configuration file in the artifact folder.
pub const CONFIG: &str = "runner.json";
const FORMAT: &str = "mlops-onnx/1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub format: String,
    pub model: String,
    pub input: InputSpec,
    pub outputs: Vec<OutputSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub tensor: String,
    pub columns: Vec<String>,
    #[serde(rename = "type")]
    pub ty: ElementType,
    /// Bounds per column, checked before the graph runs.
    #[serde(default)]
    pub checks: std::collections::BTreeMap<String, Check>,
}

/// The domain of one input column.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    #[serde(default)]
    pub greater_than: Option<f64>,
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub less_than: Option<f64>,
    #[serde(default)]
    pub at_most: Option<f64>,
    /// How the column is named in messages (its name by default).
    #[serde(default)]
    pub label: Option<String>,
}

impl Check {
    /// Why `v` is outside the domain, if it is.
    fn violation(&self, name: &str, v: f64) -> Option<String> {
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

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ElementType {
    F32,
    F64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub tensor: String,
    pub columns: Vec<String>,
}

type Plan = std::sync::Arc<TypedSimplePlan>;

/// A loaded graph and how columns map to it.
pub struct OnnxRunner {
    plan: Plan,
    config: Config,
    /// For each configured output, its position among the graph's outputs.
    output_slots: Vec<usize>,
}

fn artifact(message: String) -> ModelError {
    ModelError::bad_artifact(message)
}

impl OnnxRunner {
    /// Loads the graph `config` names from its bytes.
    pub fn load(config: Config, onnx: &[u8]) -> Result<OnnxRunner, ModelError> {
        if config.format != FORMAT {
            return Err(artifact(format!(
                "{CONFIG}: format is `{}`, this runner reads `{FORMAT}`",
                config.format
            )));
        }
        if let Some(name) = config.input.checks.keys().find(|k| !config.input.columns.contains(k)) {
            return Err(artifact(format!(
                "{CONFIG}: `checks` names `{name}`, which is not an input column"
            )));
        }
        if config.input.columns.is_empty() || config.outputs.is_empty() {
            return Err(artifact(format!(
                "{CONFIG}: name at least one input column and one output"
            )));
        }
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(|e| artifact(format!("{}: not a model tract can read: {e}", config.model)))?;
        let inputs: Vec<String> = model
            .input_outlets()
            .map_err(|e| artifact(e.to_string()))?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        if inputs != [config.input.tensor.clone()] {
            return Err(artifact(format!(
                "{}: the graph's inputs are {inputs:?}; {CONFIG} names `{}` (the runner feeds exactly one input tensor)",
                config.model, config.input.tensor
            )));
        }
        // Rows: the graph's own batch dimension when it names one (so the
        // shapes it declares inside agree), else a new symbol.
        let declared = model.input_fact(0).map_err(|e| artifact(e.to_string()))?.shape.dim(0);
        let rows = declared
            .and_then(|d| d.concretize())
            .unwrap_or_else(|| model.symbols.sym("rows").to_dim());
        let width = config.input.columns.len();
        let fact = match config.input.ty {
            ElementType::F64 => f64::fact(&[rows, width.to_dim()]),
            ElementType::F32 => f32::fact(&[rows, width.to_dim()]),
        };
        model.set_input_fact(0, fact.into()).map_err(|e| artifact(e.to_string()))?;
        // An output tensor's name is its outlet's label (the node's name
        // when unlabelled).
        let names: Vec<String> = model
            .output_outlets()
            .map_err(|e| artifact(e.to_string()))?
            .iter()
            .map(|o| model.outlet_label(*o).unwrap_or(&model.node(o.node).name).to_string())
            .collect();
        let mut output_slots = Vec::new();
        for out in &config.outputs {
            match names.iter().position(|n| *n == out.tensor) {
                Some(i) => output_slots.push(i),
                None => {
                    return Err(artifact(format!(
                        "{CONFIG}: output `{}` is not an output of {} (it has {names:?})",
                        out.tensor, config.model
                    )));
                }
            }
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| artifact(format!("{}: cannot prepare the graph: {e:#}", config.model)))?;
        Ok(OnnxRunner { plan, config, output_slots })
    }

    /// Runs the graph on a frame's configured columns.
    pub fn predict_frame(&self, frame: &Frame) -> Result<Frame, ModelError> {
        let names = &self.config.input.columns;
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            columns.push((frame.column(name)?, frame.f64(name)?));
        }
        let rows = columns[0].1.len();
        if let Some((name, _)) = names.iter().zip(&columns).find(|(_, c)| c.1.len() != rows) {
            return Err(ModelError::bad_input(format!(
                "column `{name}` has a different length than `{}`",
                names[0]
            )));
        }
        let present: Vec<usize> =
            (0..rows).filter(|&r| columns.iter().all(|(c, _)| c.is_valid(r))).collect();
        let width = names.len();
        let checks: Vec<Option<&Check>> =
            names.iter().map(|n| self.config.input.checks.get(n)).collect();
        let mut flat = Vec::with_capacity(present.len() * width);
        for &r in &present {
            for ((name, (_, values)), check) in names.iter().zip(&columns).zip(&checks) {
                let v = values[r];
                if !v.is_finite() {
                    return Err(ModelError::bad_input(format!(
                        "row {r}: {name} must be a finite number"
                    )));
                }
                if let Some(why) = check.and_then(|c| c.violation(name, v)) {
                    return Err(ModelError::bad_input(format!("row {r}: {why}")));
                }
                flat.push(v);
            }
        }
        let shape = [present.len(), width];
        let input: Tensor = match self.config.input.ty {
            ElementType::F64 => {
                tract_ndarray::Array2::from_shape_vec(shape, flat).map(Tensor::from)
            }
            ElementType::F32 => tract_ndarray::Array2::from_shape_vec(
                shape,
                flat.iter().map(|&v| v as f32).collect(),
            )
            .map(Tensor::from),
        }
        .map_err(|e| ModelError::internal(format!("input tensor: {e}")))?;
        let outputs = if present.is_empty() {
            None
        } else {
            Some(
                self.plan
                    .run(tvec![input.into()])
                    .map_err(|e| ModelError::internal(format!("running the graph: {e:#}")))?,
            )
        };
        let mut out = Frame::new();
        for (spec, &slot) in self.config.outputs.iter().zip(&self.output_slots) {
            let values: Vec<f64> = match &outputs {
                None => Vec::new(),
                Some(o) => {
                    let t = o[slot].cast_to::<f64>().map_err(|e| {
                        ModelError::internal(format!("output `{}`: {e}", spec.tensor))
                    })?;
                    t.to_plain_array_view::<f64>()
                        .map_err(|e| ModelError::internal(e.to_string()))?
                        .iter()
                        .copied()
                        .collect()
                }
            };
            let k = spec.columns.len();
            if values.len() != present.len() * k {
                return Err(ModelError::internal(format!(
                    "output `{}` has {} values for {} rows and {k} columns",
                    spec.tensor,
                    values.len(),
                    present.len()
                )));
            }
            for (j, name) in spec.columns.iter().enumerate() {
                let mut column = vec![0.0; rows];
                for (i, &r) in present.iter().enumerate() {
                    column[r] = values[i * k + j];
                }
                let col = Column::f64(name.clone(), column);
                out = out.with(if present.len() == rows {
                    col
                } else {
                    col.with_validity(Validity::from_fn(rows, |r| {
                        present.binary_search(&r).is_ok()
                    }))
                });
            }
        }
        Ok(out)
    }
}

impl Model for OnnxRunner {
    fn initialization(init: Init<'_>) -> Result<Self, ModelError> {
        let config: Config = serde_json::from_str(&init.read_artifact_string(CONFIG)?)
            .map_err(|e| artifact(format!("{CONFIG}: {e}")))?;
        let onnx = init.read_artifact(&config.model)?;
        let runner = OnnxRunner::load(config, &onnx)?;
        mlops_sdk::log::info(&format!(
            "loaded {} ({} bytes): {} → {}",
            runner.config.model,
            onnx.len(),
            runner.config.input.columns.join(", "),
            runner
                .config
                .outputs
                .iter()
                .flat_map(|o| o.columns.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(runner)
    }

    fn predict(&self, input: Payload, _ctx: &Context<'_>) -> Result<Payload, ModelError> {
        Ok(self.predict_frame(input.frame()?)?.into())
    }
}

mlops_sdk::export_model!(OnnxRunner);
