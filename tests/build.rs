#![allow(clippy::expect_used, reason = "a build script reports failure by panicking")]

//! Builds the guest components the tests load, from source, for
//! wasm32-wasip2, into `target/guests` (its own target folder: the outer
//! cargo holds the lock on the usual one). Their paths reach the tests as
//! the environment variables `<NAME>_WASM`.

use std::path::PathBuf;

/// (package, library file name, environment variable)
const GUESTS: &[(&str, &str, &str)] =
    &[("well-log", "well_log", "WELL_LOG_WASM"), ("probe-guest", "probe_guest", "PROBE_WASM")];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("tests/ sits in the workspace").to_path_buf();
    for watched in ["wit", "sdk/rust/src", "examples/well_log/src", "tests/guests"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("Cargo.lock").display());
    println!("cargo:rerun-if-changed={}", root.join(".cargo/config.toml").display());

    let mut args: Vec<&std::ffi::OsStr> = vec!["--lib".as_ref()];
    for (package, _, _) in GUESTS {
        args.push("-p".as_ref());
        args.push(package.as_ref());
    }
    mlops_guest_build::cargo_build(&root, "guests", &args, mlops_guest_build::Rustflags::Workspace)
        .expect("building the guest components");
    let target_dir = mlops_guest_build::output_dir(&root, "guests");
    for (_, lib, var) in GUESTS {
        let wasm = target_dir.join(format!("{lib}.wasm"));
        assert!(wasm.is_file(), "{} was not built", wasm.display());
        println!("cargo:rustc-env={var}={}", wasm.display());
    }
}
