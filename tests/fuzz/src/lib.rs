//! What each fuzz target does with its input, shared by the libFuzzer
//! targets (`fuzz_targets/`) and the regression test that replays every
//! saved input in the normal test suite (`tests/tests/all/fuzz.rs`).
//!
//! Each function feeds untrusted bytes to one decoder, as the host does with
//! what arrives over HTTP or from the store, and checks what a success
//! promises. The decoders must return an error for bad input, never panic.

use std::path::Path;

use mlops_engine::{DataType, Field, Payload, Schema};

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
pub fn envelope(data: &[u8]) {
    let Ok(request) = mlops_core::codec::parse_request(data) else { return };
    let Some(raw) = request.data else { return };
    for schema in schemas() {
        if let Ok(payload) = mlops_core::codec::decode_data(raw, &schema) {
            check_payload(&payload);
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
