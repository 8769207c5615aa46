//! The artifact and fixtures, made from the synthetic log (see
//! `src/bin/make_artifact.rs`, which writes them).

use serde_json::{Value, json};

use crate::{WellLogModel, linear, synthetic};
use mlops_sdk::{Column, ColumnData, Frame, Validity};

/// Seed and size of the training log behind `artifacts/model.json`.
pub const TRAIN_SEED: u64 = 2026;
pub const TRAIN_ROWS: usize = 3000;
/// Seed of the held-out log the prediction fixture samples.
pub const HOLDOUT_SEED: u64 = 99;
/// Rows of the held-out log in the fixture (250 and 260 are in a pay zone).
const HOLDOUT_ROWS: [usize; 6] = [10, 250, 260, 420, 600, 900];
/// Seed and size of the log sent to the training service's fixture.
pub const TRAINING_SEED: u64 = 5;
pub const TRAINING_ROWS: usize = 400;
/// The fixture row whose density is missing.
const MISSING_DEN: usize = 3;

/// The log the artifact is fitted to, as CSV (`ACS,RDEP,DEN,AC`, full
/// precision), for fitting the same model elsewhere (the ONNX example).
pub fn training_csv() -> String {
    let log = synthetic::generate(TRAIN_SEED, TRAIN_ROWS);
    let mut out = String::from("ACS,RDEP,DEN,AC\n");
    for i in 0..log.acs.len() {
        out.push_str(&format!(
            "{:?},{:?},{:?},{:?}\n",
            log.acs[i], log.rdep[i], log.den[i], log.ac[i]
        ));
    }
    out
}

/// Every file, relative to the example folder, with its content.
pub fn files() -> Result<Vec<(&'static str, String)>, String> {
    let log = synthetic::generate(TRAIN_SEED, TRAIN_ROWS);
    let params = linear::fit(&log.acs, &log.rdep, &log.den, &log.ac)?;
    let model = pretty(&params)?;

    let holdout = synthetic::generate(HOLDOUT_SEED, 1000);
    let pick = |v: &[f64], decimals: i32| -> Vec<f64> {
        let scale = 10f64.powi(decimals);
        HOLDOUT_ROWS.iter().map(|&i| (v[i] * scale).round() / scale).collect()
    };
    let (acs, rdep, den) = (pick(&holdout.acs, 2), pick(&holdout.rdep, 3), pick(&holdout.den, 3));
    let present = |row: usize| row != MISSING_DEN;
    let frame = Frame::new()
        .with(Column::f64("ACS", acs.clone()))
        .with(Column::f64("RDEP", rdep.clone()))
        .with(Column::f64("DEN", den.clone()).with_validity(Validity::from_fn(den.len(), present)));
    let out = WellLogModel::new(params).predict_frame(&frame).map_err(|e| e.message)?;
    let ac: Vec<Value> = match &out.columns[0].data {
        ColumnData::F64(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| if present(i) { json!(x) } else { Value::Null })
            .collect(),
        _ => return Err("AC is not an f64 column".into()),
    };
    let den_json: Vec<Value> = den
        .iter()
        .enumerate()
        .map(|(i, x)| if present(i) { json!(x) } else { Value::Null })
        .collect();
    let request = json!({ "data": { "ACS": acs, "RDEP": rdep, "DEN": den_json } });
    let expected = json!({ "status": "ok", "prediction": { "AC": ac } });

    let bad_request =
        json!({ "data": { "ACS": [180.5, 175.2], "RDEP": [2.5, 0.0], "DEN": [2.31, 2.35] } });
    let bad_expected = json!({
        "status": "error",
        "message": "model error (bad-input): row 1: RDEP (deep resistivity, ohm·m) must be greater than 0"
    });

    let train = synthetic::generate(TRAINING_SEED, TRAINING_ROWS);
    let train_request = json!({ "data": {
        "ACS": train.acs, "RDEP": train.rdep, "DEN": train.den, "AC": train.ac
    }});
    let refit = linear::fit(&train.acs, &train.rdep, &train.den, &train.ac)?;
    let train_expected = json!({
        "status": "ok",
        "training": { "metadata": {
            "rows": refit.training.rows.to_string(),
            "rmse": format!("{:.4}", refit.training.rmse),
            "r2": format!("{:.4}", refit.training.r2),
        }}
    });

    Ok(vec![
        ("artifacts/model.json", model),
        ("fixtures/predict.request.json", pretty(&request)?),
        ("fixtures/predict.expected.json", pretty(&expected)?),
        ("fixtures/bad_rdep.request.json", pretty(&bad_request)?),
        ("fixtures/bad_rdep.expected.json", pretty(&bad_expected)?),
        (
            "fixtures/training/fit.request.json",
            serde_json::to_string(&train_request).map_err(|e| e.to_string())? + "\n",
        ),
        ("fixtures/training/fit.expected.json", pretty(&train_expected)?),
    ])
}

fn pretty(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value).map(|s| s + "\n").map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_artifact_and_fixtures_are_what_the_generator_makes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (name, text) in super::files().expect("files") {
            let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
                panic!("{name}: {e} (run `cargo run -p well-log --bin make-artifact`)")
            });
            assert!(committed == text, "{name} differs from what make-artifact writes; rerun it");
        }
    }

    #[test]
    fn the_fit_explains_the_synthetic_log() {
        let log = crate::synthetic::generate(super::TRAIN_SEED, super::TRAIN_ROWS);
        let params = crate::linear::fit(&log.acs, &log.rdep, &log.den, &log.ac).expect("fit");
        assert!(params.training.r2 > 0.9, "r2 = {}", params.training.r2);
        assert!(params.training.rmse < 5.0, "rmse = {}", params.training.rmse);
    }
}
