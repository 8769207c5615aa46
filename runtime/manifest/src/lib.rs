//! `mlops_settings.yaml`: the settings file users of the Python framework
//! know, read into typed, validated settings.
//!
//! One YAML document per model, separated by `---`. Unknown keys are
//! errors (a typo such as `artifact_versoin` is not silently ignored), and
//! every error names the file, line and column and says how to fix it.
//! Paths in the file are relative to the folder that holds it.

pub mod ids;
mod limits;
mod problem;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

pub use ids::{Env, ExternalId, IdError, ModelId, ModelName, SecretName, ServiceKind, Version};
pub use limits::{Limits, MetadataLimits, RESERVED_METADATA_KEYS};
pub use problem::{Problem, SettingsError};

/// The settings file's usual name.
pub const SETTINGS_FILE: &str = "mlops_settings.yaml";

/// Pinned versions of a service kept when `models_to_keep` is not set.
pub const DEFAULT_MODELS_TO_KEEP: u32 = 3;

/// A parsed and checked settings file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file the settings came from.
    pub path: PathBuf,
    /// One entry per YAML document, in file order.
    pub models: Vec<ModelSettings>,
}

/// One model's settings.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub model_name: ModelName,
    /// Shown in listings; defaults to the model name.
    pub human_friendly_model_name: String,
    /// The component that runs the model.
    pub component: Component,
    /// The folder whose files are the model's artifacts (absolute).
    pub artifact_folder: Option<PathBuf>,
    /// Deploy this artifact version instead of uploading a new one.
    pub artifact_version: Option<Version>,
    /// A folder of `<name>.request.json` / `<name>.expected.json` pairs that
    /// must pass before a deploy.
    pub fixtures: Option<PathBuf>,
    /// Description, owner and metadata per service.
    pub info: BTreeMap<ServiceKind, ServiceInfo>,
    pub limits: Limits,
    /// Secrets the model may read; the host passes these and no others.
    pub secrets: Vec<SecretName>,
    /// How many pinned versions of a service to keep after a deploy.
    pub models_to_keep: u32,
    /// Where `to_file` predictions go.
    pub prediction_files: PredictionFiles,
    /// Where `model_file` (or `runtime`) is set, for errors found after
    /// loading.
    pub component_at: Position,
}

/// What runs a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// The model's own WebAssembly component (`model_file`, absolute). It
    /// may not exist before `build`, a shell command run in the settings
    /// folder, makes it. `build_inputs` (absolute) are what the build reads
    /// outside that folder: with the folder, they key the build, which is
    /// skipped while they are unchanged.
    File { path: PathBuf, build: Option<String>, build_inputs: Vec<PathBuf> },
    /// A component mlops-host carries (`runtime: onnx`): no code, no build.
    Runtime(Runtime),
}

/// The runtimes settings can name instead of a `model_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// An ONNX graph and its `runner.json`, in the artifact folder.
    Onnx,
}

impl Runtime {
    /// Every runtime, by the name the settings use.
    pub const ALL: [(&'static str, Runtime); 1] = [("onnx", Runtime::Onnx)];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Onnx => "onnx",
        }
    }

    /// How it is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Runtime::Onnx => "the built-in ONNX runner",
        }
    }
}

/// What `runtime: onnx` reads from the artifact folder.
pub const ONNX_RUNNER_CONFIG: &str = "runner.json";

/// Where a service writes the predictions callers ask for as files
/// (`to_file`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "lowercase", deny_unknown_fields)]
pub enum PredictionFiles {
    /// The host's object store (`predictions/<model>/<env>/<id>.json`).
    #[default]
    Store,
    /// CDF Files, in this data set (an external id), with the host's CDF
    /// credentials.
    Cdf { data_set: String },
}

impl PredictionFiles {
    pub fn is_store(&self) -> bool {
        matches!(self, PredictionFiles::Store)
    }
}

/// The data set `prediction_files: {to: cdf}` uses when none is named.
pub const DEFAULT_PREDICTION_DATA_SET: &str = "mlops";

/// What `info.<service>` says about a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    pub description: String,
    pub owner: String,
    /// String values; YAML numbers, booleans and lists are stored as JSON text.
    pub metadata: BTreeMap<String, String>,
}

/// A place in the settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub path: PathBuf,
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

impl ModelSettings {
    /// Checks that `model_file` exists (a runtime always does); call after
    /// running `build`.
    pub fn check_model_file(&self) -> Result<(), SettingsError> {
        let Component::File { path, build, .. } = &self.component else { return Ok(()) };
        if path.is_file() {
            return Ok(());
        }
        let hint = match build {
            Some(cmd) => format!(
                "the build command `{cmd}` ran but did not write it; check where it puts the component"
            ),
            None => "build the component first, or add a `build` command that makes it".to_string(),
        };
        Err(SettingsError::one(Problem::at(
            &self.component_at,
            format!("model_file `{}` does not exist", path.display()),
            hint,
        )))
    }

    /// The settings of one service, or defaults.
    pub fn service_info(&self, kind: ServiceKind) -> ServiceInfo {
        self.info.get(&kind).cloned().unwrap_or_default()
    }
}

impl Settings {
    /// Reads and checks a settings file.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                format!("create it (see examples/well_log/{SETTINGS_FILE}) or pass its path with --settings")
            } else {
                "check the file's permissions".to_string()
            };
            SettingsError::one(Problem::file(path, format!("cannot read settings: {e}"), hint))
        })?;
        Settings::parse(&text, path)
    }

    /// Parses and checks settings text that came from `path` (used for
    /// messages and to resolve relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Settings, SettingsError> {
        let raw: Vec<RawModel> = serde_saphyr::from_multiple(text)
            .map_err(|e| SettingsError::one(problem::from_yaml(path, text, &e)))?;
        if raw.is_empty() {
            return Err(SettingsError::one(Problem::file(
                path,
                "the settings file has no models".to_string(),
                "add one YAML document per model, with at least `model_name` and `model_file` (or `runtime`)"
                    .to_string(),
            )));
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        let mut problems = Vec::new();
        let mut models = Vec::new();
        for doc in raw {
            if let Some(model) = doc.check(path, &dir, &mut problems) {
                models.push(model);
            }
        }
        let mut seen: BTreeMap<String, (&ModelName, u64)> = BTreeMap::new();
        for m in &models {
            let line = m.component_at.line;
            match seen.insert(m.model_name.case_key(), (&m.model_name, line)) {
                Some((first, at)) if *first == m.model_name => problems.push(Problem::at(
                    &m.component_at,
                    format!("model `{}` appears twice (first at line {at})", m.model_name),
                    "give each model document a distinct `model_name`".to_string(),
                )),
                Some((first, at)) => problems.push(Problem::at(
                    &m.component_at,
                    format!(
                        "model `{}` differs from `{first}` (line {at}) only in case",
                        m.model_name
                    ),
                    "a store on a case-insensitive file system could not tell them apart; rename one"
                        .to_string(),
                )),
                None => {}
            }
        }
        if problems.is_empty() {
            Ok(Settings { path: path.to_path_buf(), models })
        } else {
            problems.sort_by_key(|p| (p.line, p.column));
            Err(SettingsError { problems })
        }
    }

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Option<&ModelSettings> {
        self.models.iter().find(|m| m.model_name.as_str() == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    model_name: Spanned<String>,
    #[serde(default)]
    human_friendly_model_name: Option<String>,
    #[serde(default)]
    model_file: Option<Spanned<String>>,
    #[serde(default)]
    runtime: Option<Spanned<String>>,
    #[serde(default)]
    build: Option<String>,
    #[serde(default)]
    build_inputs: Vec<Spanned<String>>,
    #[serde(default)]
    artifact_folder: Option<Spanned<String>>,
    #[serde(default)]
    artifact_version: Option<Spanned<u64>>,
    #[serde(default)]
    fixtures: Option<Spanned<String>>,
    #[serde(default)]
    info: RawInfo,
    #[serde(default)]
    limits: limits::RawLimits,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    #[serde(default)]
    models_to_keep: Option<Spanned<u32>>,
    #[serde(default)]
    prediction_files: Option<Spanned<RawPredictionFiles>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPredictionFiles {
    to: String,
    #[serde(default)]
    data_set: Option<String>,
}

impl RawPredictionFiles {
    fn check(self, at: &Position, problems: &mut Vec<Problem>) -> PredictionFiles {
        match (self.to.as_str(), self.data_set) {
            ("store", None) => PredictionFiles::Store,
            ("store", Some(_)) => {
                problems.push(Problem::at(
                    at,
                    "prediction_files: `data_set` applies only to `to: cdf`".to_string(),
                    "remove `data_set`, or set `to: cdf`".to_string(),
                ));
                PredictionFiles::Store
            }
            ("cdf", data_set) => {
                let data_set = data_set.unwrap_or_else(|| DEFAULT_PREDICTION_DATA_SET.to_string());
                if data_set.is_empty() || data_set.len() > 255 || data_set.contains('/') {
                    problems.push(Problem::at(
                        at,
                        format!("prediction_files: data_set `{data_set}` is not a CDF data set external id"),
                        "use the data set's external id: 1–255 characters, no `/`".to_string(),
                    ));
                }
                PredictionFiles::Cdf { data_set }
            }
            (other, _) => {
                problems.push(Problem::at(
                    at,
                    format!("prediction_files: `to: {other}` is not known"),
                    "use `to: store` (the host's object store, the default) or `to: cdf` (CDF Files)".to_string(),
                ));
                PredictionFiles::Store
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInfo {
    #[serde(default)]
    prediction: Option<Spanned<RawServiceInfo>>,
    #[serde(default)]
    training: Option<Spanned<RawServiceInfo>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceInfo {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, serde_json::Value>,
}

/// Builds a [`Position`] from a YAML location.
fn position(path: &Path, at: Location) -> Position {
    Position { path: path.to_path_buf(), line: at.line(), column: at.column() }
}

/// What a path in the settings must name.
#[derive(Clone, Copy)]
enum Want {
    Folder,
    FileOrFolder,
}

impl Want {
    fn holds(self, path: &Path) -> bool {
        match self {
            Want::Folder => path.is_dir(),
            Want::FileOrFolder => path.exists(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Want::Folder => "folder",
            Want::FileOrFolder => "file or folder",
        }
    }
}

impl RawModel {
    fn check(self, path: &Path, dir: &Path, problems: &mut Vec<Problem>) -> Option<ModelSettings> {
        let before = problems.len();
        let at = |loc: Location| position(path, loc);
        let model_name = match ModelName::new(self.model_name.value.clone()) {
            Ok(name) => Some(name),
            Err(e) => {
                problems.push(Problem::at(
                    &at(self.model_name.referenced),
                    format!("model_name: {e}"),
                    String::new(),
                ));
                None
            }
        };
        let existing = |s: &Spanned<String>, key: &str, want: Want, problems: &mut Vec<Problem>| {
            let full = dir.join(&s.value);
            if !want.holds(&full) {
                let what = want.name();
                problems.push(Problem::at(
                    &at(s.referenced),
                    format!(
                        "{key} `{}` is not an existing {what} (looked for {})",
                        s.value,
                        full.display()
                    ),
                    format!(
                        "paths are relative to the folder of {}; fix the path or create the {what}",
                        path.display()
                    ),
                ));
            }
            full
        };
        let artifact_folder = self
            .artifact_folder
            .as_ref()
            .map(|s| existing(s, "artifact_folder", Want::Folder, problems));
        let fixtures =
            self.fixtures.as_ref().map(|s| existing(s, "fixtures", Want::Folder, problems));
        let build_inputs: Vec<PathBuf> = self
            .build_inputs
            .iter()
            .map(|s| existing(s, "build_inputs", Want::FileOrFolder, problems))
            .collect();
        if let (Some(first), None) = (self.build_inputs.first(), &self.build) {
            problems.push(Problem::at(
                &at(first.referenced),
                "build_inputs is set but there is no `build` command".to_string(),
                "remove build_inputs, or add the `build` command that reads them".to_string(),
            ));
        }
        let component =
            self.component(&at, dir, artifact_folder.as_deref(), build_inputs, problems);
        if let Some(v) = &self.artifact_version {
            if v.value == 0 {
                problems.push(Problem::at(
                    &at(v.referenced),
                    "artifact_version 0 does not exist: versions start at 1".to_string(),
                    "remove the key to use the newest version".to_string(),
                ));
            }
            if self.artifact_folder.is_none() {
                problems.push(Problem::at(
                    &at(v.referenced),
                    "artifact_version is set but artifact_folder is not".to_string(),
                    "set artifact_folder, or remove artifact_version".to_string(),
                ));
            }
        }
        let mut secrets = Vec::new();
        for s in &self.secrets {
            match SecretName::new(s.value.clone()) {
                Ok(name) if secrets.contains(&name) => problems.push(Problem::at(
                    &at(s.referenced),
                    format!("secret `{name}` is listed twice"),
                    "list each secret once".to_string(),
                )),
                Ok(name) => secrets.push(name),
                Err(e) => {
                    problems.push(Problem::at(&at(s.referenced), e.to_string(), String::new()))
                }
            }
        }
        let limits = self.limits.check(path, problems);
        let mut info = BTreeMap::new();
        for (kind, raw) in [
            (ServiceKind::Prediction, self.info.prediction),
            (ServiceKind::Training, self.info.training),
        ] {
            if let Some(raw) = raw {
                let where_ = at(raw.referenced);
                info.insert(kind, raw.value.check(kind, &where_, problems));
            }
        }
        let models_to_keep = self.models_to_keep.map_or(DEFAULT_MODELS_TO_KEEP, |n| {
            if n.value == 0 {
                problems.push(Problem::at(
                    &at(n.referenced),
                    "models_to_keep must be at least 1 (the deployed version)".to_string(),
                    String::new(),
                ));
            }
            n.value
        });
        let prediction_files = self
            .prediction_files
            .map(|p| {
                let where_ = at(p.referenced);
                p.value.check(&where_, problems)
            })
            .unwrap_or_default();
        if problems.len() > before {
            return None;
        }
        let model_name = model_name?;
        let (component, component_at) = component?;
        Some(ModelSettings {
            human_friendly_model_name: self
                .human_friendly_model_name
                .unwrap_or_else(|| model_name.as_str().to_string()),
            model_name,
            component,
            artifact_folder,
            artifact_version: self.artifact_version.map(|v| v.value),
            fixtures,
            info,
            limits,
            secrets,
            models_to_keep,
            prediction_files,
            component_at,
        })
    }

    /// What runs the model: `model_file` (with `build`) or `runtime`, one
    /// of the two.
    fn component(
        &self,
        at: &dyn Fn(Location) -> Position,
        dir: &Path,
        artifact_folder: Option<&Path>,
        build_inputs: Vec<PathBuf>,
        problems: &mut Vec<Problem>,
    ) -> Option<(Component, Position)> {
        match (&self.model_file, &self.runtime) {
            (Some(file), None) => {
                let file_at = at(file.referenced);
                let path = dir.join(&file.value);
                if self.build.is_none() && !path.is_file() {
                    problems.push(Problem::at(
                        &file_at,
                        format!(
                            "model_file `{}` does not exist (looked for {})",
                            file.value,
                            path.display()
                        ),
                        "build the component first, or add a `build` command that makes it"
                            .to_string(),
                    ));
                }
                Some((Component::File { path, build: self.build.clone(), build_inputs }, file_at))
            }
            (None, Some(runtime)) => {
                let runtime_at = at(runtime.referenced);
                let Some(&(_, found)) = Runtime::ALL.iter().find(|(n, _)| *n == runtime.value)
                else {
                    let known: Vec<&str> = Runtime::ALL.iter().map(|(n, _)| *n).collect();
                    problems.push(Problem::at(
                        &runtime_at,
                        format!("runtime `{}` is not one mlops-host carries", runtime.value),
                        format!(
                            "the runtimes are: {} (or set `model_file` to your own component)",
                            known.join(", ")
                        ),
                    ));
                    return None;
                };
                if self.build.is_some() || !self.build_inputs.is_empty() {
                    problems.push(Problem::at(
                        &runtime_at,
                        format!("runtime: {} needs no build", found.name()),
                        "remove `build` (and `build_inputs`): the runtime's component is inside mlops-host".to_string(),
                    ));
                }
                match (found, artifact_folder) {
                    (Runtime::Onnx, None) => problems.push(Problem::at(
                        &runtime_at,
                        "runtime: onnx reads the graph and runner.json from the artifact folder, \
                         but artifact_folder is not set"
                            .to_string(),
                        "set artifact_folder to the folder with model.onnx and runner.json \
                         (`mlops-host init --lang onnx --from model.onnx` makes one)"
                            .to_string(),
                    )),
                    (Runtime::Onnx, Some(folder))
                        if folder.is_dir() && !folder.join(ONNX_RUNNER_CONFIG).is_file() =>
                    {
                        problems.push(Problem::at(
                            &runtime_at,
                            format!(
                                "runtime: onnx needs {ONNX_RUNNER_CONFIG} in the artifact folder ({} has none)",
                                folder.display()
                            ),
                            format!(
                                "`mlops-host init --lang onnx --from <model.onnx>` writes {ONNX_RUNNER_CONFIG} \
                                 from the graph's inputs and outputs"
                            ),
                        ))
                    }
                    _ => {}
                }
                Some((Component::Runtime(found), runtime_at))
            }
            (Some(file), Some(_)) => {
                problems.push(Problem::at(
                    &at(file.referenced),
                    "both `model_file` and `runtime` are set".to_string(),
                    "keep `model_file` for your own component, or `runtime: onnx` for an ONNX graph \
                     served without code"
                        .to_string(),
                ));
                None
            }
            (None, None) => {
                problems.push(Problem::at(
                    &at(self.model_name.referenced),
                    format!(
                        "model `{}` has no `model_file` and no `runtime`",
                        self.model_name.value
                    ),
                    "set `model_file` to the model's WebAssembly component (.wasm), or \
                     `runtime: onnx` to serve an ONNX graph without code"
                        .to_string(),
                ));
                None
            }
        }
    }
}

impl RawServiceInfo {
    fn check(self, kind: ServiceKind, at: &Position, problems: &mut Vec<Problem>) -> ServiceInfo {
        let metadata: BTreeMap<String, String> = self
            .metadata
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        let info = ServiceInfo {
            description: self.description.unwrap_or_default(),
            owner: self.owner.unwrap_or_default(),
            metadata,
        };
        for message in MetadataLimits::CDF_FUNCTIONS.violations(&info) {
            problems.push(Problem::at(
                at,
                format!("info.{kind}: {message}"),
                "CDF limits service metadata; shorten it or move detail into an artifact"
                    .to_string(),
            ));
        }
        info
    }
}

#[cfg(test)]
mod tests;
