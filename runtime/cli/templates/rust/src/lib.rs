//! {{model_name}}: predicts y = slope·x + intercept.
//!
//! `slope` and `intercept` come from `artifacts/params.json`, read once in
//! `initialization`. Edit `signature` and `predict` to make it your model;
//! the SDK (in ./mlops-sdk) documents the helpers.

use mlops_sdk::{
    Column, Context, DataType, Field, Frame, Init, Model, ModelError, Payload, Schema, Signature,
};
use serde::Deserialize;

const ARTIFACT: &str = "params.json";

/// What `initialization` builds once per sandbox instance and every
/// `predict` borrows.
#[derive(Debug, Deserialize)]
struct LinearModel {
    slope: f64,
    intercept: f64,
}

impl Model for LinearModel {
    fn initialization(init: Init<'_>) -> Result<Self, ModelError> {
        let text = init.read_artifact_string(ARTIFACT)?;
        let model: LinearModel = serde_json::from_str(&text)
            .map_err(|e| ModelError::bad_artifact(format!("{ARTIFACT}: {e}")))?;
        if !(model.slope.is_finite() && model.intercept.is_finite()) {
            return Err(ModelError::bad_artifact(format!(
                "{ARTIFACT}: slope and intercept must be finite numbers"
            )));
        }
        mlops_sdk::log::info(&format!("loaded {ARTIFACT}: {model:?}"));
        Ok(model)
    }

    fn predict(&self, input: Payload, _ctx: &Context<'_>) -> Result<Payload, ModelError> {
        let frame = input.frame()?;
        let column = frame.column("x")?;
        let x = frame.f64("x")?; // a missing row holds 0.0
        let mut y = Vec::with_capacity(x.len());
        for (row, &value) in x.iter().enumerate() {
            if column.is_valid(row) && !value.is_finite() {
                // bad-input: the caller sent something wrong and can fix it.
                return Err(ModelError::bad_input(format!("row {row}: x must be a finite number")));
            }
            y.push(self.slope * value + self.intercept);
        }
        // A missing input gives a missing output: keep x's validity.
        let mut out = Column::f64("y", y);
        out.validity = column.validity.clone();
        Ok(Frame::new().with(out).into())
    }

    /// The columns the model reads and writes: the host checks requests
    /// against them and reports them in the service's metadata.
    fn signature() -> Signature {
        Signature {
            inputs: Schema::Frame(vec![Field::required("x", DataType::F64, "the input value")]),
            outputs: Schema::Frame(vec![Field::required("y", DataType::F64, "slope·x + intercept")]),
        }
    }
}

mlops_sdk::export_model!(LinearModel);
