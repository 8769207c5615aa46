//! `mlops-host init`: a ready model folder in one of the supported
//! languages — settings (every field explained), the model, an artifact, a
//! fixture, a build script, the SDK and contract it builds against, and CI
//! pipelines for GitHub Actions and Bitbucket — that passes `mlops-host
//! test` as written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use mlops_manifest::ModelName;

use crate::UsageError;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    Js,
    C,
    /// An ONNX graph, served by the runner component (no code).
    Onnx,
}

impl Lang {
    /// What a CI runner installs before building (one shell line; `sudo`
    /// only where there is one).
    fn setup(self) -> &'static str {
        match self {
            Lang::Rust | Lang::Onnx => "rustup target add wasm32-wasip2",
            Lang::Python => {
                "$(command -v sudo) apt-get update -qq && $(command -v sudo) apt-get install -y -qq python3-venv"
            }
            Lang::Js => {
                "$(command -v sudo) apt-get update -qq && $(command -v sudo) apt-get install -y -qq nodejs npm"
            }
            Lang::C => {
                "$(command -v sudo) apt-get update -qq && $(command -v sudo) apt-get install -y -qq clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32"
            }
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
            Lang::Onnx => "onnx",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model folder (created if missing) [default: the current folder].
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// The model's name: lowercase letters, digits and `_`
    /// [default: the folder's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite files that exist (otherwise init refuses to touch any).
    #[arg(long)]
    pub force: bool,
    /// Leave out the CI pipelines (.github/workflows/mlops.yml,
    /// bitbucket-pipelines.yml).
    #[arg(long)]
    pub no_ci: bool,
}

// What every model folder gets besides its template.
const WIT: &str = crate::commands::guest::WIT;
const PY_SDK: &str = include_str!("../../../../sdk/python/mlops_model/__init__.py");
const JS_SDK: &str = include_str!("../../../../sdk/js/mlops-model.js");
const JS_WORLD: &str = include_str!("../../../../sdk/js/wit/world.wit");
/// The JavaScript example's lock file: the same pinned tools.
const JS_LOCK: &str = include_str!("../../../../examples/well_log_js/package-lock.json");
const RUST_SDK: [(&str, &str); 3] = [
    ("src/lib.rs", include_str!("../../../../sdk/rust/src/lib.rs")),
    ("src/frame.rs", include_str!("../../../../sdk/rust/src/frame.rs")),
    ("src/log.rs", include_str!("../../../../sdk/rust/src/log.rs")),
];
const RUST_SDK_MANIFEST: &str = r#"[package]
name = "mlops-sdk"
version = "0.1.0"
edition = "2024"
publish = false
description = "Write mlops-host models in Rust: implement `Model`, call `export_model!`."

[dependencies]
wit-bindgen = { version = "0.63", default-features = false, features = ["macros", "realloc"] }
"#;
const RUNNER: [(&str, &str); 2] = [
    ("runner/src/lib.rs", include_str!("../../../../sdk/onnx-runner/src/lib.rs")),
    ("runner/Cargo.lock", include_str!("../../../../sdk/onnx-runner/Cargo.lock")),
];
const RUNNER_MANIFEST: &str = include_str!("../../../../sdk/onnx-runner/Cargo.toml");
const ONNX_EXAMPLE: [(&str, &[u8]); 6] = [
    (
        "artifacts/model.onnx",
        include_bytes!("../../../../examples/well_log_onnx/artifacts/model.onnx"),
    ),
    (
        "artifacts/runner.json",
        include_bytes!("../../../../examples/well_log_onnx/artifacts/runner.json"),
    ),
    (
        "fixtures/predict.request.json",
        include_bytes!("../../../../examples/well_log/fixtures/predict.request.json"),
    ),
    (
        "fixtures/predict.expected.json",
        include_bytes!("../../../../examples/well_log/fixtures/predict.expected.json"),
    ),
    (
        "fixtures/bad_rdep.request.json",
        include_bytes!("../../../../examples/well_log/fixtures/bad_rdep.request.json"),
    ),
    (
        "fixtures/bad_rdep.expected.json",
        include_bytes!("../../../../examples/well_log/fixtures/bad_rdep.expected.json"),
    ),
];

fn extra(name: &str) -> &'static [u8] {
    TEMPLATE_FILES.iter().find(|(t, p, ..)| *t == "_extra" && *p == name).map_or(&[], |f| f.2)
}

/// The files of a new model folder: (path, content, executable).
pub fn files(lang: Lang, name: &ModelName, ci: bool) -> Vec<(String, Vec<u8>, bool)> {
    let fill = |bytes: &[u8]| -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => text
                .replace("{{model_name}}", name.as_str())
                .replace("{{setup}}", lang.setup())
                .into_bytes(),
            Err(_) => bytes.to_vec(),
        }
    };
    let mut out: Vec<(String, Vec<u8>, bool)> = TEMPLATE_FILES
        .iter()
        .filter(|(t, ..)| *t == lang.folder() || (*t == "common" && lang != Lang::Onnx))
        .map(|(_, path, bytes, exec)| {
            let mut content = fill(bytes);
            if *path == "mlops_settings.yaml" {
                // Every other setting, commented.
                content.extend_from_slice(extra("settings-more.yaml"));
            }
            (path.to_string(), content, *exec)
        })
        .collect();
    if ci {
        out.push((".github/workflows/mlops.yml".into(), fill(extra("github.yml")), false));
        out.push(("bitbucket-pipelines.yml".into(), fill(extra("bitbucket-pipelines.yml")), false));
    }
    let mut add =
        |path: &str, content: &[u8]| out.push((path.to_string(), content.to_vec(), false));
    add("wit/mlops.wit", WIT.as_bytes());
    // The Rust SDK, standalone: the contract is at ../wit from it.
    let rust_sdk = |add: &mut dyn FnMut(&str, &[u8])| {
        add("mlops-sdk/Cargo.toml", RUST_SDK_MANIFEST.as_bytes());
        for (path, text) in RUST_SDK {
            add(
                &format!("mlops-sdk/{path}"),
                text.replace(r#"path: "../../wit""#, r#"path: "../wit""#).as_bytes(),
            );
        }
    };
    match lang {
        Lang::Python => add("mlops_model/__init__.py", PY_SDK.as_bytes()),
        Lang::Js => {
            add("mlops-model.js", JS_SDK.as_bytes());
            add("wit-js/world.wit", JS_WORLD.as_bytes());
            add(
                "package-lock.json",
                JS_LOCK.replace(r#""well-log-js""#, r#""mlops-js-model""#).as_bytes(),
            );
        }
        Lang::C => {}
        Lang::Rust => rust_sdk(&mut add),
        Lang::Onnx => {
            rust_sdk(&mut add);
            add(
                "runner/Cargo.toml",
                RUNNER_MANIFEST
                    .replace(r#"path = "../rust""#, r#"path = "../mlops-sdk""#)
                    .as_bytes(),
            );
            for (path, text) in RUNNER {
                add(path, text.as_bytes());
            }
            for (path, bytes) in ONNX_EXAMPLE {
                add(path, bytes);
            }
        }
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let raw_name = match &args.name {
        Some(n) => n.clone(),
        None => std::path::absolute(&dir)
            .ok()
            .and_then(|d| d.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .ok_or_else(|| {
                UsageError(format!("cannot take a model name from {}: pass --name", dir.display()))
            })?,
    };
    let name = ModelName::new(raw_name).map_err(|e| {
        UsageError(format!(
            "{e}{}",
            if args.name.is_none() { " (taken from the folder's name; pass --name)" } else { "" }
        ))
    })?;
    let files = files(args.lang, &name, !args.no_ci);
    let existing: Vec<&str> =
        files.iter().map(|(p, ..)| p.as_str()).filter(|p| dir.join(p).exists()).collect();
    if !existing.is_empty() && !args.force {
        return Err(UsageError(format!(
            "{} already has {}: init writes nothing over existing files (add --force to overwrite them)",
            dir.display(),
            existing.join(", ")
        ))
        .into());
    }
    write_all(&dir, &files)?;
    println!("created {} model `{name}` in {}", args.lang.folder(), dir.display());
    println!("next:");
    if args.dir.is_some() {
        println!("  cd {}", dir.display());
    }
    println!("  mlops-host validate      # check the settings and fixtures");
    println!("  mlops-host test          # build, then run the fixtures in the sandbox");
    println!("  mlops-host deploy        # test, upload the artifacts, deploy to dev");
    println!("  mlops-host serve         # serve it over HTTP");
    Ok(ExitCode::SUCCESS)
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>, bool)]) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for (path, content, executable) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, content)
            .with_context(|| format!("cannot write {}", target.display()))?;
        if *executable {
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("cannot make {} executable", target.display()))?;
        }
    }
    if files.is_empty() {
        bail!("no template files: this binary was built without its templates");
    }
    Ok(())
}
