//! The `mlops-host` binary end to end, one test binary for all areas.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail by panicking")]

mod bench;
mod cdf;
mod cli;
mod containers;
mod deploy_files;
mod faults;
mod hostile;
mod hostile_shared;
mod languages;
mod migration;
mod models;
mod onnx_zoo;
mod scale;
mod serve;
mod services;
mod tls;
mod ui;
mod workflow;

use std::path::Path;

/// The binary cargo built for these tests.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mlops-host"))
}

/// A store and a cache in a temporary folder, and `mlops-host` on them.
pub struct Host {
    pub dir: tempfile::TempDir,
}

impl Default for Host {
    fn default() -> Host {
        Host { dir: tempfile::tempdir().expect("tempdir") }
    }
}

impl Host {
    pub fn new() -> Host {
        Host::default()
    }

    pub fn store(&self) -> std::path::PathBuf {
        self.dir.path().join("store")
    }

    pub fn cmd(&self) -> std::process::Command {
        mlops_tests::host_command(bin(), &self.store(), &self.dir.path().join("cache"))
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let out = self.cmd().args(args).output().expect("run mlops-host");
        let what = format!("the output of mlops-host {}", args.join(" "));
        mlops_tests::secrets::assert_none_in(&what, &String::from_utf8_lossy(&out.stdout));
        mlops_tests::secrets::assert_none_in(&what, &String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Runs, checks it succeeded, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("JSON on stdout")
    }

    /// `serve` on a free port, watching the store every 200 ms.
    pub fn serve(&self, env: &[(&str, &str)]) -> mlops_tests::HostProcess {
        let mut cmd = self.cmd();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--watch-interval", "0.2"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        mlops_tests::HostProcess::start(cmd)
    }
}
