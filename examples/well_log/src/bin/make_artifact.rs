//! Produces the example's artifact and fixtures from the synthetic well log:
//!
//! - `artifacts/model.json`: the model fitted to 3,000 samples (seed 2026);
//! - `fixtures/predict.request.json` / `.expected.json`: a call on held-out
//!   samples (seed 99, one with a missing density) and the response the
//!   fitted model gives;
//! - `fixtures/bad_rdep.request.json` / `.expected.json`: a call the model
//!   must refuse, and its error;
//! - `fixtures/training/fit.request.json` / `.expected.json`: 400 samples
//!   (seed 5) for the training service, and the metadata it must return.
//!
//! Run from the repository root:
//! `cargo run -p well-log --bin make-artifact` (writes next to this crate);
//! `… -- --training-csv <file>` writes the training log as CSV instead.
//! The output is deterministic; a test checks the committed files match it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice()
        && flag == "--training-csv"
    {
        return match std::fs::write(path, well_log::make::training_csv()) {
            Ok(()) => {
                println!("wrote {path}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {path}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    match write_all(&dir) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_all(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (name, text) in well_log::make::files()? {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
