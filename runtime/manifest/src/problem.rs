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
pub(crate) fn from_yaml(path: &Path, text: &str, err: &serde_saphyr::Error) -> Problem {
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
                "model_name" => "set `model_name` (letters, digits and `_`)".to_string(),
                other => format!("add `{other}`"),
            },
        ),
        serde_saphyr::Error::InvalidScalar { ty, .. } => {
            let (key, value) = key_and_value(text, line, column);
            let wanted = match *ty {
                "bool" => "`true` or `false`",
                "f32" | "f64" => "a number",
                t if t.starts_with('u') => "a whole number ≥ 0",
                t if t.starts_with('i') => "a whole number",
                _ => "another kind of value",
            };
            let message = match key {
                Some(key) => format!("{key}: expected {wanted}, found `{value}`"),
                None => format!("expected {wanted}, found `{value}`"),
            };
            (message, format!("write {wanted} without quotes or units"))
        }
        other => {
            let rendered = other.render();
            let message = strip_location(&first_line(&rendered));
            // Anything else is YAML structure: nearly always indentation.
            let hint = if rendered.contains("while parsing") || rendered.contains("while scanning")
            {
                "check the indentation: the keys of one mapping start in the same column, nested ones further right (spaces, not tabs)".to_string()
            } else {
                String::new()
            };
            (message, hint)
        }
    };
    Problem { path: path.to_path_buf(), line, column, message, hint }
}

/// The key and the scalar at `line`:`column` (1-based) of `text`, as written.
fn key_and_value(text: &str, line: u64, column: u64) -> (Option<String>, String) {
    let Some(row) = usize::try_from(line).ok().and_then(|l| text.lines().nth(l.checked_sub(1)?))
    else {
        return (None, String::new());
    };
    let start = usize::try_from(column).unwrap_or(1).saturating_sub(1);
    let value = row.chars().skip(start).collect::<String>();
    let value = value.split(" #").next().unwrap_or("").trim().to_string();
    let key = row.split_once(':').map(|(k, _)| k.trim().trim_start_matches("- ").to_string());
    (key.filter(|k| !k.is_empty()), value)
}

/// `… at line 4, column 15` → `…`: the position is printed once, in front.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
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
