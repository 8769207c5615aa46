//! The `mlops-host` binary end to end, one test binary for all areas.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail by panicking")]

mod cli;
mod models;
mod serve;

use std::path::Path;

/// The binary cargo built for these tests.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mlops-host"))
}
