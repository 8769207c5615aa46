//! `mlops-host migrate [DIR]`: turns a project of the Python framework
//! (akerbp.mlops 2.5.8 or 4.1.0) into a project of ours, without touching
//! the seed's code:
//!
//! - `mlops_host/mlops_settings.yaml` (or, with `--in-place`, the project's
//!   own `mlops_settings.yaml`, the seed's kept beside it): every model with
//!   its names, descriptions, owners, metadata (as the framework stored it),
//!   artifact folder, pinned version, data set and `models_to_keep`;
//! - `mlops_host/<model>/`: an `app.py` that imports the seed's model module
//!   and calls its `initialization`, `predict` and `train` through our SDK,
//!   the build script, the SDK, a stand-in for the framework's logger, numpy
//!   when the model imports it, and fixtures made from the `ServiceTest`
//!   inputs of the seed's test file where they are literal data;
//! - `MIGRATION.md`: what became of every seed key, and the hand work left.
//!
//! The seed's Python is read with Python's `ast` (`python3`,
//! `templates/_seed/inspect_seed.py`); it is never imported or run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use mlops_manifest::{ModelName, SETTINGS_FILE};
use serde_json::{Map, Value};

use crate::UsageError;
use crate::commands::init;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The akerbp.mlops project: the folder of its mlops_settings.yaml
    /// [default: the current folder].
    pub dir: Option<PathBuf>,
    /// Write our settings as the project's mlops_settings.yaml (the seed's
    /// is kept as mlops_settings.akerbp.yaml) instead of into mlops_host/.
    #[arg(long)]
    pub in_place: bool,
    /// Replace what an earlier migrate wrote.
    #[arg(long)]
    pub force: bool,
    /// The Python that reads the seed's code (with `ast`; nothing is run).
    #[arg(long, env = "MLOPS_PYTHON", default_value = "python3", value_name = "PYTHON")]
    pub python: PathBuf,
}

/// The folder our files go into, under the project.
const OUT: &str = "mlops_host";
/// Where `--in-place` keeps the seed's settings.
const SEED_SETTINGS_KEPT: &str = "mlops_settings.akerbp.yaml";

/// Every key the framework's settings had (2.5.8 and 4.1.0).
const SEED_KEYS: &[&str] = &[
    "model_name",
    "human_friendly_model_name",
    "model_file",
    "req_file",
    "artifact_folder",
    "artifact_version",
    "test_file",
    "platform",
    "dataset",
    "info",
    "keep_all_models",
    "models_to_keep",
    "model_id",
    "python_version",
    "helper_models",
    "packages_to_check",
];

/// What `inspect_seed.py` says about one model's code.
#[derive(Debug, Default, serde::Deserialize)]
struct Inspection {
    module: String,
    #[serde(default)]
    functions: Vec<String>,
    #[serde(default)]
    has_model_exception: bool,
    #[serde(default)]
    third_party: Vec<String>,
    #[serde(default)]
    lazy_imports: Vec<String>,
    #[serde(default)]
    service_tests: BTreeMap<String, Value>,
    #[serde(default)]
    reads_files: Vec<String>,
    #[serde(default)]
    problems: Vec<String>,
}

/// One model's part of the migration.
struct Migrated {
    name: String,
    /// Our settings document (YAML text).
    settings: String,
    /// Files of its folder: (path under `mlops_host/<name>/`, content, executable).
    files: Vec<(String, Vec<u8>, bool)>,
    /// (seed key, what it became) rows.
    keys: Vec<(String, String)>,
    fixtures: Vec<String>,
    hand_work: Vec<String>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let seed_path = dir.join(SETTINGS_FILE);
    let text = std::fs::read_to_string(&seed_path).map_err(|e| {
        UsageError(format!(
            "cannot read {}: {e}; run migrate in (or name) the folder of an akerbp.mlops project's {SETTINGS_FILE}",
            seed_path.display()
        ))
    })?;
    let docs =
        parse_seed(&text).map_err(|e| UsageError(format!("{}: {e}", seed_path.display())))?;
    if docs.is_empty() {
        return Err(UsageError(format!("{} has no models", seed_path.display())).into());
    }
    let settings_dir = if args.in_place { dir.clone() } else { dir.join(OUT) };
    let settings_path = settings_dir.join(SETTINGS_FILE);
    if !args.force {
        let ours =
            settings_path.exists() && (!args.in_place || dir.join(SEED_SETTINGS_KEPT).exists());
        if ours || (!args.in_place && dir.join(OUT).exists()) {
            return Err(UsageError(format!(
                "{} exists already (an earlier migrate?); add --force to replace what migrate wrote",
                if ours { settings_path.clone() } else { dir.join(OUT) }.display()
            ))
            .into());
        }
    }
    let script = tempfile::Builder::new()
        .prefix("inspect_seed")
        .suffix(".py")
        .tempfile()
        .context("cannot write the inspection script")?;
    std::fs::write(script.path(), seed_template("inspect_seed.py"))
        .context("cannot write the inspection script")?;
    let version = seed_version(&docs, &dir);
    let mut models = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        models.push(
            migrate_model(doc, &dir, &settings_dir, &args.python, script.path())
                .with_context(|| format!("model {} of {}", index + 1, seed_path.display()))?,
        );
    }
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    for m in &models {
        if let Some(first) = names.insert(m.name.to_ascii_lowercase(), &m.name) {
            bail!(
                "models `{first}` and `{}` differ only in case; rename one in the seed first",
                m.name
            );
        }
    }
    // Write: model folders, then the settings, then the report.
    for m in &models {
        let folder = dir.join(OUT).join(&m.name);
        if args.force && folder.exists() {
            std::fs::remove_dir_all(&folder)
                .with_context(|| format!("cannot replace {}", folder.display()))?;
        }
        init::write_all(&folder, &m.files)?;
    }
    if args.in_place && !dir.join(SEED_SETTINGS_KEPT).exists() {
        std::fs::rename(&seed_path, dir.join(SEED_SETTINGS_KEPT))
            .with_context(|| format!("cannot keep the seed's settings as {SEED_SETTINGS_KEPT}"))?;
    }
    let settings: Vec<&str> = models.iter().map(|m| m.settings.as_str()).collect();
    let header = format!(
        "# mlops-host settings, written by `mlops-host migrate` from the akerbp.mlops project's\n\
         # {SETTINGS_FILE}{}. Paths are relative to this file's folder.\n",
        if args.in_place { format!(" (kept as {SEED_SETTINGS_KEPT})") } else { String::new() }
    );
    std::fs::create_dir_all(&settings_dir)?;
    std::fs::write(&settings_path, format!("{header}{}", settings.join("---\n")))
        .with_context(|| format!("cannot write {}", settings_path.display()))?;
    let mut report = report(&dir, &settings_dir, &version, args.in_place, &models);
    // What `validate` will say about the settings written (metadata over
    // CDF's limits, say): hand work too.
    if let Err(e) = mlops_manifest::Settings::load(&settings_path) {
        let _ = writeln!(
            report,
            "\n## The settings written do not validate yet\n\nFix these in `{}`:\n",
            settings_path.strip_prefix(&dir).unwrap_or(&settings_path).display()
        );
        for p in &e.problems {
            let hint = if p.hint.is_empty() { String::new() } else { format!(" ({})", p.hint) };
            let _ = writeln!(report, "- [ ] line {}: {}{hint}", p.line, p.message);
        }
    }
    std::fs::write(settings_dir.join("MIGRATION.md"), &report)
        .context("cannot write MIGRATION.md")?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// The seed's YAML documents as JSON values, `<<` merge keys applied (the
/// framework's README uses them).
fn parse_seed(text: &str) -> Result<Vec<Map<String, Value>>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    docs.into_iter()
        .filter(|d| !d.is_null())
        .enumerate()
        .map(|(i, d)| match merge_keys(d) {
            Value::Object(map) => Ok(map),
            _ => Err(format!("document {} is not a mapping of settings", i + 1)),
        })
        .collect()
}

/// Applies YAML merge keys (`<<: *anchor`): the mapping's own keys win.
fn merge_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut merged = Map::new();
            for (k, v) in map {
                let v = merge_keys(v);
                if k == "<<" {
                    let sources = match v {
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    for source in sources {
                        if let Value::Object(m) = source {
                            for (mk, mv) in m {
                                merged.entry(mk).or_insert(mv);
                            }
                        }
                    }
                } else {
                    out.insert(k, v);
                }
            }
            for (k, v) in merged {
                out.entry(k).or_insert(v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(merge_keys).collect()),
        other => other,
    }
}

/// Which release of the framework the settings are for, by their keys and
/// requirements.
fn seed_version(docs: &[Map<String, Value>], dir: &Path) -> String {
    let newer = ["python_version", "helper_models", "packages_to_check"];
    if docs.iter().any(|d| newer.iter().any(|k| d.contains_key(*k))) {
        return "4.1.0".into();
    }
    let reqs: String = docs
        .iter()
        .filter_map(|d| d.get("req_file")?.as_str())
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .collect();
    if reqs.contains("akerbp-mlops") {
        "4.x".into()
    } else if reqs.contains("akerbp.mlops") {
        "2.x".into()
    } else {
        "unknown".into()
    }
}

fn seed_template(path: &str) -> &'static [u8] {
    init::template("_seed").find(|(p, ..)| *p == path).map_or(&[], |(_, b, _)| b)
}

fn str_of<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `path` (relative to `from`) as seen from `to`, `/`-separated: `to` is
/// `from` or a folder under it.
fn relative(path: &str, from: &Path, to: &Path) -> String {
    let base: Vec<String> = to
        .strip_prefix(from)
        .map(|rest| rest.iter().map(|c| c.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let target: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == *b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); base.len() - common];
    parts.extend(target[common..].iter().map(|s| s.to_string()));
    if parts.is_empty() { ".".to_string() } else { parts.join("/") }
}

fn migrate_model(
    doc: &Map<String, Value>,
    dir: &Path,
    settings_dir: &Path,
    python: &Path,
    script: &Path,
) -> anyhow::Result<Migrated> {
    let name = str_of(doc, "model_name").context("it has no model_name")?.to_string();
    let model_name =
        ModelName::new(name.clone()).map_err(|e| UsageError(format!("model_name: {e}")))?;
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut hand_work: Vec<String> = Vec::new();
    let mut yaml = String::new();
    let mut key = |k: &str, v: String| keys.push((k.to_string(), v));

    let _ = writeln!(yaml, "model_name: {}", scalar(&name));
    key(
        "model_name",
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            format!(
                "kept, capitals included: clients keep calling `{name}-prediction-<env>` (names that differ only in case are refused)"
            )
        } else {
            "kept: the external ids stay the same".into()
        },
    );
    let friendly = str_of(doc, "human_friendly_model_name").unwrap_or(&name);
    let _ = writeln!(yaml, "human_friendly_model_name: {}", scalar(friendly));
    key("human_friendly_model_name", "kept".into());

    // The code: wrapped, built into a component.
    let model_file = str_of(doc, "model_file").context("it has no model_file")?;
    let folder = format!("{OUT}/{name}");
    let folder_from_settings = relative(&folder, dir, settings_dir);
    let test_file = str_of(doc, "test_file");
    let inspection = inspect(python, script, dir, model_file, test_file)?;
    let trains = inspection.functions.iter().any(|f| f == "train");
    let numpy = inspection.third_party.iter().any(|m| m == "numpy");
    for needed in ["initialization", "predict"] {
        if !inspection.functions.iter().any(|f| f == needed) {
            hand_work
                .push(format!("{model_file} has no `{needed}` function: the wrapper calls it"));
        }
    }
    if !inspection.has_model_exception {
        hand_work.push(format!(
            "{model_file} has no `ModelException`: every error it raises is reported as internal (HTTP 500)"
        ));
    }
    let _ = writeln!(yaml, "model_file: {folder_from_settings}/build/model.wasm");
    let _ = writeln!(yaml, "build: {folder_from_settings}/build.sh");
    key(
        "model_file",
        format!(
            "`{model_file}` is imported, unchanged, by `{folder}/app.py`; `{folder}/build.sh` builds it with componentize-py (world `{}`)",
            if trains { "model" } else { "predictor" }
        ),
    );

    // Requirements: what the sandbox has.
    if let Some(req) = str_of(doc, "req_file") {
        let others: Vec<&str> =
            inspection.third_party.iter().map(String::as_str).filter(|m| *m != "numpy").collect();
        let mut what = String::from("dependencies are compiled into the component");
        if numpy {
            what.push_str("; numpy is built for the sandbox (numpy/)");
        }
        if !others.is_empty() {
            what.push_str(&format!("; {} cannot be (hand work)", others.join(", ")));
            hand_work.push(format!(
                "the model imports {}: a pure-Python package can be put on the build path (`-p` in build.sh); \
                 one with C extensions (pandas, scikit-learn, …) does not run in the sandbox: export the model to \
                 ONNX and serve it with `runtime: onnx`",
                others.join(", ")
            ));
        }
        key("req_file", format!("`{req}` is not read: {what}"));
    }

    // Artifacts.
    if let Some(artifacts) = str_of(doc, "artifact_folder") {
        let _ =
            writeln!(yaml, "artifact_folder: {}", scalar(&relative(artifacts, dir, settings_dir)));
        if dir.join(artifacts).is_dir() {
            key("artifact_folder", "kept (uploaded as a new dev version by `deploy`)".into());
        } else {
            key("artifact_folder", "kept".into());
            hand_work.push(format!(
                "artifact_folder `{artifacts}` does not exist here: download a version into it \
                 (`mlops-host models download {name} {artifacts} --env <env>` after `models import`)"
            ));
        }
    }
    if let Some(v) = doc.get("artifact_version").filter(|v| !v.is_null()) {
        let _ = writeln!(yaml, "artifact_version: {v}");
        key(
            "artifact_version",
            format!(
                "kept: version {v} of the env deployed to (import the history first: `mlops-host models import`)"
            ),
        );
    }

    // Fixtures from the ServiceTest inputs.
    let mut fixtures = Vec::new();
    let mut files: Vec<(String, Vec<u8>, bool)> = Vec::new();
    if let Some(test) = test_file {
        for (service, sub) in [("prediction", ""), ("training", "training/")] {
            let attr = format!("{service}_input");
            match inspection.service_tests.get(&attr) {
                Some(t) if t["literal"] == true => {
                    let mut body = t["value"].clone();
                    // The framework's file flags belong to the envelope.
                    let mut envelope = Map::new();
                    if let Value::Object(map) = &mut body {
                        for flag in ["return_file", "to_file"] {
                            if let Some(Value::Bool(b)) = map.remove(flag) {
                                envelope.insert("to_file".into(), Value::Bool(b));
                            }
                        }
                    }
                    envelope.insert("data".into(), body);
                    let request = serde_json::to_string_pretty(&Value::Object(envelope))? + "\n";
                    files.push((format!("fixtures/{sub}service_test.request.json"), request.into_bytes(), false));
                    files.push((
                        format!("fixtures/{sub}service_test.expected.json"),
                        b"{\n  \"status\": \"ok\"\n}\n".to_vec(),
                        false,
                    ));
                    fixtures.push(format!(
                        "`ServiceTest.{attr}` → `{folder}/fixtures/{sub}service_test.request.json`, expecting `{{\"status\": \"ok\"}}` \
                         (the framework's service test checked only that)"
                    ));
                }
                Some(t) => hand_work.push(format!(
                    "`ServiceTest.{attr}` in {test} is not literal data ({}): write `{folder}/fixtures/{sub}<name>.request.json` by hand",
                    t["why"].as_str().unwrap_or("not a literal")
                )),
                None if service == "prediction" || trains => hand_work.push(format!(
                    "{test} has no `ServiceTest.{attr}`: add a fixture in `{folder}/fixtures/{sub}`"
                )),
                None => {}
            }
        }
        key(
            "test_file",
            format!(
                "its `ServiceTest` inputs became fixtures ({}); its pytest tests still test the Python code: run them with pytest",
                fixtures.len()
            ),
        );
        if !fixtures.is_empty() {
            let _ = writeln!(yaml, "fixtures: {folder_from_settings}/fixtures");
        }
    } else {
        hand_work
            .push("no test_file: add fixtures, so that `test` and `deploy` check the model".into());
    }

    // Descriptions, owners, metadata: as the framework stored them.
    if let Some(Value::Object(info)) = doc.get("info") {
        let _ = writeln!(yaml, "info:");
        for service in ["prediction", "training"] {
            let Some(Value::Object(s)) = info.get(service) else { continue };
            let _ = writeln!(yaml, "  {service}:");
            for field in ["description", "owner"] {
                if let Some(v) = s.get(field).filter(|v| !v.is_null()) {
                    let _ = writeln!(yaml, "    {field}: {}", scalar(&python_str(v)));
                }
            }
            if let Some(Value::Object(meta)) = s.get("metadata") {
                let _ = writeln!(yaml, "    metadata:");
                for (k, v) in meta {
                    if mlops_manifest::RESERVED_METADATA_KEYS.contains(&k.as_str()) {
                        hand_work.push(format!(
                            "info.{service}.metadata.{k} was dropped: mlops-host sets `{k}` itself"
                        ));
                        continue;
                    }
                    let _ = writeln!(yaml, "      {}: {}", key_text(k), scalar(&python_str(v)));
                }
            }
        }
        key(
            "info",
            "kept: descriptions, owners, and metadata values as the framework stored them (Python's str(): ['ACS', 'RDEP'], False)"
                .into(),
        );
    }

    // What is kept, and what no longer applies.
    let keep_all = doc.get("keep_all_models").and_then(Value::as_bool) == Some(true);
    if keep_all {
        let _ = writeln!(yaml, "models_to_keep: 1000");
        key(
            "keep_all_models",
            "models_to_keep: 1000 (mlops-host always keeps a number; 1000 stands for all)".into(),
        );
    } else if let Some(n) = doc.get("models_to_keep").and_then(Value::as_u64) {
        let _ = writeln!(yaml, "models_to_keep: {n}");
        key("models_to_keep", "kept".into());
    }
    if let Some(data_set) = str_of(doc, "dataset") {
        let _ = writeln!(yaml, "prediction_files:\n  to: cdf\n  data_set: {}", scalar(data_set));
        key(
            "dataset",
            format!(
                "predictions asked for as files go to CDF Files in data set `{data_set}` (prediction_files); \
                 the artifact history there comes over with `mlops-host models import --data-set {data_set}`"
            ),
        );
    }
    let dropped: [(&str, &str); 5] = [
        (
            "platform",
            "dropped: mlops-host runs where it is started (`serve` takes the place of CDF Functions)",
        ),
        ("python_version", "dropped: the component carries its interpreter (CPython 3.14)"),
        ("model_id", "dropped: set at deploy time"),
        ("packages_to_check", "dropped: nothing is vendored from other models"),
        ("helper_models", "not migrated (hand work)"),
    ];
    for (k, why) in dropped {
        if doc.get(k).is_some_and(|v| !v.is_null()) {
            key(k, why.into());
        }
    }
    if let Some(helpers) = doc.get("helper_models").and_then(Value::as_array) {
        let names: Vec<String> = helpers
            .iter()
            .filter_map(|h| h.get("model_name")?.as_str().map(str::to_string))
            .collect();
        hand_work.push(format!(
            "helper_models ({}): mlops-host does not copy other models into this one; deploy each as its own \
             service and call it, or add its artifacts to this model's artifact folder",
            names.join(", ")
        ));
    }
    for k in doc.keys().filter(|k| !SEED_KEYS.contains(&k.as_str())) {
        let hint = closest(k).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
        key(k, format!("ignored: not a key akerbp.mlops reads (it ignored it too){hint}"));
        hand_work.push(format!("`{k}` is not a settings key{hint}: check what it was meant to do"));
    }
    let _ = writeln!(
        yaml,
        "# A CPython interpreter needs more memory and a longer first call than the defaults.\n\
         limits:\n  memory_mb: 256\n  timeout_ms: 5000\n  init_timeout_ms: 60000\n  max_request_mb: 16"
    );
    for line in &inspection.reads_files {
        hand_work.push(format!(
            "the code opens a file that is not in the artifact folder ({line}): the sandbox holds only the artifact \
             folder, so move the file there and open it under `artifact_folder`"
        ));
    }
    hand_work.extend(inspection.problems.iter().cloned());

    // The model's folder.
    let seed_root = relative("", dir, &dir.join(&folder));
    let seed_root = seed_root.as_str();
    let fill = |bytes: &[u8]| -> Vec<u8> {
        String::from_utf8_lossy(bytes)
            .replace("{{model_name}}", &name)
            .replace("{{seed_module}}", &inspection.module)
            .replace("{{seed_root}}", seed_root)
            .replace(
                "{{lazy_imports}}",
                &serde_json::to_string(&inspection.lazy_imports).unwrap_or_else(|_| "[]".into()),
            )
            .into_bytes()
    };
    for (path, bytes, exec) in init::template("_seed") {
        if path == "inspect_seed.py" {
            continue;
        }
        files.push((path.to_string(), fill(bytes), exec));
    }
    files.push((
        "build.sh".into(),
        build_script(&name, &inspection.module, seed_root, trains)?,
        true,
    ));
    files.push(("mlops_model/__init__.py".into(), init::PY_SDK.as_bytes().to_vec(), false));
    files.push(("wit/mlops.wit".into(), init::WIT.as_bytes().to_vec(), false));
    if numpy {
        for (path, text) in init::NUMPY_BUILD {
            files.push((path.to_string(), text.as_bytes().to_vec(), path.ends_with(".sh")));
        }
    }
    files.push((".gitignore".into(), b"build/\n.venv/\n__pycache__/\n".to_vec(), false));
    Ok(Migrated {
        name: model_name.as_str().to_string(),
        settings: yaml,
        files,
        keys,
        fixtures,
        hand_work,
    })
}

/// The Python template's build script, with the wrapper's Python path
/// (the stand-in for the framework's logger, and the seed project's root,
/// from which its module is imported) and its world.
fn build_script(
    name: &str,
    module: &str,
    seed_root: &str,
    trains: bool,
) -> anyhow::Result<Vec<u8>> {
    let template = init::template("python")
        .find(|(p, ..)| *p == "build.sh")
        .map(|(_, b, _)| String::from_utf8_lossy(b).into_owned())
        .context("this binary was built without the Python template")?;
    let (path, world) = ("python_path=(-p .)\n", "world=model\n");
    if !template.contains(path) || !template.contains(world) {
        bail!("the Python template's build.sh has no `{}` line", path.trim());
    }
    let quoted = seed_root.replace('\'', "'\\''");
    let script = template
        .replacen(
            "#!/usr/bin/env bash\n",
            &format!(
                "#!/usr/bin/env bash\n# {name}: app.py wraps the akerbp.mlops model `{module}`, imported from the\n\
                 # seed project ({seed_root} from here), as the seed imported it.\n"
            ),
            1,
        )
        .replace(path, &format!("python_path=(-p . -p akerbp_shim -p '{quoted}')\n"))
        .replace(world, if trains { "world=model\n" } else { "world=predictor\n" });
    Ok(script.into_bytes())
}

/// Runs `inspect_seed.py` on one model.
fn inspect(
    python: &Path,
    script: &Path,
    dir: &Path,
    model_file: &str,
    test_file: Option<&str>,
) -> anyhow::Result<Inspection> {
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script).arg(dir).arg(model_file);
    if let Some(t) = test_file {
        cmd.arg(t);
    }
    let out = cmd.env("PYTHONDONTWRITEBYTECODE", "1").output().map_err(|e| {
        UsageError(format!(
            "cannot run {} ({e}): migrate reads the model's code with Python's `ast` (nothing is run); \
             install python3 or name one with --python",
            python.display()
        ))
    })?;
    if !out.status.success() {
        bail!("cannot read {model_file}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice(&out.stdout)
        .context("the inspection script printed something unexpected")
}

/// A value as the framework stored it in CDF metadata: Python's `str()`
/// of what PyYAML (YAML 1.1) read.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => match yaml11_bool(s) {
            Some(b) => python_repr(&Value::Bool(b)),
            None => s.clone(),
        },
        other => python_repr(other),
    }
}

/// PyYAML reads these words as booleans; YAML 1.2 (and we) as strings.
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Python's `repr()` of a JSON value (as in a list's or dict's `str()`).
fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => python_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => match yaml11_bool(s) {
            Some(b) => python_repr(&Value::Bool(b)),
            None => python_str_literal(s),
        },
        Value::Array(items) => {
            format!("[{}]", items.iter().map(python_repr).collect::<Vec<_>>().join(", "))
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str_literal(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr()` of a float: the shortest text that reads back, in
/// exponent form below 1e-4 and from 1e16.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust: "1e-5" / "1.5e16"; Python: "1e-05" / "1.5e+16".
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let text = format!("{f}");
    if text.contains('.') { text } else { format!("{text}.0") }
}

/// Python's `repr()` of a string: single quotes unless it holds a single
/// quote and no double quote.
fn python_str_literal(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A YAML scalar for a string: plain when it is unambiguous, else quoted.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./ ".contains(c))
        && !s.starts_with(['-', '.', ' '])
        && !s.ends_with(' ')
        && s.parse::<f64>().is_err()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        );
    if plain { s.to_string() } else { Value::from(s).to_string() }
}

fn key_text(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        k.to_string()
    } else {
        Value::from(k).to_string()
    }
}

/// The seed key closest to `k` (a typo), if it is close.
fn closest(k: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    SEED_KEYS.iter().map(|c| (distance(k, c), *c)).filter(|(d, _)| *d <= 2).min().map(|(_, c)| c)
}

/// MIGRATION.md: per model, what became of each seed key, the fixtures,
/// and the hand work; then the next steps.
fn report(
    dir: &Path,
    settings_dir: &Path,
    version: &str,
    in_place: bool,
    models: &[Migrated],
) -> String {
    let _ = settings_dir;
    let settings_shown =
        if in_place { SETTINGS_FILE.to_string() } else { format!("{OUT}/{SETTINGS_FILE}") };
    let mut out = String::new();
    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    let _ = writeln!(out, "# Migration from akerbp.mlops ({version} settings)\n");
    let _ = writeln!(
        out,
        "`mlops-host migrate` wrote `{settings_shown}` ({} model{}: {}) and a folder per model under `{OUT}/`. \
         The seed's code is not changed: each model's `app.py` imports it.{}\n",
        models.len(),
        if models.len() == 1 { "" } else { "s" },
        names.join(", "),
        if in_place {
            format!(" The seed's settings are kept as `{SEED_SETTINGS_KEPT}`.")
        } else {
            String::new()
        }
    );
    let mut total_hand = 0;
    for m in models {
        let _ = writeln!(out, "## {}\n", m.name);
        let _ = writeln!(out, "| seed key | in mlops-host |\n|---|---|");
        for (k, v) in &m.keys {
            let _ = writeln!(out, "| `{k}` | {} |", v.replace('|', "\\|"));
        }
        let _ = writeln!(out, "\nFixtures:\n");
        if m.fixtures.is_empty() {
            let _ = writeln!(out, "- none");
        }
        for f in &m.fixtures {
            let _ = writeln!(out, "- {f}");
        }
        let _ = writeln!(out, "\nHand work:\n");
        if m.hand_work.is_empty() {
            let _ = writeln!(out, "- none");
        }
        for h in &m.hand_work {
            let _ = writeln!(out, "- [ ] {h}");
        }
        total_hand += m.hand_work.len();
        let _ = writeln!(out);
    }
    let f = if in_place { SETTINGS_FILE.to_string() } else { format!("{OUT}/{SETTINGS_FILE}") };
    // The framework's CI pipelines, as its setup wrote them.
    let pipelines: Vec<&str> = ["bitbucket-pipelines.yml", ".github/workflows/main.yml"]
        .into_iter()
        .filter(|p| dir.join(p).is_file())
        .collect();
    let pipeline_step = if pipelines.is_empty() {
        String::new()
    } else {
        format!(
            "5. In {}: replace `pip install akerbp.mlops…` and `deploy_prediction_service` / \
             `deploy_training_service` with `mlops-host deploy -f {f}` (`ENV`, `MODEL_ENV`, \
             `SERVICE_NAME` and `TESTING_ONLY` keep their meaning; `mlops-host init --lang python` \
             shows a pipeline).\n",
            pipelines.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" and ")
        )
    };
    let _ = writeln!(
        out,
        "## Next steps\n\n\
         1. `mlops-host validate -f {f}`, then `mlops-host test -f {f}` (builds each model and runs its fixtures).\n\
         2. Bring the artifact history over: `mlops-host models import --data-set <data set>` with the CDF \
         credentials the pipeline used (the `COGNITE_*` names are read).\n\
         3. Deploy as the pipeline did: `MODEL_ENV=<env> mlops-host deploy -f {f}` (or `ENV`, and \
         `SERVICE_NAME=training` for training services), then `mlops-host serve`.\n\
         4. Callers: the `mlops_client` Python package (clients/python) replaces `call_function`; \
         `{{\"input\": [...]}}` bodies and empty keep-warm pings are still answered.\n\
         {pipeline_step}\n\
         {total_hand} item{} of hand work in all.",
        if total_hand == 1 { "" } else { "s" }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_as_the_framework_stored_it() {
        let v: Value =
            serde_json::json!(["ACS", "it's", true, null, 1.5, -999.25, 3, 1e-5, {"lr": 0.001}]);
        assert_eq!(
            python_str(&v),
            r#"['ACS', "it's", True, None, 1.5, -999.25, 3, 1e-05, {'lr': 0.001}]"#
        );
        assert_eq!(python_str(&Value::from("no")), "False", "PyYAML's boolean");
        assert_eq!(python_str(&Value::from("15/9-F-11")), "15/9-F-11");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(2.0), "2.0");
    }

    #[test]
    fn merge_keys_apply_and_own_keys_win() {
        let docs = parse_seed(
            "info:\n  prediction: &d\n    description: a\n    owner: o\n  training:\n    <<: *d\n    description: b\n",
        )
        .expect("parses");
        assert_eq!(docs[0]["info"]["training"]["owner"], "o");
        assert_eq!(docs[0]["info"]["training"]["description"], "b");
    }

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(scalar("well_log"), "well_log");
        assert_eq!(scalar("no"), "\"no\"");
        assert_eq!(scalar("1.5"), "\"1.5\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(closest("artifact_versoin"), Some("artifact_version"));
        assert_eq!(closest("weights"), None);
        let dir = Path::new("/p");
        assert_eq!(relative("model_artifact", dir, &dir.join("mlops_host")), "../model_artifact");
        assert_eq!(relative("mlops_host/m", dir, &dir.join("mlops_host")), "m");
        assert_eq!(relative("mlops_host/m", dir, dir), "mlops_host/m");
        assert_eq!(relative("", dir, &dir.join("mlops_host/m")), "../..");
    }
}
