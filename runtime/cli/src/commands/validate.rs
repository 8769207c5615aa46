//! `mlops-host validate`: checks a settings file — every field, the paths
//! it names, CDF's metadata limits — and the fixtures it points at, without
//! building or calling anything. A model served by a runtime mlops-host
//! carries (`runtime: onnx`) is also loaded in the sandbox, as a deploy
//! would, so that a graph the runner cannot serve (an unsupported operator,
//! a runner.json that does not fit the graph) is reported here. Problems
//! are reported at once, each with its file, line and column (or file) and
//! a hint; exit code 2 when any is found.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mlops_manifest::{Component, ModelSettings, Runtime, Settings};

use crate::UsageError;
use crate::context::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file.
    #[arg(long, short = 'f', default_value = mlops_manifest::SETTINGS_FILE, value_name = "FILE")]
    pub settings: PathBuf,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.settings)?;
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    for model in &settings.models {
        let component = match &model.component {
            Component::File { path, .. } if path.is_file() => "component present".to_string(),
            // Without a build command, loading already refused a missing file.
            Component::File { .. } => "component made by `build`".to_string(),
            Component::Runtime(runtime) => match check_runtime(global, model, *runtime).await {
                Ok(()) => format!("{} loads its artifacts", runtime.describe()),
                Err(problem) => {
                    problems.push(problem);
                    format!("{} cannot load its artifacts", runtime.describe())
                }
            },
        };
        let mut counts = Vec::new();
        if let Some(dir) = &model.fixtures {
            let training = dir.join("training");
            let trains = has_fixtures(&training);
            // A folder with training fixtures only is fine.
            match check_fixtures(dir, trains) {
                Ok(n) => counts.push(format!("{n} prediction fixture(s)")),
                Err(e) => problems.extend(e),
            }
            if training.is_dir() {
                match check_fixtures(&training, false) {
                    Ok(n) => counts.push(format!("{n} training fixture(s)")),
                    Err(e) => problems.extend(e),
                }
            }
        } else {
            counts.push("no fixtures".to_string());
        }
        lines.push(format!("  {}: {component}, {}", model.model_name, counts.join(", ")));
    }
    if !problems.is_empty() {
        return Err(UsageError(format!(
            "{} problem(s) in the artifacts or fixtures of {}:\n{}",
            problems.len(),
            args.settings.display(),
            problems.join("\n")
        ))
        .into());
    }
    println!("{}: valid, {} model(s)", args.settings.display(), settings.models.len());
    for line in lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads a runtime model in the sandbox on its artifact folder (its
/// `initialization`), as a deploy would; the runtime's own message says
/// what is wrong.
async fn check_runtime(
    global: &GlobalArgs,
    model: &ModelSettings,
    runtime: Runtime,
) -> Result<(), String> {
    let folder = model.artifact_folder.as_deref().unwrap_or(Path::new("."));
    let fail = |what: String| {
        let hint = if what.contains("which the runner does not support") {
            "export the model without those operators (the converter's options or target opset), \
             or serve it from code (mlops-host init --lang python)"
        } else {
            "fix the graph or runner.json; `mlops-host init --lang onnx --from <model.onnx> --force` \
             writes a runner.json that fits the graph"
        };
        format!("{}: {what}\n  hint: {hint}", folder.display())
    };
    let engine = global.engine().map_err(|e| fail(format!("{e:#}")))?;
    let bytes = bytes::Bytes::from_static(mlops_engine::builtin::component(runtime)?);
    let component = crate::commands::local::load_component(
        &engine,
        bytes,
        format!("compiling {}", runtime.describe()),
    )
    .await
    .map_err(|e| fail(format!("{e:#}")))?;
    let spec = mlops_engine::DeploymentSpec {
        name: format!("{} (validate)", model.model_name),
        artifact_dir: Some(folder.to_path_buf()),
        limits: model.limits.clone(),
        secrets: Vec::new(),
        profile: false,
    };
    match engine.deploy(&component, spec).await {
        Ok(_) => Ok(()),
        Err(e) => Err(fail(crate::commands::local::start_failure(&e))),
    }
}

/// Whether `dir` holds at least one `<name>.request.json`.
pub fn has_fixtures(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".request.json"))
    })
}

/// Checks every fixture pair in `dir` parses; returns how many there are
/// (none is a problem unless `may_be_empty`).
fn check_fixtures(dir: &Path, may_be_empty: bool) -> Result<usize, Vec<String>> {
    let fixtures = mlops_core::fixtures::read_fixtures(dir).map_err(|e| vec![format!("{e}\n  hint: every <name>.request.json needs a <name>.expected.json beside it, both JSON")])?;
    let mut problems = Vec::new();
    for f in &fixtures {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&f.request) {
            // serde_json says "… at line L column C": put it in front, as file:line:col.
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or(&what);
            problems.push(format!(
                "{}:{}:{}: not valid JSON: {what}\n  hint: a request is the call body, e.g. {{\"data\": {{\"x\": [1.0]}}}}",
                dir.join(format!("{}.request.json", f.name)).display(),
                e.line(),
                e.column()
            ));
        }
    }
    if fixtures.is_empty() && !may_be_empty {
        problems.push(format!(
            "{}: no <name>.request.json files\n  hint: add a request and the response it must give, or remove `fixtures`",
            dir.display()
        ));
    }
    if problems.is_empty() { Ok(fixtures.len()) } else { Err(problems) }
}
