//! Settings errors: where (file:line:column), what, and how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Position;

/// One thing wrong with a settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based; 0 when the problem is with the file as a whole.
    pub line: u64,
    pub column: u64,
    pub message: String,
    /// How to fix it; may be empty when the message says it all.
    pub hint: String,
}

impl Problem {
    pub(crate) fn at(at: &Position, message: String, hint: String) -> Self {
        Problem { path: at.path.clone(), line: at.line, column: at.column, message, hint }
    }

    pub(crate) fn file(path: &Path, message: String, hint: String) -> Self {
        Problem { path: path.to_path_buf(), line: 0, column: 0, message, hint }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Everything wrong with a settings file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub problems: Vec<Problem>,
}

impl SettingsError {
    pub(crate) fn one(problem: Problem) -> Self {
        SettingsError { problems: vec![problem] }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}

/// Keys of the Python framework's settings that mlops-host does not take,
/// with what to do instead.
const SEED_KEYS: &[(&str, &str)] = &[
    ("req_file", "dependencies are compiled into the component; remove `req_file`"),
    (
        "test_file",
        "use `fixtures: <folder>` holding `<name>.request.json` and `<name>.expected.json` pairs",
    ),
    ("platform", "mlops-host runs the model itself; remove `platform`"),
    ("python_version", "the component carries its own runtime; remove `python_version`"),
    ("dataset", "artifacts live in the host's store (`--store`); remove `dataset`"),
    ("keep_all_models", "use `models_to_keep: <n>`"),
    ("model_id", "mlops-host sets the model id when it deploys; remove `model_id`"),
    ("helper_models", "not supported: build the helper into the component"),
    ("packages_to_check", "not supported: the component pins its own dependencies"),
];

/// Turns a YAML or shape error into a problem with a position and a hint.
pub(crate) fn from_yaml(path: &Path, err: &serde_saphyr::Error) -> Problem {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let (message, hint) = match err.without_snippet() {
        serde_saphyr::Error::SerdeUnknownField { field, expected, .. } => {
            let message = format!("unknown key `{field}`");
            let hint = if let Some((_, hint)) = SEED_KEYS.iter().find(|(k, _)| k == field) {
                format!("`{field}` belongs to the Python framework: {hint}")
            } else if let Some(near) = closest(field, expected) {
                format!("did you mean `{near}`? (keys here: {})", expected.join(", "))
            } else {
                format!("keys here: {}", expected.join(", "))
            };
            (message, hint)
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => (
            format!("missing key `{field}`"),
            match *field {
                "model_file" => {
                    "set `model_file` to the model's WebAssembly component (.wasm)".to_string()
                }
                "model_name" => "set `model_name` (lowercase letters, digits and `_`)".to_string(),
                other => format!("add `{other}`"),
            },
        ),
        other => {
            let text = other.render();
            (first_line(&text), String::new())
        }
    };
    Problem { path: path.to_path_buf(), line, column, message, hint }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).trim().to_string()
}

/// The expected key nearest to `got`, if it is a plausible typo.
fn closest<'a>(got: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| (distance(got, e), *e))
        .filter(|(d, e)| *d <= (e.len() / 3).max(2))
        .min()
        .map(|(_, e)| e)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
