//! The crates' one-way dependencies (ARCHITECTURE.md), checked on what
//! cargo resolves: the serving core has no HTTP, nothing but the binary
//! and the CDF crate itself depends on CDF, and the libraries leave the
//! environment to the binary.

use std::process::Command;

/// The packages `package` depends on to build (normal edges), by name.
fn dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(mlops_tests::repo_root())
        .args(["tree", "--offline", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_core_has_no_http_and_only_the_binary_knows_cdf() {
    let core = dependencies("mlops-core");
    assert!(core.contains(&"mlops-engine".to_string()), "the query works: {core:?}");
    for banned in ["hyper", "hyper-util", "mlops-http", "mlops-cdf", "reqwest"] {
        assert!(!core.iter().any(|d| d == banned), "mlops-core depends on {banned}");
    }
    for package in ["mlops-http", "mlops-registry", "mlops-engine"] {
        let deps = dependencies(package);
        assert!(!deps.iter().any(|d| d == "mlops-cdf"), "{package} depends on mlops-cdf: {deps:?}");
    }
    assert!(
        dependencies("mlops-host").contains(&"mlops-cdf".to_string()),
        "the binary composes CDF"
    );
}

#[test]
fn libraries_leave_the_environment_to_the_binary() {
    let root = mlops_tests::repo_root();
    for krate in [
        "runtime/core",
        "runtime/http",
        "runtime/registry",
        "runtime/engine",
        "runtime/cdf",
        "runtime/client",
        "runtime/manifest",
    ] {
        let mut stack = vec![root.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("read");
                for (n, line) in text.lines().enumerate() {
                    assert!(
                        !(line.contains("env::var") || line.contains("from_env(")),
                        "{}:{}: a library reads the environment: {line}",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
    }
}
