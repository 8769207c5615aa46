#![allow(clippy::expect_used, reason = "a build script reports failure by panicking")]

//! Builds the guest components the tests load, from source, for
//! wasm32-wasip2, into `target/guests` (its own target folder: the outer
//! cargo holds the lock on the usual one). Their paths reach the tests as
//! the environment variables `<NAME>_WASM`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The outer build's flags are for the host, not for guests; nor is a
/// linter's wrapper (under `cargo clippy`): guests are linted on their own.
const OUTER_ONLY: [&str; 7] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "CLIPPY_ARGS",
];

/// (package, library file name, environment variable)
const GUESTS: &[(&str, &str, &str)] =
    &[("well-log", "well_log", "WELL_LOG_WASM"), ("probe-guest", "probe_guest", "PROBE_WASM")];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("tests/ sits in the workspace").to_path_buf();
    for watched in [
        "wit",
        "sdk/rust/src",
        "examples/well_log/src",
        "tests/guests",
        "sdk/onnx-runner/src",
        "sdk/onnx-runner/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("Cargo.lock").display());

    ensure_target();
    let target_dir = root.join("target").join("guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "guest", "--target", "wasm32-wasip2", "--lib"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    for var in OUTER_ONLY {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("cannot run cargo to build the guest components");
    assert!(status.success(), "building the guest components failed: {status}");

    // The ONNX runner is a workspace of its own (tract is large): built the
    // same way, into the same folder.
    let mut runner = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    runner
        .current_dir(&root)
        .args([
            "build",
            "--locked",
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(root.join("sdk/onnx-runner/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for var in OUTER_ONLY {
        runner.env_remove(var);
    }
    let status = runner.status().expect("cannot run cargo to build the ONNX runner");
    assert!(status.success(), "building the ONNX runner failed: {status}");
    let wasm = target_dir.join("wasm32-wasip2/guest/mlops_onnx_runner.wasm");
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    println!("cargo:rustc-env=ONNX_RUNNER_WASM={}", wasm.display());
    for (_, lib, var) in GUESTS {
        let wasm = target_dir.join("wasm32-wasip2").join("guest").join(format!("{lib}.wasm"));
        assert!(wasm.is_file(), "{} was not built", wasm.display());
        println!("cargo:rustc-env={var}={}", wasm.display());
    }
}

/// Installs the wasm32-wasip2 target when it is missing and rustup is
/// there (rust-toolchain.toml names it, but rustup only installs it by
/// itself when auto-install is on).
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed =
        sysroot.as_deref().map(|s| Path::new(s).join("lib/rustlib/wasm32-wasip2").is_dir());
    if installed == Some(true) {
        return;
    }
    let added = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status();
    if !matches!(added, Ok(s) if s.success()) {
        println!(
            "cargo:warning=the wasm32-wasip2 target seems missing and `rustup target add wasm32-wasip2` failed; \
             install it by hand"
        );
    }
}
