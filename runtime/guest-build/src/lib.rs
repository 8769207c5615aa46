//! For build scripts: compiles guest components for `wasm32-wasip2` with a
//! nested cargo, into a target folder of their own under `target/` (the
//! outer cargo holds the lock on the usual one), with the `guest` profile.
//! The engine's build script builds the ONNX runner this way (into
//! `target/onnx-runner`), the tests' build script the test guests (into
//! `target/guests`).

use std::ffi::OsStr;
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

/// Where the guests built into `target/<folder>` land:
/// `<root>/target/<folder>/wasm32-wasip2/guest`.
pub fn output_dir(root: &Path, folder: &str) -> PathBuf {
    root.join("target").join(folder).join("wasm32-wasip2/guest")
}

/// The compiler flags of a guest build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rustflags {
    /// The workspace's, from `.cargo/config.toml` (`[target.wasm32-wasip2]`).
    Workspace,
    /// None: the workspace's are overridden.
    Plain,
}

/// Runs `cargo build --profile guest --target wasm32-wasip2 <args>` in
/// `root` (the workspace root) into `target/<folder>`.
pub fn cargo_build(
    root: &Path,
    folder: &str,
    args: &[&OsStr],
    flags: Rustflags,
) -> Result<(), String> {
    let pinned = pinned_toolchain(root);
    ensure_target(pinned.as_deref());
    let mut cmd = match &pinned {
        Some(channel) => {
            let mut cmd = Command::new("rustup");
            cmd.args(["run", channel, "cargo"]);
            // The outer build's compiler, not the pinned one.
            cmd.env_remove("RUSTUP_TOOLCHAIN").env_remove("RUSTC");
            cmd
        }
        None => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
    };
    cmd.current_dir(root)
        .args(["build", "--locked", "--profile", "guest", "--target", "wasm32-wasip2"])
        .args(args)
        .arg("--target-dir")
        .arg(root.join("target").join(folder));
    for var in OUTER_ONLY {
        cmd.env_remove(var);
    }
    if flags == Rustflags::Plain {
        // Set, even empty, it takes precedence over the config's flags.
        cmd.env("CARGO_ENCODED_RUSTFLAGS", "");
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo build {args:?} failed: {status}")) }
}

/// Under rustup, the channel `rust-toolchain.toml` names: guests are built
/// with it whatever toolchain runs the outer build (`cargo +nightly fuzz
/// build` included), so a component's bytes do not depend on who built it
/// and the wasm target is the one installed for it. `None` without rustup
/// (the outer cargo is the only one) or without a pinned channel.
fn pinned_toolchain(root: &Path) -> Option<String> {
    std::env::var_os("RUSTUP_HOME").or_else(|| std::env::var_os("RUSTUP_TOOLCHAIN"))?;
    let text = std::fs::read_to_string(root.join("rust-toolchain.toml")).ok()?;
    let line = text.lines().find(|l| l.trim_start().starts_with("channel"))?;
    let channel = line.split('"').nth(1)?;
    (!channel.is_empty()).then(|| channel.to_string())
}

/// Installs the wasm32-wasip2 target when it is missing and rustup is
/// there (rust-toolchain.toml names it, but rustup only installs it by
/// itself when auto-install is on).
fn ensure_target(pinned: Option<&str>) {
    let mut rustc = match pinned {
        Some(channel) => {
            let mut cmd = Command::new("rustup");
            cmd.args(["run", channel, "rustc"]);
            cmd
        }
        None => Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())),
    };
    let sysroot = rustc
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed =
        sysroot.as_deref().map(|s| Path::new(s).join("lib/rustlib/wasm32-wasip2").is_dir());
    if installed == Some(true) {
        return;
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", "wasm32-wasip2"]);
    if let Some(channel) = pinned {
        add.args(["--toolchain", channel]);
    }
    let added = add.status();
    if !matches!(added, Ok(s) if s.success()) {
        println!(
            "cargo:warning=the wasm32-wasip2 target seems missing and `rustup target add wasm32-wasip2` failed; \
             install it by hand"
        );
    }
}
