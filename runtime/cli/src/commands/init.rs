//! `mlops-host init`: a ready model folder in one of the supported
//! languages — settings (every field explained), the model, an artifact, a
//! fixture, a build script, the SDK and contract it builds against, and CI
//! pipelines for GitHub Actions and Bitbucket — that passes `mlops-host
//! test` as written. An ONNX model needs no code: `--lang onnx --from
//! model.onnx` writes the settings, the graph and a `runner.json` derived
//! from the graph's own inputs and outputs, after loading it in the sandbox.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::ValueEnum;
use mlops_manifest::ModelName;

use crate::UsageError;
use crate::context::GlobalArgs;

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
            Lang::Rust => "rustup target add wasm32-wasip2",
            Lang::Onnx => {
                "echo 'an ONNX model needs no toolchain, the runner is inside mlops-host'"
            }
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

    /// Whether the template trains as well as predicts (and gets the
    /// training fixture, `templates/_train`).
    fn trains(self) -> bool {
        matches!(self, Lang::Rust | Lang::Python | Lang::Js)
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
    /// The model's name: letters, digits and `_`
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
    /// With --lang onnx: serve this .onnx file (scikit-learn's skl2onnx,
    /// onnxmltools for XGBoost and LightGBM…): it is copied into
    /// artifacts/ and runner.json is written from its inputs and outputs.
    #[arg(long, value_name = "MODEL.onnx")]
    pub from: Option<PathBuf>,
    /// With --lang python: a model that uses this library, built for the
    /// sandbox with the model (`numpy`; the first build compiles it, about
    /// 2 minutes, then it is cached).
    #[arg(long, value_enum, value_name = "LIBRARY")]
    pub with: Option<Library>,
}

/// Python libraries with native code that `init --with` sets a model up for.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Library {
    /// numpy, compiled for the sandbox by numpy/build-numpy.sh.
    Numpy,
}

// What every model folder gets besides its template.
pub(crate) const WIT: &str = crate::commands::guest::WIT;
pub(crate) const PY_SDK: &str = include_str!("../../../../sdk/python/mlops_model/__init__.py");
/// What builds numpy for the sandbox, for a model made `--with numpy`.
pub(crate) const NUMPY_BUILD: [(&str, &str); 2] = [
    ("numpy/build-numpy.sh", include_str!("../../../../sdk/python/numpy/build-numpy.sh")),
    ("numpy/runtime.py", include_str!("../../../../sdk/python/numpy/runtime.py")),
];
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

/// What an ONNX model folder holds besides the template.
pub enum OnnxSource {
    /// The well-log example graph.
    Example,
    /// A graph of the user's, with the files derived from it:
    /// (path, content).
    From(Vec<(String, Vec<u8>)>),
}

/// The files of one template folder: (path, content, executable).
pub(crate) fn template(name: &str) -> impl Iterator<Item = (&'static str, &'static [u8], bool)> {
    TEMPLATE_FILES.iter().filter(move |(t, ..)| *t == name).map(|(_, p, b, x)| (*p, *b, *x))
}

fn extra(name: &str) -> &'static [u8] {
    TEMPLATE_FILES.iter().find(|(t, p, ..)| *t == "_extra" && *p == name).map_or(&[], |f| f.2)
}

/// The files of a new model folder: (path, content, executable).
pub fn files(
    lang: Lang,
    name: &ModelName,
    ci: bool,
    onnx: OnnxSource,
    with: Option<Library>,
) -> Vec<(String, Vec<u8>, bool)> {
    let description = match &onnx {
        OnnxSource::From(files) => format!(
            "Serves {} (ONNX) without code",
            files.first().map_or("the graph", |(p, _)| p.trim_start_matches("artifacts/"))
        ),
        OnnxSource::Example => "Predicts AC from ACS, RDEP and DEN with an ONNX graph".to_string(),
    };
    let fill = |bytes: &[u8]| -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => text
                .replace("{{model_name}}", name.as_str())
                .replace("{{setup}}", lang.setup())
                .replace("{{description}}", &description)
                .into_bytes(),
            Err(_) => bytes.to_vec(),
        }
    };
    let mut out: Vec<(String, Vec<u8>, bool)> = TEMPLATE_FILES
        .iter()
        .filter(|(t, path, ..)| {
            // A numpy model's app.py replaces the plain one.
            let replaced = with == Some(Library::Numpy) && *path == "app.py";
            (*t == lang.folder() && !replaced)
                || (*t == "_numpy" && with == Some(Library::Numpy))
                || (*t == "common" && lang != Lang::Onnx)
                || (*t == "_train" && lang.trains())
        })
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
    if lang == Lang::Onnx {
        // No code: the graph, runner.json and fixtures.
        match onnx {
            OnnxSource::Example => ONNX_EXAMPLE.iter().for_each(|(p, b)| add(p, b)),
            OnnxSource::From(files) => files.iter().for_each(|(p, b)| add(p, b)),
        }
        return out;
    }
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
        Lang::Onnx => {}
    }
    if lang == Lang::Python && with == Some(Library::Numpy) {
        for (path, text) in NUMPY_BUILD {
            out.push((path.to_string(), text.as_bytes().to_vec(), path.ends_with(".sh")));
        }
    }
    out
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
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
    let onnx = match (&args.from, args.lang) {
        (Some(file), Lang::Onnx) => OnnxSource::From(from_onnx(global, file).await?),
        (Some(_), lang) => {
            return Err(UsageError(format!(
                "--from takes an ONNX file and goes with --lang onnx, not --lang {}",
                lang.folder()
            ))
            .into());
        }
        (None, _) => OnnxSource::Example,
    };
    if args.with.is_some() && args.lang != Lang::Python {
        return Err(UsageError(format!(
            "--with numpy goes with --lang python, not --lang {}",
            args.lang.folder()
        ))
        .into());
    }
    let files = files(args.lang, &name, !args.no_ci, onnx, args.with);
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

/// The files an ONNX model folder gets from `file`: the graph, runner.json
/// derived from it, and a one-row fixture. The graph is loaded and called
/// in the sandbox first, with the runner `serve` uses: a graph it cannot
/// serve is refused here, before anything is written.
async fn from_onnx(global: &GlobalArgs, file: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let graph = crate::onnx::Graph::parse(&bytes)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    let model_file = file
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && !n.contains(['/', '\\']))
        .unwrap_or("model.onnx")
        .to_string();
    let derived = crate::onnx::derive(&graph, &model_file)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    let runner_json = serde_json::to_vec_pretty(&derived.config)?;
    let request = serde_json::to_vec_pretty(&derived.request)?;
    // Load it and call it once, as `test` will.
    let staging = tempfile::tempdir().context("cannot make a temporary folder")?;
    std::fs::write(staging.path().join(&model_file), &bytes)?;
    std::fs::write(staging.path().join(mlops_manifest::ONNX_RUNNER_CONFIG), &runner_json)?;
    let engine = global.engine()?;
    let runner = bytes::Bytes::from_static(
        mlops_engine::builtin::component(mlops_manifest::Runtime::Onnx)
            .map_err(anyhow::Error::msg)?,
    );
    let component = crate::commands::local::load_component(
        &engine,
        runner,
        "compiling the built-in ONNX runner (once per machine; later commands load it from the cache)"
            .to_string(),
    )
    .await?;
    let spec = mlops_engine::DeploymentSpec {
        name: format!("{} (init)", file.display()),
        artifact_dir: Some(staging.path().to_path_buf()),
        limits: mlops_manifest::Limits::default(),
        secrets: Vec::new(),
        profile: false,
    };
    let deployment = engine.deploy(&component, spec).await.map_err(|e| {
        anyhow::anyhow!(
            "{} cannot be served by the ONNX runner: {}",
            file.display(),
            crate::commands::local::start_failure(&e)
        )
    })?;
    let inputs = deployment.signature().map_or(mlops_engine::Schema::Any, |s| s.inputs.clone());
    let data = serde_json::value::to_raw_value(&derived.request["data"])?;
    let payload = mlops_core::codec::decode_data(&data, &inputs).map_err(anyhow::Error::msg)?;
    deployment.predict(payload).await.map_err(|e| {
        anyhow::anyhow!("{} loads, but a call with a sample row fails: {e}", file.display())
    })?;
    for note in &derived.notes {
        println!("{note}");
    }
    Ok(vec![
        (format!("artifacts/{model_file}"), bytes),
        (format!("artifacts/{}", mlops_manifest::ONNX_RUNNER_CONFIG), runner_json),
        ("fixtures/predict.request.json".to_string(), request),
        ("fixtures/predict.expected.json".to_string(), b"{\"status\": \"ok\"}\n".to_vec()),
    ])
}

pub(crate) fn write_all(dir: &Path, files: &[(String, Vec<u8>, bool)]) -> anyhow::Result<()> {
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
