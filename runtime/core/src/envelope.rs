//! The seed's response envelope, written straight into one buffer:
//! `{"status":"ok","prediction":…,"prediction_file":…,"model_id":…}` and
//! `{"status":"error","message":…,"model_id":…}` (keys in that order).

use bytes::Bytes;
use mlops_engine::{ColumnData, Payload};

use crate::codec::PredictionJson;
use crate::error::Error;

const OK_HEAD: &[u8] = b"{\"status\":\"ok\",\"prediction\":";

/// A JSON string literal.
pub(crate) fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// What follows an inline prediction for a service whose model id is
/// `model_id`: made once per service.
pub(crate) fn inline_tail(model_id: &str) -> Box<[u8]> {
    format!(",\"prediction_file\":null,\"model_id\":{}}}", quoted(model_id)).into_bytes().into()
}

/// The envelope of an inline prediction, encoded in one pass into a
/// buffer sized for it; `tail` is [`inline_tail`].
pub(crate) fn ok_inline(output: &Payload, tail: &[u8]) -> Result<Bytes, Error> {
    let mut out = Vec::with_capacity(OK_HEAD.len() + encoded_size_hint(output) + tail.len());
    out.extend_from_slice(OK_HEAD);
    serde_json::to_writer(&mut out, &PredictionJson(output))
        .map_err(|e| Error::Internal(format!("cannot encode the prediction: {e}")))?;
    out.extend_from_slice(tail);
    Ok(Bytes::from(out))
}

/// The envelope of a prediction written to a file: an empty inline
/// prediction and the file's id (the seed's shape).
pub(crate) fn ok_file(file: &str, model_id_json: &str) -> Bytes {
    let file = quoted(file);
    let mut out = Vec::with_capacity(OK_HEAD.len() + file.len() + model_id_json.len() + 40);
    out.extend_from_slice(OK_HEAD);
    out.extend_from_slice(b"{},\"prediction_file\":");
    out.extend_from_slice(file.as_bytes());
    out.extend_from_slice(b",\"model_id\":");
    out.extend_from_slice(model_id_json.as_bytes());
    out.push(b'}');
    Bytes::from(out)
}

/// `{"status":"error","message":…,"model_id":…}`.
pub fn error_envelope(message: &str, model_id: Option<&str>) -> Bytes {
    let model_id = model_id.map_or_else(|| "null".to_string(), quoted);
    Bytes::from(format!(
        "{{\"status\":\"error\",\"message\":{},\"model_id\":{model_id}}}",
        quoted(message)
    ))
}

/// About how many bytes a prediction's JSON takes, so that the buffer is
/// allocated once: ~20 per number, the length of each string plus quotes.
fn encoded_size_hint(output: &Payload) -> usize {
    match output {
        Payload::Json(text) => text.len(),
        Payload::Frame(frame) => frame
            .columns
            .iter()
            .map(|c| {
                c.name.len()
                    + 6
                    + match &c.data {
                        ColumnData::F64(v) => v.len() * 20,
                        ColumnData::S64(v) => v.len() * 12,
                        ColumnData::Bool(v) => v.len() * 6,
                        ColumnData::String(v) => v.iter().map(|s| s.len() + 3).sum(),
                    }
            })
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use mlops_engine::{Column, Frame};

    use super::*;

    #[test]
    fn envelopes_are_the_seeds_json() {
        let output = Payload::Frame(Frame {
            columns: vec![Column {
                name: "AC".into(),
                data: ColumnData::F64(vec![1.5, 2.0]),
                validity: Some(vec![0b01]),
            }],
        });
        let body = ok_inline(&output, &inline_tail("m/dev/1")).expect("encode");
        assert_eq!(
            std::str::from_utf8(&body).expect("utf-8"),
            r#"{"status":"ok","prediction":{"AC":[1.5,null]},"prediction_file":null,"model_id":"m/dev/1"}"#
        );
        let doc = Payload::Json(r#"{"a": [1, "x"]}"#.into());
        let body = ok_inline(&doc, &inline_tail("m/dev/\"2\"")).expect("encode");
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(parsed["prediction"]["a"][1], "x");
        assert_eq!(parsed["model_id"], "m/dev/\"2\"");
        assert_eq!(
            std::str::from_utf8(&ok_file("predictions/m/dev/x.json", &quoted("m/dev/1")))
                .expect("utf-8"),
            r#"{"status":"ok","prediction":{},"prediction_file":"predictions/m/dev/x.json","model_id":"m/dev/1"}"#
        );
        assert_eq!(
            std::str::from_utf8(&error_envelope("bad \"data\"", None)).expect("utf-8"),
            r#"{"status":"error","message":"bad \"data\"","model_id":null}"#
        );
    }

    #[test]
    fn a_model_that_returns_invalid_json_is_an_error_not_a_broken_envelope() {
        let err = ok_inline(&Payload::Json("{not json".into()), &inline_tail("m/dev/1"))
            .expect_err("refused");
        assert!(err.to_string().contains("invalid JSON"), "{err}");
    }
}
