//! What each fuzz target does with its input, shared by the libFuzzer
//! targets (`fuzz_targets/`) and the regression test that replays every
//! saved input in the normal test suite (`tests/tests/all/fuzz.rs`).
//!
//! Each function feeds untrusted bytes to one decoder, as the host does with
//! what arrives over HTTP or from the store, and checks what a success
//! promises. The decoders must return an error for bad input, never panic.

use std::path::Path;

use mlops_engine::{Column, ColumnData, DataType, Field, Frame, Payload, Schema};

/// The schemas a request may meet: the example's declared columns, a JSON
/// document, and "anything".
fn schemas() -> [Schema; 3] {
    let field = |name: &str, type_: DataType, required: bool| Field {
        name: name.into(),
        type_,
        required,
        nullable: true,
        description: String::new(),
    };
    [
        Schema::Frame(vec![
            field("ACS", DataType::F64, true),
            field("RDEP", DataType::F64, true),
            field("DEN", DataType::F64, false),
            field("WELL", DataType::String, false),
            field("N", DataType::S64, false),
            field("OK", DataType::Bool, false),
        ]),
        Schema::Json,
        Schema::Any,
    ]
}

fn check_payload(payload: &Payload) {
    if let Payload::Frame(frame) = payload {
        let rows: Vec<usize> =
            frame.columns.iter().map(|c| mlops_core::codec::data_len(&c.data)).collect();
        assert!(rows.windows(2).all(|w| w[0] == w[1]), "a frame with ragged columns: {rows:?}");
        for c in &frame.columns {
            if let Some(validity) = &c.validity {
                assert!(validity.len() * 8 >= rows[0], "a validity bitmap shorter than its column");
            }
        }
    }
}

/// `mlops_settings.yaml` as `mlops-host validate` and `deploy` read it.
pub fn settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) =
        mlops_manifest::Settings::parse(&text, Path::new("/nonexistent/mlops_settings.yaml"))
    {
        // Every error names where it is and says something.
        assert!(!e.problems.is_empty());
        for p in &e.problems {
            assert!(!p.message.is_empty(), "an empty message: {p:?}");
        }
    }
}

/// A call's body: the seed's envelope, then its `data` per schema.
///
/// Each body is decoded both ways: in one pass (`decode_request`, what
/// calls use) and in two (`parse_request`, then `decode_data`). When either
/// accepts it, both must, with the same payload and flags.
pub fn envelope(data: &[u8]) {
    let request = mlops_core::codec::parse_request(data);
    for schema in schemas() {
        let one_pass = mlops_core::codec::decode_request(data, &schema);
        let two_pass = match &request {
            Ok(request) => mlops_core::codec::decode_document(request, &schema).map(|input| {
                mlops_core::codec::Decoded {
                    input,
                    to_file: request.to_file(),
                    metadata: request.metadata(),
                }
            }),
            Err(e) => Err(e.clone()),
        };
        match (one_pass, two_pass) {
            (Ok(one), Ok(two)) => {
                assert_eq!(one, two, "one pass and two decode differently");
                check_payload(&one.input);
            }
            (Err(_), Err(_)) => {}
            (one, two) => panic!("one pass gave {one:?}, two passes {two:?}"),
        }
    }
}

/// An Open Inference Protocol v2 infer body. An odd first byte means binary
/// tensors follow a JSON header whose length (the `Inference-Header-Content-Length`
/// header) is the next two bytes, little-endian; an even one, a JSON body.
pub fn oip(data: &[u8]) {
    let (header_len, body) = match data {
        [first, lo, hi, body @ ..] if first & 1 == 1 => {
            (Some(usize::from(u16::from_le_bytes([*lo, *hi]))), body)
        }
        [_, body @ ..] => (None, body),
        [] => return,
    };
    for schema in schemas() {
        if let Ok((frame, _options)) = mlops_http::decode_infer_request(body, header_len, &schema) {
            check_payload(&Payload::Frame(frame));
        }
    }
}

/// An artifact manifest and a service record as read back from the store.
pub fn registry(data: &[u8]) {
    let id: mlops_manifest::ModelId = "well_log/dev/3".parse().expect("a model id");
    if let Ok(m) = mlops_registry::decode_manifest(data, &id) {
        assert_eq!(m.model_id(), id, "a manifest for another version was accepted");
        for f in &m.files {
            assert!(
                !f.path.starts_with('/') && !f.path.split('/').any(|p| p == ".."),
                "{}",
                f.path
            );
        }
    }
    let xid: mlops_manifest::ExternalId = "well_log-prediction-dev-3".parse().expect("an id");
    if let Ok(r) = mlops_registry::decode_service_record(data, &xid) {
        assert_eq!(r.external_id, xid, "a record for another service was accepted");
    }
}

/// Columns lowered into a guest and lifted back: the probe model echoes any
/// frame, so what comes back must be what went in, bit for bit (NaN
/// payloads, validity bitmaps, empty and non-ASCII strings included).
pub fn boundary(data: &[u8]) {
    let frame = frame_from(data);
    let (runtime, deployment) = probe();
    let answer = runtime
        .block_on(deployment.predict(Payload::Frame(frame.clone())))
        .unwrap_or_else(|e| panic!("the probe echoes any frame; it failed: {e}"));
    let Payload::Frame(back) = answer else { panic!("a frame went in, a document came out") };
    assert_eq!(back.columns.len(), frame.columns.len(), "columns lost or added");
    for (sent, got) in frame.columns.iter().zip(&back.columns) {
        assert_eq!(sent.name, got.name);
        assert_eq!(sent.validity, got.validity, "column `{}`: validity changed", sent.name);
        let same = match (&sent.data, &got.data) {
            (ColumnData::F64(a), ColumnData::F64(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (a, b) => a == b,
        };
        assert!(same, "column `{}` changed crossing the boundary", sent.name);
    }
}

/// Reads the fuzzer's bytes as a frame: up to 4 columns of one row count
/// (up to 255), each f64 (any bit pattern), s64, bool or string, with or
/// without a validity bitmap. Exhausted input reads as zeros.
fn frame_from(data: &[u8]) -> Frame {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next().unwrap_or(0);
    let columns = usize::from(next() % 5);
    let rows = usize::from(next());
    let mut frame = Frame { columns: Vec::new() };
    for i in 0..columns {
        let kind = next();
        let name_len = usize::from(next() % 8);
        let name: Vec<u8> = (0..name_len).map(|_| next()).collect();
        let name = format!("{}{i}", String::from_utf8_lossy(&name));
        let data = match kind % 4 {
            0 => ColumnData::F64(
                (0..rows).map(|_| f64::from_le_bytes(std::array::from_fn(|_| next()))).collect(),
            ),
            1 => ColumnData::S64(
                (0..rows).map(|_| i64::from_le_bytes(std::array::from_fn(|_| next()))).collect(),
            ),
            2 => ColumnData::Bool((0..rows).map(|_| next() & 1 == 1).collect()),
            _ => ColumnData::String(
                (0..rows)
                    .map(|_| {
                        let len = usize::from(next() % 12);
                        let raw: Vec<u8> = (0..len).map(|_| next()).collect();
                        String::from_utf8_lossy(&raw).into_owned()
                    })
                    .collect(),
            ),
        };
        let validity = (kind & 0x80 != 0).then(|| (0..rows.div_ceil(8)).map(|_| next()).collect());
        frame.columns.push(Column { name, data, validity });
    }
    frame
}

/// The probe model, deployed once per process, and a runtime to call it.
fn probe() -> &'static (tokio::runtime::Runtime, mlops_engine::Deployment) {
    static PROBE: std::sync::OnceLock<(tokio::runtime::Runtime, mlops_engine::Deployment)> =
        std::sync::OnceLock::new();
    PROBE.get_or_init(|| {
        // The test suite's build names it; the fuzzer finds it where that
        // build puts it (tests/fuzz/run builds it first).
        let path = option_env!("PROBE_WASM").map(std::path::PathBuf::from).unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/guests/wasm32-wasip2/guest/probe_guest.wasm")
        });
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("the probe component {}: {e}", path.display()));
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let engine = mlops_engine::Engine::new(mlops_engine::EngineConfig {
            cache_dir: None,
            ..mlops_engine::EngineConfig::default()
        })
        .expect("an engine");
        let component = engine.load(&bytes).expect("the probe compiles");
        let spec = mlops_engine::DeploymentSpec {
            name: "probe (fuzz)".into(),
            artifact_dir: None,
            limits: mlops_manifest::Limits::default(),
            secrets: Vec::new(),
            profile: false,
        };
        let deployment =
            runtime.block_on(engine.deploy(&component, spec)).expect("the probe starts");
        (runtime, deployment)
    })
}
