//! A model's test fixtures (the seed's service test): pairs of
//! `<name>.request.json` (a call body) and `<name>.expected.json` (what the
//! response envelope must contain), run through the real call path in the
//! sandbox before a deploy.
//!
//! The expected document is matched as a subset: every key it has must be in
//! the response with an equal value (numbers within a relative tolerance of
//! [`RELATIVE_TOLERANCE`]); keys it lacks (such as `model_id`) are not
//! checked. An expected document may set `"tolerance": t` (not part of the
//! response): then numbers match when they differ by at most t · max(1,
//! |expected|) — for answers that cannot reproduce their reference to the
//! last bit, such as an `f32` ONNX graph against the library that trained
//! it.

use std::path::Path;

use mlops_manifest::{ExternalId, ServiceKind};
use mlops_registry::Registry;
use serde_json::Value;

use crate::call::{self, Files};
use crate::envelope::error_envelope;
use crate::error::Error;
use crate::service::Service;

/// Numbers match when they differ by at most this fraction of the larger.
pub const RELATIVE_TOLERANCE: f64 = 1e-9;

/// One fixture.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub request: Vec<u8>,
    pub expected: Value,
    /// The expected document's own `tolerance`, if it sets one.
    pub tolerance: Option<f64>,
}

/// How one fixture went.
#[derive(Debug)]
pub struct FixtureResult {
    pub name: String,
    /// Why the call failed, if it did (the response is then the error
    /// envelope).
    pub error: Option<Error>,
    /// Where the response differs from the expected document; empty when
    /// it passed.
    pub differences: Vec<String>,
    pub response: Value,
}

impl FixtureResult {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Reads every fixture pair in `dir`, sorted by name.
pub fn read_fixtures(dir: &Path) -> Result<Vec<Fixture>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("fixtures folder {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("fixtures folder {}: {e}", dir.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".request.json") {
            names.push(name.to_string());
        } else if let Some(name) = file.strip_suffix(".expected.json")
            && !dir.join(format!("{name}.request.json")).is_file()
        {
            return Err(format!("{}: no {name}.request.json goes with it", entry.path().display()));
        }
    }
    names.sort();
    let mut fixtures = Vec::new();
    for name in names {
        let req_path = dir.join(format!("{name}.request.json"));
        let exp_path = dir.join(format!("{name}.expected.json"));
        let request =
            std::fs::read(&req_path).map_err(|e| format!("{}: {e}", req_path.display()))?;
        let expected_text = std::fs::read(&exp_path).map_err(|e| {
            format!(
                "{}: {e} (each <name>.request.json needs a <name>.expected.json)",
                exp_path.display()
            )
        })?;
        let mut expected: Value = serde_json::from_slice(&expected_text)
            .map_err(|e| format!("{}: not valid JSON: {e}", exp_path.display()))?;
        let tolerance = match expected.as_object_mut().and_then(|o| o.remove("tolerance")) {
            None => None,
            Some(t) => {
                Some(t.as_f64().filter(|t| t.is_finite() && *t >= 0.0).ok_or_else(|| {
                    format!(
                        "{}: `tolerance` is {t}; it takes a number ≥ 0 (e.g. 1e-6)",
                        exp_path.display()
                    )
                })?)
            }
        };
        fixtures.push(Fixture { name, request, expected, tolerance });
    }
    Ok(fixtures)
}

/// Runs fixtures against a loaded service: predictions, or training runs,
/// through the call path `serve` runs. What they store (`to_file`, new
/// versions) goes into a throw-away in-memory store.
pub async fn run_fixtures(
    service: &Service,
    fixtures: &[Fixture],
    kind: ServiceKind,
) -> Vec<FixtureResult> {
    let scratch = Registry::memory();
    let called = ExternalId::latest(service.model.clone(), kind, service.env);
    let scratch_dir = tempfile::tempdir();
    let mut results = Vec::new();
    for fixture in fixtures {
        let answer = match (kind, &scratch_dir) {
            (ServiceKind::Prediction, _) => {
                let files = Files::Scratch(&scratch);
                call::predict(service, &called, None, &fixture.request, files, None).await
            }
            (ServiceKind::Training, Ok(dir)) => {
                call::train(service, &called, None, &fixture.request, &scratch, dir.path()).await
            }
            (ServiceKind::Training, Err(e)) => {
                Err(Error::Internal(format!("cannot make a scratch folder: {e}")))
            }
        };
        let (body, error) = match answer {
            Ok(body) => (body, None),
            Err(e) => (error_envelope(&e.to_string(), Some(&service.model_id)), Some(e)),
        };
        let response: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut differences = Vec::new();
        compare(&fixture.expected, &response, "", fixture.tolerance, &mut differences);
        results.push(FixtureResult { name: fixture.name.clone(), error, differences, response });
    }
    results
}

/// Records where `actual` does not contain `expected`; numbers within
/// `tolerance` of max(1, |expected|) when given, else within
/// [`RELATIVE_TOLERANCE`] of the larger.
pub fn compare(
    expected: &Value,
    actual: &Value,
    at: &str,
    tolerance: Option<f64>,
    out: &mut Vec<String>,
) {
    let here = if at.is_empty() { "the response".to_string() } else { format!("`{at}`") };
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, want_value) in want {
                let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
                match got.get(key) {
                    Some(got_value) => compare(want_value, got_value, &path, tolerance, out),
                    None => out.push(format!("`{path}` is missing (expected {want_value})")),
                }
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                out.push(format!("{here} has {} items, expected {}", got.len(), want.len()));
                return;
            }
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                compare(w, g, &format!("{at}[{i}]"), tolerance, out);
            }
        }
        (Value::Number(want), Value::Number(got)) => {
            let (w, g) = (want.as_f64().unwrap_or(f64::NAN), got.as_f64().unwrap_or(f64::NAN));
            let allowed = match tolerance {
                Some(t) => t * w.abs().max(1.0),
                None => RELATIVE_TOLERANCE * w.abs().max(g.abs()),
            };
            if (w - g).abs() > allowed || w.is_nan() || g.is_nan() {
                out.push(format!("{here} is {got}, expected {want}"));
            }
        }
        (w, g) if w == g => {}
        (w, g) => out.push(format!("{here} is {g}, expected {w}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn diffs(expected: Value, actual: Value) -> Vec<String> {
        let mut out = Vec::new();
        compare(&expected, &actual, "", None, &mut out);
        out
    }

    #[test]
    fn a_fixture_may_loosen_its_own_tolerance() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.request.json"), "{}").expect("write");
        std::fs::write(
            dir.path().join("a.expected.json"),
            r#"{"prediction": {"p": [0.5, 1e-9, 150.0]}, "tolerance": 1e-5}"#,
        )
        .expect("write");
        let fixture = read_fixtures(dir.path()).expect("read").remove(0);
        assert_eq!(fixture.tolerance, Some(1e-5));
        assert!(fixture.expected.get("tolerance").is_none(), "not matched against the response");
        let close = json!({"prediction": {"p": [0.500004, 0.0, 150.0014]}});
        let mut out = Vec::new();
        compare(&fixture.expected, &close, "", fixture.tolerance, &mut out);
        assert!(out.is_empty(), "{out:?}");
        let far = json!({"prediction": {"p": [0.5, 0.0, 150.01]}});
        compare(&fixture.expected, &far, "", fixture.tolerance, &mut out);
        assert_eq!(out, ["`prediction.p[2]` is 150.01, expected 150.0"]);
        std::fs::write(dir.path().join("a.expected.json"), r#"{"tolerance": "loose"}"#)
            .expect("write");
        assert!(read_fixtures(dir.path()).expect_err("refused").contains("it takes a number"));
    }

    #[test]
    fn expected_is_a_subset_with_a_float_tolerance() {
        let actual =
            json!({"status": "ok", "prediction": {"AC": [100.0, null]}, "model_id": "m/dev/1"});
        assert!(
            diffs(
                json!({"status": "ok", "prediction": {"AC": [100.0000000001, null]}}),
                actual.clone()
            )
            .is_empty()
        );
        assert_eq!(
            diffs(json!({"prediction": {"AC": [101.0, null]}}), actual.clone()),
            ["`prediction.AC[0]` is 100.0, expected 101.0"]
        );
        assert_eq!(
            diffs(json!({"prediction": {"AC": [1.0]}}), actual.clone()),
            ["`prediction.AC` has 2 items, expected 1"]
        );
        assert_eq!(
            diffs(json!({"message": "x"}), actual),
            ["`message` is missing (expected \"x\")"]
        );
    }

    #[test]
    fn fixtures_come_in_pairs() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.request.json"), "{}").expect("write");
        std::fs::write(dir.path().join("a.expected.json"), "{}").expect("write");
        assert_eq!(read_fixtures(dir.path()).expect("read").len(), 1);
        std::fs::write(dir.path().join("b.request.json"), "{}").expect("write");
        assert!(read_fixtures(dir.path()).expect_err("unpaired").contains("b.expected.json"));
    }
}
