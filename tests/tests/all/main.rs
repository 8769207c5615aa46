//! Integration tests, one binary (one link) for all areas. The end-to-end
//! tests of the `mlops-host` binary are in runtime/cli/tests.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail by panicking")]

mod cdf;

mod engine;
mod fuzz;
mod layering;
mod onnx_ops;
mod openapi;
mod readme;
mod registry;
mod routes;
