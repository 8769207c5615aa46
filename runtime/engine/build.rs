#![allow(clippy::expect_used, reason = "a build script reports failure by panicking")]

//! Builds the components the engine carries (see `builtin`): the ONNX
//! runner, `sdk/onnx-runner`, a workspace of its own (tract is large and
//! only the guest needs it).

use std::path::{Path, PathBuf};

/// `target/onnx-runner`.
const RUNNER_TARGET: &str = "onnx-runner";

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("runtime/engine sits two levels down in the workspace")
        .to_path_buf();
    for watched in [
        "wit",
        "sdk/rust/src",
        "sdk/rust/Cargo.toml",
        "sdk/onnx-runner/src",
        "sdk/onnx-runner/Cargo.toml",
        "sdk/onnx-runner/Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let manifest = root.join("sdk/onnx-runner/Cargo.toml");
    // A target folder of its own: a plain `cargo build` of the host makes
    // no `target/guests` (the test guests' folder). Without the workspace's
    // guest flags (.cargo/config.toml): inlining more makes tract's runner a
    // third larger, and slower to compile at load.
    mlops_guest_build::cargo_build(
        &root,
        RUNNER_TARGET,
        &["--manifest-path".as_ref(), manifest.as_os_str()],
        mlops_guest_build::Rustflags::Plain,
    )
    .expect("building the ONNX runner (sdk/onnx-runner)");
    let wasm = mlops_guest_build::output_dir(&root, RUNNER_TARGET).join("mlops_onnx_runner.wasm");
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    // Carried deflated: 15.7 MB of wasm is 3.7 MB, which keeps the binary
    // (and the container image) small; it is inflated once, when a command
    // first needs it.
    let raw = std::fs::read(&wasm).expect("read the ONNX runner");
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &raw).expect("deflate the ONNX runner");
    let deflated = encoder.finish().expect("deflate the ONNX runner");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("mlops_onnx_runner.wasm.deflate"), deflated)
        .expect("write the deflated runner");
    println!("cargo:rustc-env=MLOPS_ONNX_RUNNER_LEN={}", raw.len());
}
