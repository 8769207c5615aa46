//! What the README says that the code can be asked directly: the test
//! command CI runs, the fuzzing it does, and the defaults of the model
//! limits and the CDF client. (The commands' defaults are checked against
//! `--help` in runtime/cli/tests/e2e/cli.rs.)

use mlops_tests::repo_root;

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("README")
}

/// The README with every run of white space one space: phrases wrapped
/// over lines still match.
fn readme_flat() -> String {
    readme().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The body of the first ```sh block after `heading` in the README.
fn command_after(readme: &str, heading: &str) -> String {
    let rest = readme.split(heading).nth(1).unwrap_or_else(|| panic!("README: no {heading}"));
    let block = rest.split("```sh\n").nth(1).expect("a sh block after the heading");
    block.split("```").next().expect("closed").trim().to_string()
}

#[test]
fn ci_runs_the_readme_test_command_and_fuzzes_every_target() {
    let readme = readme();
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).expect(".ci/run");
    let lines: Vec<&str> = ci.lines().map(str::trim).collect();

    let test = command_after(&readme, "**2. Run the whole test suite:**");
    assert_eq!(test.lines().count(), 1, "one command: {test}");
    assert!(lines.contains(&test.as_str()), ".ci/run does not call `{test}`");

    assert!(lines.contains(&"tests/fuzz/run 60"), ".ci/run does not fuzz 60 s per target");
    let run = std::fs::read_to_string(repo_root().join("tests/fuzz/run")).expect("tests/fuzz/run");
    let targets = std::fs::read_dir(repo_root().join("tests/fuzz/fuzz_targets"))
        .expect("fuzz_targets")
        .map(|e| e.expect("entry").path())
        .map(|p| p.file_stem().and_then(|s| s.to_str()).expect("name").to_string());
    let default = run
        .lines()
        .find(|l| l.contains("|| targets=("))
        .expect("tests/fuzz/run names its default targets");
    for t in targets {
        assert!(
            default.split(['(', ')', ' ']).any(|w| w == t),
            "tests/fuzz/run does not run the `{t}` target by default: {default}"
        );
    }
}

#[test]
fn the_readme_gives_the_limit_defaults_a_model_gets() {
    let readme = readme();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `limits` |"))
        .expect("the README's settings table has a limits row");
    // "`memory_mb` (256), `timeout_ms` (10000), …"
    let stated: std::collections::BTreeMap<&str, u64> = row
        .split("), ")
        .flat_map(|part| part.split(" | ").last())
        .filter_map(|part| {
            let (name, rest) = part.trim_start_matches(' ').split_once(" (")?;
            let value = rest.split([',', ')']).next()?.parse().ok()?;
            Some((name.trim_matches('`'), value))
        })
        .collect();
    let d = mlops_manifest::Limits::default();
    let actual = std::collections::BTreeMap::from([
        ("memory_mb", d.memory_bytes >> 20),
        ("timeout_ms", d.timeout.as_millis() as u64),
        ("init_timeout_ms", d.init_timeout.as_millis() as u64),
        ("max_instances", u64::from(d.max_instances)),
        ("max_request_mb", d.max_request_bytes >> 20),
        ("max_output_mb", d.max_output_bytes >> 20),
        ("max_response_mb", d.max_response_bytes >> 20),
    ]);
    assert_eq!(stated, actual, "the README's limits row: {row}");
}

#[test]
fn the_readme_gives_the_cdf_clients_defaults() {
    let c = mlops_cdf::CdfConfig::new(
        "http://127.0.0.1:1",
        "p",
        "http://127.0.0.1:1/token",
        "id",
        mlops_cdf::Secret::new("s"),
        Vec::new(),
    );
    let readme = readme_flat();
    for phrase in [
        format!(
            "back-off doubling from {} s to {} s with full jitter",
            c.backoff_base.as_secs_f64(),
            c.backoff_cap.as_secs()
        ),
        format!(
            "{} s per request, {} s per file transfer",
            c.timeout.as_secs(),
            c.transfer_timeout.as_secs()
        ),
        format!("at most {} requests in flight", c.concurrency),
        format!("files over {} MiB go up in", c.multipart_threshold >> 20),
    ] {
        assert!(readme.contains(&phrase), "the README does not say: {phrase}");
    }
}
