//! Serves an ONNX model without code. The runner reads `runner.json` from
//! the artifact folder (see [`config`]), which names the `.onnx` file, the
//! columns that fill each of its input tensors and the columns each output
//! tensor becomes. The graph runs in tract, inside the sandbox like any
//! other model, with the `ai.onnx.ml` operators scikit-learn, XGBoost and
//! LightGBM converters emit ([`ops`]).
//!
//! A request's rows become the input tensors `[rows, columns]`; each output
//! tensor `[rows, k]` (or `[rows]`) becomes `k` columns: reals as `f64`,
//! integers as `s64`, strings and booleans as themselves. Rows with a
//! missing value skip the graph and come back missing, unless the input
//! says `"missing": "nan"` (then NaN goes in, for models that handle it).
//!
//! `mlops-host` carries this component inside its binary: settings with
//! `runtime: onnx` need no build.

pub mod check;
pub mod config;
pub mod ops;
mod runner;

use std::sync::Mutex;

use mlops_sdk::{Context, Init, Model, ModelError, Payload, Schema, Signature};

pub use config::{CONFIG, Config};
pub use runner::OnnxRunner;

/// Where the host mounts the artifact folder.
const ARTIFACTS: &str = "/artifacts";

/// `describe` runs before `initialization` in the same instance and needs
/// the loaded graph for its output types: it keeps what it loaded here for
/// `initialization` to take, so the graph is read once.
static LOADED: Mutex<Option<Result<OnnxRunner, ModelError>>> = Mutex::new(None);

fn load(folder: &std::path::Path) -> Result<OnnxRunner, ModelError> {
    let read = |name: &str| {
        std::fs::read(folder.join(name))
            .map_err(|e| ModelError::bad_artifact(format!("cannot read artifact `{name}`: {e}")))
    };
    let text = String::from_utf8(read(CONFIG)?)
        .map_err(|_| ModelError::bad_artifact(format!("{CONFIG} is not UTF-8")))?;
    let config = Config::parse(&text).map_err(ModelError::bad_artifact)?;
    let onnx = read(&config.model)?;
    let runner = OnnxRunner::load(config, &onnx)?;
    mlops_sdk::log::info(&format!(
        "loaded {} ({} bytes): {} → {}",
        runner.config().model,
        onnx.len(),
        runner.config().input_columns().map(|(_, c)| c.as_str()).collect::<Vec<_>>().join(", "),
        runner
            .config()
            .outputs
            .iter()
            .flat_map(|o| o.columns.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(runner)
}

impl Model for OnnxRunner {
    fn signature() -> Signature {
        let loaded = load(std::path::Path::new(ARTIFACTS));
        let signature = loaded
            .as_ref()
            .map_or(Signature { inputs: Schema::Any, outputs: Schema::Any }, OnnxRunner::signature);
        if let Ok(mut slot) = LOADED.lock() {
            *slot = Some(loaded);
        }
        signature
    }

    fn initialization(init: Init<'_>) -> Result<Self, ModelError> {
        let stashed = LOADED.lock().ok().and_then(|mut slot| slot.take());
        if let Some(loaded) = stashed {
            return loaded;
        }
        let folder = init.artifact_folder().ok_or_else(|| {
            ModelError::bad_artifact(format!(
                "the ONNX runner needs an artifact folder with {CONFIG} and the .onnx file: set `artifact_folder`"
            ))
        })?;
        load(folder)
    }

    fn predict(&self, input: Payload, _ctx: &Context<'_>) -> Result<Payload, ModelError> {
        Ok(self.predict_frame(input.frame()?)?.into())
    }
}

mlops_sdk::export_model!(OnnxRunner);
