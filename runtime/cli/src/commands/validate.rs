//! `mlops-host validate`: checks a settings file — every field, the paths
//! it names, CDF's metadata limits — and the fixtures it points at, without
//! building or running anything. Problems are reported at once, each with
//! its file, line and column and a hint; exit code 2 when any is found.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mlops_manifest::Settings;

use crate::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file.
    #[arg(long, short = 'f', default_value = mlops_manifest::SETTINGS_FILE, value_name = "FILE")]
    pub settings: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.settings)?;
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    for model in &settings.models {
        let component = if model.model_file.is_file() {
            "component present".to_string()
        } else {
            // Without a build command, loading already refused a missing file.
            "component made by `build`".to_string()
        };
        let mut counts = Vec::new();
        if let Some(dir) = &model.fixtures {
            match check_fixtures(dir) {
                Ok(n) => counts.push(format!("{n} prediction fixture(s)")),
                Err(e) => problems.extend(e),
            }
            let training = dir.join("training");
            if training.is_dir() {
                match check_fixtures(&training) {
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
            "{} problem(s) in the fixtures of {}:\n{}",
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

/// Checks every fixture pair in `dir` parses; returns how many there are.
fn check_fixtures(dir: &Path) -> Result<usize, Vec<String>> {
    let fixtures = mlops_server::fixtures::read_fixtures(dir).map_err(|e| vec![format!("{e}\n  hint: every <name>.request.json needs a <name>.expected.json beside it, both JSON")])?;
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
    if fixtures.is_empty() {
        problems.push(format!(
            "{}: no <name>.request.json files\n  hint: add a request and the response it must give, or remove `fixtures`",
            dir.display()
        ));
    }
    if problems.is_empty() { Ok(fixtures.len()) } else { Err(problems) }
}
