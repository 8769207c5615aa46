//! {{model_name}}: predicts y = slope·x + intercept.
//!
//! `slope` and `intercept` come from `artifacts/params.json`, read once in
//! `initialization`; `train` fits them to columns x and y by least squares
//! and writes a new `params.json` (served as a new artifact version). Edit
//! `signature`, `predict` and `train` to make it your model; the SDK (in
//! ./mlops-sdk) documents the helpers.

use std::path::Path;

use mlops_sdk::{
    Column, Context, DataType, Field, Frame, Init, Model, ModelError, Payload, Schema, Signature,
};
use serde::{Deserialize, Serialize};

const ARTIFACT: &str = "params.json";

/// What `initialization` builds once per sandbox instance and every
/// `predict` borrows.
#[derive(Debug, Deserialize, Serialize)]
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

    /// Runs in an instance of its own (no `initialization`): fit, then
    /// write the artifacts of the new version into `folder`.
    fn train(
        data: Payload,
        folder: &Path,
        _ctx: &Context<'_>,
    ) -> Result<Vec<(String, String)>, ModelError> {
        let frame = data.frame()?;
        for name in ["x", "y"] {
            if !frame.column(name)?.all_valid() {
                return Err(ModelError::bad_input(format!(
                    "column `{name}` has missing rows: training needs complete rows"
                )));
            }
        }
        let (x, y) = (frame.f64("x")?, frame.f64("y")?);
        let n = x.len();
        if n != y.len() || n < 2 {
            return Err(ModelError::bad_input(format!(
                "need x and y of the same length, at least 2 rows (got {n} and {})",
                y.len()
            )));
        }
        let mean_x = x.iter().sum::<f64>() / n as f64;
        let mean_y = y.iter().sum::<f64>() / n as f64;
        let sxx: f64 = x.iter().map(|a| (a - mean_x).powi(2)).sum();
        if !(sxx.is_finite() && sxx > 0.0) {
            return Err(ModelError::bad_input("x must vary and be finite"));
        }
        let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mean_x) * (b - mean_y)).sum();
        let slope = sxy / sxx;
        let model = LinearModel { slope, intercept: mean_y - slope * mean_x };
        let text = serde_json::to_string(&model)
            .map_err(|e| ModelError::internal(format!("cannot encode {ARTIFACT}: {e}")))?;
        std::fs::write(folder.join(ARTIFACT), text)
            .map_err(|e| ModelError::internal(format!("cannot write {ARTIFACT}: {e}")))?;
        // Metadata stored with the new version.
        Ok(vec![
            ("rows".to_string(), n.to_string()),
            ("slope".to_string(), format!("{:.4}", model.slope)),
            ("intercept".to_string(), format!("{:.4}", model.intercept)),
        ])
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
