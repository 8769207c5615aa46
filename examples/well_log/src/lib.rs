//! Example model: predicts sonic slowness `AC` (µs/ft) from shear slowness
//! `ACS` (µs/ft), deep resistivity `RDEP` (ohm·m) and bulk density `DEN`
//! (g/cm³) — the seed framework's own example curves.
//!
//! Its parameters are not compiled in: `initialization` reads them from
//! `model.json` in the artifact folder. `src/bin/make_artifact.rs` produced
//! that file from the synthetic log in [`synthetic`]; the training service
//! (`train`) fits the same model to data a caller sends.

pub mod linear;
pub mod make;
pub mod synthetic;

use std::path::Path;

use mlops_sdk::{
    Column, Context, DataType, Field, Frame, Init, Model, ModelError, Payload, Schema, Signature,
    Validity,
};

use linear::Params;

/// The prediction state: the fitted parameters.
#[derive(Debug)]
pub struct WellLogModel {
    params: Params,
}

impl WellLogModel {
    /// The model for already-loaded parameters (used natively by tests and
    /// benchmarks).
    pub fn new(params: Params) -> Self {
        WellLogModel { params }
    }

    /// Predicts `AC` for a frame with `ACS`, `RDEP` and `DEN`. Rows where an
    /// input is missing give a missing `AC`.
    pub fn predict_frame(&self, frame: &Frame) -> Result<Frame, ModelError> {
        let (acs_col, rdep_col, den_col) =
            (frame.column("ACS")?, frame.column("RDEP")?, frame.column("DEN")?);
        let (acs, rdep, den) = (frame.f64("ACS")?, frame.f64("RDEP")?, frame.f64("DEN")?);
        let rows = acs.len();
        if rdep.len() != rows || den.len() != rows {
            return Err(ModelError::bad_input(format!(
                "ACS, RDEP and DEN must have the same length (got {}, {} and {})",
                rows,
                rdep.len(),
                den.len()
            )));
        }
        let all_present =
            acs_col.validity.is_none() && rdep_col.validity.is_none() && den_col.validity.is_none();
        let present = |row: usize| {
            all_present
                || (acs_col.is_valid(row) && rdep_col.is_valid(row) && den_col.is_valid(row))
        };
        let mut ac = Vec::with_capacity(rows);
        for row in 0..rows {
            if !present(row) {
                ac.push(0.0);
                continue;
            }
            if let Some(why) = linear::invalid_row(acs[row], rdep[row], den[row]) {
                return Err(ModelError::bad_input(format!("row {row}: {why}")));
            }
            ac.push(self.params.predict(acs[row], rdep[row], den[row]));
        }
        let column = Column::f64("AC", ac);
        Ok(Frame::new().with(if all_present {
            column
        } else {
            column.with_validity(Validity::from_fn(rows, present))
        }))
    }
}

/// Parses and checks `model.json`.
pub fn load_params(text: &str) -> Result<Params, ModelError> {
    let params: Params = serde_json::from_str(text)
        .map_err(|e| ModelError::bad_artifact(format!("{}: {e}", linear::ARTIFACT)))?;
    params.check().map_err(|e| ModelError::bad_artifact(format!("{}: {e}", linear::ARTIFACT)))?;
    Ok(params)
}

impl Model for WellLogModel {
    fn initialization(init: Init<'_>) -> Result<Self, ModelError> {
        let params = load_params(&init.read_artifact_string(linear::ARTIFACT)?)?;
        mlops_sdk::log::info(&format!(
            "loaded {} (fitted on {} rows, rmse {:.3} µs/ft)",
            linear::ARTIFACT,
            params.training.rows,
            params.training.rmse
        ));
        Ok(WellLogModel::new(params))
    }

    fn predict(&self, input: Payload, _ctx: &Context<'_>) -> Result<Payload, ModelError> {
        Ok(self.predict_frame(input.frame()?)?.into())
    }

    fn signature() -> Signature {
        Signature {
            inputs: Schema::Frame(vec![
                Field::required("ACS", DataType::F64, "shear slowness, µs/ft"),
                Field::required("RDEP", DataType::F64, "deep resistivity, ohm·m (> 0)"),
                Field::required("DEN", DataType::F64, "bulk density, g/cm³"),
            ]),
            outputs: Schema::Frame(vec![Field::required(
                "AC",
                DataType::F64,
                "sonic (compressional) slowness, µs/ft",
            )]),
        }
    }

    fn train(
        data: Payload,
        folder: &Path,
        _ctx: &Context<'_>,
    ) -> Result<Vec<(String, String)>, ModelError> {
        let frame = data.frame()?;
        for name in ["ACS", "RDEP", "DEN", "AC"] {
            if !frame.column(name)?.all_valid() {
                return Err(ModelError::bad_input(format!(
                    "column `{name}` has missing rows: training needs complete rows"
                )));
            }
        }
        let params =
            linear::fit(frame.f64("ACS")?, frame.f64("RDEP")?, frame.f64("DEN")?, frame.f64("AC")?)
                .map_err(ModelError::bad_input)?;
        let text = serde_json::to_string_pretty(&params)
            .map_err(|e| ModelError::internal(format!("cannot encode the parameters: {e}")))?;
        std::fs::write(folder.join(linear::ARTIFACT), text + "\n")
            .map_err(|e| ModelError::internal(format!("cannot write {}: {e}", linear::ARTIFACT)))?;
        Ok(vec![
            ("rows".to_string(), params.training.rows.to_string()),
            ("rmse".to_string(), format!("{:.4}", params.training.rmse)),
            ("r2".to_string(), format!("{:.4}", params.training.r2)),
        ])
    }
}

mlops_sdk::export_model!(WellLogModel);
