//! The command line: exit codes and messages.

use mlops_tests::{example_dir, host_command, well_log_wasm};

fn run(cmd: &mut std::process::Command) -> (i32, String) {
    let out = cmd.output().expect("run mlops-host");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `mlops-host deploy -f <settings>` with a store and cache in `dir`.
fn deploy(dir: &std::path::Path, settings: &std::path::Path) -> (i32, String) {
    run(host_command(crate::bin(), &dir.join("store"), &dir.join("cache"))
        .arg("deploy")
        .arg("-f")
        .arg(settings))
}

#[test]
fn invalid_settings_exit_2_naming_file_line_and_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = dir.path().join("mlops_settings.yaml");
    std::fs::write(
        &settings,
        "model_name: well-log\nmodel_file: model.wasm\nartifact_versoin: 2\n",
    )
    .expect("write");
    let (code, stderr) = deploy(dir.path(), &settings);
    assert_eq!(code, 2, "{stderr}");
    let shown = settings.display().to_string();
    assert!(stderr.contains(&format!("{shown}:3:1: unknown key `artifact_versoin`")), "{stderr}");
    assert!(stderr.contains("did you mean `artifact_version`?"), "{stderr}");

    // Once the shape is right, every remaining problem is reported at once.
    std::fs::write(
        &settings,
        "model_name: well-log\nmodel_file: model.wasm\nlimits:\n  memory_mb: 0\n",
    )
    .expect("write");
    let (code, stderr) = deploy(dir.path(), &settings);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{shown}:1:13: model_name: model name `well-log` contains `-`: use `_` instead of `-`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{shown}:2:13: model_file `model.wasm` does not exist")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{shown}:4:14: limits.memory_mb is 0, outside 1..=16384")),
        "{stderr}"
    );
}

#[test]
fn a_missing_settings_file_exits_2_and_says_how_to_point_at_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr) =
        run(host_command(crate::bin(), &dir.path().join("store"), &dir.path().join("cache"))
            .current_dir(dir.path())
            .arg("deploy"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("mlops_settings.yaml: cannot read settings"), "{stderr}");
    assert!(stderr.contains("--settings"), "{stderr}");
}

/// Settings for the built example component with a fixtures folder of our
/// own.
fn settings_with_fixtures(dir: &std::path::Path, expected: &str) -> std::path::PathBuf {
    let fixtures = dir.join("fixtures");
    std::fs::create_dir_all(&fixtures).expect("mkdir");
    std::fs::copy(
        example_dir().join("fixtures/predict.request.json"),
        fixtures.join("predict.request.json"),
    )
    .expect("copy");
    std::fs::write(fixtures.join("predict.expected.json"), expected).expect("write");
    let settings = dir.join("mlops_settings.yaml");
    std::fs::write(
        &settings,
        format!(
            "model_name: well_log\nmodel_file: {}\nartifact_folder: {}\nfixtures: fixtures\n",
            well_log_wasm().display(),
            example_dir().join("artifacts").display()
        ),
    )
    .expect("write");
    settings
}

#[test]
fn a_failing_fixture_stops_the_deploy_and_shows_the_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = settings_with_fixtures(
        dir.path(),
        r#"{"status": "ok", "prediction": {"AC": [1, 2, 3, null, 5, 6]}}"#,
    );
    let store = dir.path().join("store");
    let (code, stderr) = deploy(dir.path(), &settings);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAIL predict"), "{stderr}");
    assert!(stderr.contains("`prediction.AC[0]` is 108.96641144551273, expected 1"), "{stderr}");
    assert!(stderr.contains("1 of 1 fixtures failed"), "{stderr}");
    assert!(
        !store.join("models").exists() && !store.join("services").exists(),
        "nothing was deployed"
    );
}

#[test]
fn testing_only_runs_the_fixtures_and_deploys_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = std::fs::read_to_string(example_dir().join("fixtures/predict.expected.json"))
        .expect("read");
    let settings = settings_with_fixtures(dir.path(), &expected);
    let store = dir.path().join("store");
    let (code, stderr) = run(host_command(crate::bin(), &store, &dir.path().join("cache"))
        .env("TESTING_ONLY", "true")
        .arg("deploy")
        .arg("-f")
        .arg(&settings));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 fixture(s) passed") && stderr.contains("nothing deployed"),
        "{stderr}"
    );
    assert!(!store.join("services").exists());
}

/// The defaults the README's command synopsis shows (`[--watch-interval 2]`)
/// are the ones each command has (`--help` says `[default: 2]`).
#[test]
fn the_readme_synopsis_gives_each_commands_defaults() {
    let readme =
        std::fs::read_to_string(mlops_tests::repo_root().join("README.md")).expect("README");
    let synopsis = mlops_tests::readme_between("```text\nmlops-host deploy", "```");
    let mut checked = 0;
    let mut command: Vec<&str> = Vec::new();
    for line in synopsis.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("mlops-host ") {
            // `mlops-host services list …`: the subcommand words before the
            // first argument.
            command = words[1..]
                .iter()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .copied()
                .collect();
        }
        for pair in line.split('[').skip(1) {
            let Some((flag, value)) = pair.split(']').next().and_then(|p| p.split_once(' ')) else {
                continue;
            };
            // Only literal defaults: numbers and addresses, not NAME or a|b.
            if !flag.starts_with("--")
                || !value.chars().all(|c| c.is_ascii_digit() || ".:".contains(c))
            {
                continue;
            }
            let help = std::process::Command::new(crate::bin())
                .args(&command)
                .arg("--help")
                .output()
                .expect("run --help");
            let help = String::from_utf8_lossy(&help.stdout);
            // The option's paragraph: from its line to the next option.
            let mut paragraph = String::new();
            let mut inside = false;
            for l in help.lines() {
                let t = l.trim_start();
                if t.starts_with('-') {
                    inside = t
                        .split([' ', ','])
                        .any(|w| w == flag || w.starts_with(&format!("{flag}=")));
                }
                if inside {
                    paragraph.push_str(t);
                    paragraph.push(' ');
                }
            }
            assert!(
                paragraph.contains(&format!("[default: {value}]")),
                "mlops-host {} {flag}: the README says {value}, --help says: {paragraph}",
                command.join(" ")
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} defaults found in the synopsis:\n{synopsis}");

    // And the one default the environment table gives with its flag.
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `MLOPS_CDF_DEADLINE` (or `--cdf-deadline`)"))
        .expect("the README's MLOPS_CDF_DEADLINE row");
    let value = row.rsplit_once('(').and_then(|(_, v)| v.split(')').next()).expect("(default)");
    let help =
        std::process::Command::new(crate::bin()).args(["serve", "--help"]).output().expect("help");
    let help =
        String::from_utf8_lossy(&help.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    let option = help.split("--cdf-deadline").nth(1).expect("serve takes --cdf-deadline");
    let option = option.split(" --").next().unwrap_or(option);
    assert!(option.contains(&format!("[default: {value}]")), "--cdf-deadline: {option}");
}
