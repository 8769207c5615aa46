//! Components built with the workspace and carried in the binary, so that
//! the models they serve need no code and no toolchain.

use std::io::Read as _;
use std::sync::OnceLock;

use mlops_manifest::Runtime;

/// The ONNX runner (`sdk/onnx-runner`), deflated by the build script: it
/// serves the `.onnx` graph that `runner.json` in a model's artifact folder
/// describes. Settings select it with `runtime: onnx`.
static ONNX_RUNNER_DEFLATED: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/mlops_onnx_runner.wasm.deflate"));

/// Its size inflated, as the build script measured it.
const ONNX_RUNNER_LEN: &str = env!("MLOPS_ONNX_RUNNER_LEN");

/// The ONNX runner's component, inflated on first use (about 15 MB, in
/// tens of milliseconds) and kept for the life of the process.
pub fn onnx_runner() -> Result<&'static [u8], String> {
    static INFLATED: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let inflated = INFLATED.get_or_init(|| {
        let len: usize = ONNX_RUNNER_LEN.parse().unwrap_or_default();
        let mut out = Vec::with_capacity(len);
        flate2::read::DeflateDecoder::new(ONNX_RUNNER_DEFLATED)
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())
            .and_then(|_| {
                if out.len() == len {
                    Ok(out)
                } else {
                    Err(format!("{} bytes, not {len}", out.len()))
                }
            })
            .map_err(|e| {
                format!(
                    "the ONNX runner carried in this binary is damaged ({e}); reinstall mlops-host"
                )
            })
    });
    inflated.as_deref().map_err(Clone::clone)
}

/// The component a runtime named in the settings runs.
pub fn component(runtime: Runtime) -> Result<&'static [u8], String> {
    match runtime {
        Runtime::Onnx => onnx_runner(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_runner_inflates_to_the_component_the_build_made() {
        let runner = super::onnx_runner().expect("inflates");
        assert_eq!(runner.len().to_string(), super::ONNX_RUNNER_LEN);
        // A component (layer 1), not a core module.
        assert_eq!(&runner[..8], b"\0asm\x0d\0\x01\0");
        assert!(super::ONNX_RUNNER_DEFLATED.len() * 3 < runner.len(), "not deflated");
    }
}
