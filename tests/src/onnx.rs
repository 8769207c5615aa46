//! Support for the ONNX tests: the pinned Python environment that trains and
//! exports models (tests/onnx), and comparing answers with a tolerance.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The Python of the pinned ONNX environment (`tests/onnx/venv` makes it;
/// `.ci/run` sets `MLOPS_ONNX_PYTHON`). `None` outside CI when it is not
/// set: the caller skips with a note. In CI its absence fails the test.
pub fn python(test: &str) -> Option<PathBuf> {
    match std::env::var_os("MLOPS_ONNX_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            crate::skip(
                test,
                "MLOPS_ONNX_PYTHON is not set: eval \"$(tests/onnx/venv)\" makes the pinned environment and sets it",
            );
            None
        }
    }
}

/// Runs a script of tests/onnx with that Python; panics with its output on
/// failure.
pub fn run_script(python: &std::path::Path, script: &str, args: &[&std::ffi::OsStr]) -> String {
    let path = crate::repo_root().join("tests/onnx").join(script);
    let out = Command::new(python).arg(&path).args(args).output().expect("run python");
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The largest difference between two columns, each relative to max(1,
/// |expected|): relative for values beyond 1 and absolute below
/// (probabilities near 0 computed in `f32` cannot agree relatively).
/// Integers (labels), strings, booleans and nulls must be equal; `Err`
/// names the first row where they are not.
pub fn column_difference(got: &[Value], want: &[Value]) -> Result<f64, String> {
    if got.len() != want.len() {
        return Err(format!("{} rows, expected {}", got.len(), want.len()));
    }
    let mut worst = 0.0f64;
    for (row, (g, w)) in got.iter().zip(want).enumerate() {
        match (g.as_f64(), w.as_f64()) {
            (Some(a), Some(b)) if w.is_f64() => worst = worst.max((a - b).abs() / b.abs().max(1.0)),
            (Some(a), Some(b)) if a == b => {}
            _ if g == w => {}
            _ => return Err(format!("row {row}: {g}, expected {w}")),
        }
    }
    Ok(worst)
}
