//! Support for the integration tests in `tests/all`: the guest components
//! (built from source by `build.rs`), engines, deployments, and a real
//! `mlops-host` process on loopback.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test support code")]

pub mod cdf_server;
pub mod conformance;
pub mod onnx;
pub mod proxy;
pub mod secrets;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mlops_engine::{Deployment, DeploymentSpec, Engine, EngineConfig, LoadedComponent};
use mlops_manifest::Limits;

/// reqwest's TLS (rustls) needs the process's crypto provider: ring,
/// installed as the binary installs it. Call before building any reqwest
/// client or S3 store in a test.
pub use mlops_client::install_tls_provider;

/// A reqwest client, the provider installed.
pub fn http() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::new()
}

/// Skips `what` (a test, or the part of one that needs a tool) because of
/// `why`, saying how to get the tool. In CI (`CI` set) nothing may be
/// skipped: this fails instead. Elsewhere it says so on stderr past the
/// test harness's capture (a person running the tests sees it even when
/// the test passes) and records it in `target/test-skips.log`, which
/// `tests/run` counts in its last line.
pub fn skip(what: &str, why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what}: {why} — nothing is skipped in CI");
    let line = format!("SKIPPED {what}: {why}");
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "note: {line}");
    let log = repo_root().join("target/test-skips.log");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(f, "{line}");
    }
}

/// The well-log example component.
pub fn well_log_wasm() -> &'static Path {
    Path::new(env!("WELL_LOG_WASM"))
}

/// The ONNX runner component the engine carries (serves the .onnx file
/// its artifacts name).
pub fn onnx_runner() -> &'static [u8] {
    mlops_engine::builtin::onnx_runner().expect("the ONNX runner")
}

/// The probe component (does what each request asks, hostile included).
pub fn probe_wasm() -> &'static Path {
    Path::new(env!("PROBE_WASM"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repo").to_path_buf()
}

/// The README's text from the first `start` to the `end` after it (neither
/// included): a block between markers, or a code block after a heading.
pub fn readme_between(start: &str, end: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(inside, _)| inside.to_string())
        .unwrap_or_else(|| panic!("the README has no `{start}` … `{end}`"))
}

/// The well-log example's folder.
pub fn example_dir() -> PathBuf {
    repo_root().join("examples/well_log")
}

/// An engine with a small instance pool and, optionally, a compile cache.
pub fn engine(cache_dir: Option<&Path>) -> Engine {
    Engine::new(EngineConfig {
        cache_dir: cache_dir.map(Path::to_path_buf),
        pool_instances: Some(16),
        max_memory_bytes: 1 << 30,
    })
    .expect("engine")
}

/// Compiles a component file.
pub fn load(engine: &Engine, path: &Path) -> LoadedComponent {
    engine.load(&std::fs::read(path).expect("read component")).expect("compile")
}

/// Deploys a component with these limits and artifact folder.
pub async fn deploy(
    engine: &Engine,
    component: &LoadedComponent,
    name: &str,
    limits: Limits,
    artifact_dir: Option<&Path>,
) -> Deployment {
    try_deploy(engine, component, name, limits, artifact_dir, Vec::new()).await.expect("deploy")
}

/// Deploys, returning the error instead of panicking.
pub async fn try_deploy(
    engine: &Engine,
    component: &LoadedComponent,
    name: &str,
    limits: Limits,
    artifact_dir: Option<&Path>,
    secrets: Vec<(String, String)>,
) -> Result<Deployment, mlops_engine::EngineError> {
    let spec = DeploymentSpec {
        name: name.to_string(),
        artifact_dir: artifact_dir.map(Path::to_path_buf),
        limits,
        secrets,
        profile: false,
    };
    engine.deploy(component, spec).await
}

/// Limits with a short deadline and a small memory cap.
pub fn tight_limits() -> Limits {
    Limits {
        memory_bytes: 32 << 20,
        timeout: Duration::from_millis(300),
        init_timeout: Duration::from_millis(2000),
        max_instances: 2,
        max_request_bytes: 1 << 20,
        max_output_bytes: 8 << 20,
        max_response_bytes: 8 << 20,
    }
}

/// A running `mlops-host` process; killed when dropped.
pub struct HostProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    /// Everything it wrote to stderr so far (collected in the background).
    lines: mpsc::Receiver<String>,
    pub log: Vec<String>,
}

/// `mlops-host` with the store and cache set.
pub fn host_command(bin: &Path, store: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("MLOPS_STORE", store)
        .env("MLOPS_CACHE_DIR", cache)
        .env_remove("MLOPS_ENV")
        .env_remove("ENV")
        .env_remove("TESTING_ONLY")
        .env_remove("RUST_LOG")
        .env_remove("MLOPS_LOG");
    cmd
}

impl HostProcess {
    /// Starts `cmd` (a `serve` or `deploy --serve` with `--listen
    /// 127.0.0.1:0`) and waits until it says where it listens.
    pub fn start(cmd: Command) -> HostProcess {
        HostProcess::start_until(cmd, "mlops-host: serving")
    }

    /// Like [`HostProcess::start`], but returns as soon as it listens,
    /// before it has loaded anything (it may not be ready).
    pub fn start_listening(cmd: Command) -> HostProcess {
        HostProcess::start_until(cmd, "mlops-host: listening")
    }

    #[allow(
        clippy::zombie_processes,
        reason = "the child moves into HostProcess, which waits for it on drop"
    )]
    fn start_until(mut cmd: Command, prefix: &str) -> HostProcess {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn mlops-host");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let url = line
                        .strip_prefix(prefix)
                        .and_then(|rest| rest.split_once("http://"))
                        .map(|(_, rest)| {
                            let addr = rest.split([';', ' ']).next().unwrap_or(rest);
                            format!("http://{}", addr.trim())
                        });
                    secrets::assert_none_in("the host's log", &line);
                    log.push(line);
                    if let Some(url) = url {
                        return HostProcess { child, url, lines: rx, log };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("mlops-host did not start serving; it said:\n{}", log.join("\n"));
                }
            }
        }
    }

    /// Collects what it has logged since.
    pub fn drain_log(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            secrets::assert_none_in("the host's log", &line);
            self.log.push(line);
        }
        &self.log
    }

    /// POSTs `body` to `path` and returns the status and parsed JSON.
    pub async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, serde_json::Value) {
        let resp =
            http().post(format!("{}{path}", self.url)).body(body).send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        secrets::assert_none_in(&format!("the response to POST {path}"), &text);
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = reqwest::get(format!("{}{path}", self.url)).await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        secrets::assert_none_in(&format!("the response to GET {path}"), &text);
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Kills the process outright (SIGKILL: no shutdown, no cleanup).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(mut self) -> Vec<String> {
        #[cfg(unix)]
        {
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        }
        let _ = self.child.wait();
        self.drain_log();
        std::mem::take(&mut self.log)
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // What it logged to the end is scanned too (unless the test is
        // already failing: a second panic would abort).
        if !std::thread::panicking() {
            self.drain_log();
        }
    }
}

/// Bytes in the files under `dir`.
pub fn folder_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let meta = entry.metadata().expect("metadata");
        total += if meta.is_dir() { folder_size(&entry.path()) } else { meta.len() };
    }
    total
}
