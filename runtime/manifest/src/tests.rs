use std::path::Path;

use super::*;

/// A model folder with a component and an artifact folder.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("model.wasm"), b"\0asm").expect("write");
    std::fs::create_dir(dir.path().join("artifacts")).expect("mkdir");
    dir
}

fn parse(dir: &Path, text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(text, &dir.join(SETTINGS_FILE))
}

fn error(dir: &Path, text: &str) -> String {
    let err = parse(dir, text).expect_err("settings should be refused");
    // Paths differ per run; the messages are compared without them.
    err.to_string().replace(&dir.join(SETTINGS_FILE).display().to_string(), "S")
}

const VALID: &str = "\
model_name: well_log
model_file: model.wasm
artifact_folder: artifacts
info:
  prediction:
    description: Predicts AC
    owner: me@example.com
    metadata:
      required_input: [ACS, RDEP, DEN]
      petrel_exposure: false
limits:
  memory_mb: 64
  timeout_ms: 500
secrets: [CDF_TOKEN]
";

#[test]
fn valid_settings_become_typed_values() {
    let dir = folder();
    let settings = parse(dir.path(), VALID).expect("valid");
    let m = &settings.models[0];
    assert_eq!(m.model_name.as_str(), "well_log");
    assert_eq!(m.human_friendly_model_name, "well_log");
    assert_eq!(
        m.component,
        Component::File {
            path: dir.path().join("model.wasm"),
            build: None,
            build_inputs: Vec::new()
        }
    );
    assert_eq!(m.artifact_folder.as_deref(), Some(dir.path().join("artifacts").as_path()));
    assert_eq!(m.limits.memory_bytes, 64 << 20);
    assert_eq!(m.limits.timeout, std::time::Duration::from_millis(500));
    assert_eq!(m.limits.max_instances, Limits::default().max_instances);
    assert_eq!(m.secrets, vec![SecretName::new("CDF_TOKEN").expect("name")]);
    let info = m.service_info(ServiceKind::Prediction);
    assert_eq!(info.metadata["required_input"], r#"["ACS","RDEP","DEN"]"#);
    assert_eq!(info.metadata["petrel_exposure"], "false");
    assert_eq!(m.models_to_keep, 3);
}

#[test]
fn several_documents_are_several_models() {
    let dir = folder();
    let text = format!("{VALID}---\nmodel_name: other\nmodel_file: model.wasm\n");
    let settings = parse(dir.path(), &text).expect("valid");
    let names: Vec<&str> = settings.models.iter().map(|m| m.model_name.as_str()).collect();
    assert_eq!(names, ["well_log", "other"]);
    assert!(settings.model("other").is_some());
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_the_likely_key() {
    let dir = folder();
    let text = VALID
        .replace("artifact_folder: artifacts", "artifact_folder: artifacts\nartifact_versoin: 2");
    assert_eq!(
        error(dir.path(), &text),
        "S:4:1: unknown key `artifact_versoin`\n  hint: did you mean `artifact_version`? (keys here: \
         model_name, human_friendly_model_name, model_file, runtime, build, build_inputs, artifact_folder, artifact_version, \
         fixtures, info, limits, secrets, models_to_keep, prediction_files)"
    );
}

#[test]
fn a_key_of_the_python_framework_says_what_to_do_instead() {
    let dir = folder();
    let text = format!("{VALID}req_file: requirements.model\n");
    assert_eq!(
        error(dir.path(), &text),
        "S:15:1: unknown key `req_file`\n  hint: `req_file` belongs to the Python framework: \
         dependencies are compiled into the component; remove `req_file`"
    );
}

#[test]
fn an_unknown_nested_key_is_found_too() {
    let dir = folder();
    let text = VALID.replace("  timeout_ms: 500", "  timeout: 500");
    let msg = error(dir.path(), &text);
    assert!(
        msg.starts_with("S:13:3: unknown key `timeout`\n  hint: did you mean `timeout_ms`?"),
        "{msg}"
    );
}

#[test]
fn a_bad_model_name_says_how_to_fix_it() {
    let dir = folder();
    let text = VALID.replace("model_name: well_log", "model_name: well-log");
    assert_eq!(
        error(dir.path(), &text),
        "S:1:13: model_name: model name `well-log` contains `-`: use `_` instead of `-` \
         (external ids such as `well_log-prediction-dev` are split on `-`)"
    );
    let empty = VALID.replace("model_name: well_log", "model_name: ''");
    assert!(error(dir.path(), &empty).contains("model name is empty"));
}

#[test]
fn a_missing_file_or_folder_is_named_with_where_it_was_looked_for() {
    let dir = folder();
    let text = VALID.replace("artifact_folder: artifacts", "artifact_folder: artefacts");
    let msg = error(dir.path(), &text);
    let want = format!(
        "S:3:18: artifact_folder `artefacts` is not an existing folder (looked for {})\n  hint: paths are \
         relative to the folder of S; fix the path or create the folder",
        dir.path().join("artefacts").display()
    );
    assert_eq!(msg, want);

    let no_component = VALID.replace("model_file: model.wasm", "model_file: missing.wasm");
    let msg = error(dir.path(), &no_component);
    assert!(msg.starts_with("S:2:13: model_file `missing.wasm` does not exist"), "{msg}");
    assert!(msg.contains("add a `build` command"), "{msg}");
}

#[test]
fn build_inputs_are_resolved_and_must_exist_and_go_with_a_build() {
    let dir = folder();
    std::fs::create_dir(dir.path().join("sdk")).expect("mkdir");
    let text = VALID.replace(
        "model_file: model.wasm",
        "model_file: model.wasm\nbuild: make\nbuild_inputs: [sdk, model.wasm]",
    );
    let settings = parse(dir.path(), &text).expect("valid");
    let Component::File { build_inputs, .. } = &settings.models[0].component else {
        panic!("a model file")
    };
    assert_eq!(build_inputs, &[dir.path().join("sdk"), dir.path().join("model.wasm")]);

    let missing = VALID.replace(
        "model_file: model.wasm",
        "model_file: model.wasm\nbuild: make\nbuild_inputs: [lib]",
    );
    let msg = error(dir.path(), &missing);
    assert!(
        msg.starts_with(
            "S:4:16: build_inputs `lib` is not an existing file or folder (looked for "
        ),
        "{msg}"
    );
    assert!(
        msg.ends_with(
            "hint: paths are relative to the folder of S; fix the path or create the file or folder"
        ),
        "{msg}"
    );

    let without_build =
        VALID.replace("model_file: model.wasm", "model_file: model.wasm\nbuild_inputs: [sdk]");
    let msg = error(dir.path(), &without_build);
    assert!(
        msg.starts_with("S:3:16: build_inputs is set but there is no `build` command"),
        "{msg}"
    );
    assert!(msg.contains("remove build_inputs"), "{msg}");
}

#[test]
fn a_component_made_by_build_is_checked_after_the_build() {
    let dir = folder();
    let text = VALID.replace("model_file: model.wasm", "model_file: later.wasm\nbuild: make");
    let settings = parse(dir.path(), &text).expect("a build may create the file");
    let err = settings.models[0].check_model_file().expect_err("still missing");
    let msg = err.to_string();
    assert!(msg.contains(":2:13: model_file"), "{msg}");
    assert!(msg.contains("the build command `make` ran but did not write it"), "{msg}");
}

#[test]
fn a_missing_required_key_is_named() {
    let dir = folder();
    let msg = error(dir.path(), "model_name: x\n");
    assert!(msg.contains("model `x` has no `model_file` and no `runtime`"), "{msg}");
    assert!(msg.contains("WebAssembly component"), "{msg}");
}

#[test]
fn limits_out_of_range_and_metadata_beyond_cdf_limits_are_refused() {
    let dir = folder();
    let text = VALID.replace("memory_mb: 64", "memory_mb: 0");
    assert_eq!(
        error(dir.path(), &text),
        "S:12:14: limits.memory_mb is 0, outside 1..=16384\n  hint: set a value from 1 to 16384, or remove `memory_mb` for the default (256)"
    );

    let long = "x".repeat(600);
    let text = VALID.replace("petrel_exposure: false", &format!("notes: {long}"));
    let msg = error(dir.path(), &text);
    assert!(
        msg.contains(
            "info.prediction: metadata value of `notes` is 600 characters; the limit is 512"
        ),
        "{msg}"
    );

    let text = VALID.replace("petrel_exposure: false", "version: 3");
    assert!(error(dir.path(), &text).contains("metadata key `version` is reserved"));
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let dir = folder();
    let text = VALID
        .replace("model_name: well_log", "model_name: well log")
        .replace("secrets: [CDF_TOKEN]", "secrets: [cdf-token]");
    let err = parse(dir.path(), &text).expect_err("two problems");
    let lines: Vec<u64> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [1, 14]);
}

#[test]
fn duplicate_models_and_empty_files_are_refused() {
    let dir = folder();
    let twice = format!("{VALID}---\n{VALID}");
    assert!(error(dir.path(), &twice).contains("model `well_log` appears twice"));
    let case_twins =
        format!("{VALID}---\n{}", VALID.replace("model_name: well_log", "model_name: Well_Log"));
    let msg = error(dir.path(), &case_twins);
    assert!(
        msg.contains("model `Well_Log` differs from `well_log` (line 2) only in case"),
        "{msg}"
    );
    let capitals = VALID.replace("model_name: well_log", "model_name: PorosityNet");
    assert_eq!(
        parse(dir.path(), &capitals).expect("capitals").models[0].model_name.as_str(),
        "PorosityNet"
    );
    assert!(error(dir.path(), "").contains("has no models"));
}

#[test]
fn broken_yaml_points_at_the_spot() {
    let dir = folder();
    let msg = error(dir.path(), "model_name: [unclosed\nmodel_file: x\n");
    assert!(msg.starts_with("S:"), "{msg}");
    assert!(!msg.starts_with("S: "), "a YAML error has a line: {msg}");
}

#[test]
fn a_missing_settings_file_says_how_to_get_one() {
    let dir = folder();
    let err = Settings::load(&dir.path().join(SETTINGS_FILE)).expect_err("no file");
    let msg = err.to_string();
    assert!(msg.contains("cannot read settings"), "{msg}");
    assert!(msg.contains("--settings"), "{msg}");
}

#[test]
fn prediction_files_go_to_the_store_unless_cdf_is_named() {
    let dir = folder();
    let store = parse(dir.path(), VALID).expect("valid");
    assert_eq!(store.models[0].prediction_files, PredictionFiles::Store);
    let text = format!("{VALID}prediction_files:\n  to: cdf\n");
    let cdf = parse(dir.path(), &text).expect("valid");
    assert_eq!(cdf.models[0].prediction_files, PredictionFiles::Cdf { data_set: "mlops".into() });
    let text = format!("{VALID}prediction_files:\n  to: cdf\n  data_set: preds\n");
    let named = parse(dir.path(), &text).expect("valid");
    assert_eq!(named.models[0].prediction_files, PredictionFiles::Cdf { data_set: "preds".into() });
}

#[test]
fn bad_prediction_files_say_what_is_allowed() {
    let dir = folder();
    let err = error(dir.path(), &format!("{VALID}prediction_files:\n  to: s3\n"));
    assert!(err.contains("`to: s3` is not known") && err.contains("`to: cdf`"), "{err}");
    assert!(err.contains("S:16:"), "the line is named: {err}");
    let err = error(dir.path(), &format!("{VALID}prediction_files:\n  to: store\n  data_set: x\n"));
    assert!(err.contains("`data_set` applies only to `to: cdf`"), "{err}");
    let err = error(dir.path(), &format!("{VALID}prediction_files:\n  to: cdf\n  data_set: a/b\n"));
    assert!(err.contains("not a CDF data set external id"), "{err}");
    let err = error(dir.path(), &format!("{VALID}prediction_files:\n  to: cdf\n  dataset: x\n"));
    assert!(err.contains("dataset"), "{err}");
}

#[test]
fn runtime_onnx_replaces_model_file_and_needs_runner_json() {
    let dir = folder();
    let onnx = "model_name: graph\nruntime: onnx\nartifact_folder: artifacts\n";
    let msg = error(dir.path(), onnx);
    assert!(msg.contains("runtime: onnx needs runner.json in the artifact folder"), "{msg}");
    std::fs::write(dir.path().join("artifacts/runner.json"), "{}").expect("write");
    let settings = parse(dir.path(), onnx).expect("valid");
    assert_eq!(settings.models[0].component, Component::Runtime(Runtime::Onnx));
    settings.models[0].check_model_file().expect("a runtime is always there");

    let msg = error(dir.path(), "model_name: graph\nruntime: tflite\nartifact_folder: artifacts\n");
    assert!(msg.starts_with("S:2:10: runtime `tflite` is not one mlops-host carries"), "{msg}");
    assert!(msg.contains("the runtimes are: onnx"), "{msg}");
    let msg = error(dir.path(), "model_name: graph\nruntime: onnx\n");
    assert!(msg.contains("but artifact_folder is not set"), "{msg}");
    let msg = error(
        dir.path(),
        "model_name: graph\nruntime: onnx\nbuild: make\nartifact_folder: artifacts\n",
    );
    assert!(msg.contains("runtime: onnx needs no build"), "{msg}");
    let msg = error(
        dir.path(),
        "model_name: graph\nruntime: onnx\nmodel_file: model.wasm\nartifact_folder: artifacts\n",
    );
    assert!(msg.contains("both `model_file` and `runtime` are set"), "{msg}");
}
