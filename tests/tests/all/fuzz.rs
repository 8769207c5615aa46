//! Replays every saved fuzz input — the seeds, the committed (minimised)
//! corpus the fuzzers grew, and each crash they found
//! (`tests/fuzz/regressions/<target>/`) — through the same functions the
//! fuzz targets call, so a fixed crash stays fixed without nightly or
//! libFuzzer.

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "corpus", "regressions"].map(|d| root.join(d).join(target)) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_file() && path.file_name().is_some_and(|n| n != "README.md") {
                out.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no saved inputs for {target}");
    for (path, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{target}: {} panics", path.display());
    }
}

#[test]
fn saved_settings_inputs_do_not_panic() {
    replay("settings", targets::settings);
}

#[test]
fn saved_envelope_inputs_do_not_panic() {
    replay("envelope", targets::envelope);
}

#[test]
fn saved_oip_inputs_do_not_panic() {
    replay("oip", targets::oip);
}

#[test]
fn saved_registry_inputs_do_not_panic() {
    replay("registry", targets::registry);
}

#[test]
fn saved_boundary_inputs_cross_into_the_guest_and_back_unchanged() {
    replay("boundary", targets::boundary);
}
