//! Components built with the workspace and carried in the binary, so that
//! the models they serve need no code and no toolchain.

use mlops_manifest::Runtime;

/// The ONNX runner (`sdk/onnx-runner`): serves the `.onnx` graph that
/// `runner.json` in a model's artifact folder describes. Settings select it
/// with `runtime: onnx`.
pub static ONNX_RUNNER: &[u8] = include_bytes!(env!("MLOPS_ONNX_RUNNER_WASM"));

/// The component a runtime named in the settings runs.
pub fn component(runtime: Runtime) -> &'static [u8] {
    match runtime {
        Runtime::Onnx => ONNX_RUNNER,
    }
}
