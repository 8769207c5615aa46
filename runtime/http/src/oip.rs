//! The Open Inference Protocol v2 (REST), as KServe and Triton speak it:
//! tensors in, tensors out, JSON or the binary tensor extension
//! (`Inference-Header-Content-Length`). A model's columns are 1-D tensors
//! (`[N]` or `[N, 1]`) named like the columns.

use bytes::Bytes;
use mlops_engine::{Column, ColumnData, DataType, Field, Frame, Payload, Schema};
use serde::Deserialize;
use serde_json::{Value, json};

use mlops_core::codec::{MAX_COLUMNS, MAX_ROWS, data_len};

/// The header that says how long the JSON part of a binary request or
/// response is.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

#[derive(Debug, Deserialize)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    inputs: Vec<InputTensor>,
    #[serde(default)]
    outputs: Option<Vec<RequestedOutput>>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct InputTensor {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Option<Parameters>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RequestedOutput {
    name: String,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Default, Deserialize)]
struct Parameters {
    #[serde(default)]
    binary_data_size: Option<u64>,
    #[serde(default)]
    binary_data: Option<bool>,
    #[serde(default)]
    binary_data_output: Option<bool>,
}

/// What the response must echo or honour.
#[derive(Debug, Default)]
pub struct InferOptions {
    pub id: Option<String>,
    /// Outputs asked for (all when `None`) and whether each goes binary.
    outputs: Option<Vec<(String, bool)>>,
    /// `binary_data_output` for outputs not listed.
    binary_default: bool,
}

/// Decodes an inference request. `header_len` is the value of
/// [`HEADER_LENGTH`] when the body has binary tensors after the JSON.
pub fn decode(
    body: &[u8],
    header_len: Option<usize>,
    inputs: &Schema,
) -> Result<(Frame, InferOptions), String> {
    let (json_part, mut binary) = match header_len {
        Some(n) if n <= body.len() => (&body[..n], &body[n..]),
        Some(n) => {
            return Err(format!("{HEADER_LENGTH} is {n} but the body has {} bytes", body.len()));
        }
        None => (body, &[][..]),
    };
    let req: InferRequest =
        serde_json::from_slice(json_part).map_err(|e| format!("not an inference request: {e}"))?;
    let declared: &[Field] = match inputs {
        Schema::Frame(fields) => fields,
        Schema::Json => {
            return Err("this model reads a JSON document, not tensors: call POST /services/<external-id>/call".into());
        }
        Schema::Any => &[],
    };
    if req.inputs.len() > MAX_COLUMNS {
        return Err(format!(
            "{} inputs, more than {}; send fewer per call",
            req.inputs.len(),
            MAX_COLUMNS
        ));
    }
    let mut columns = Vec::with_capacity(req.inputs.len());
    for t in &req.inputs {
        let rows = rows_of(t)?;
        let want = declared.iter().find(|f| f.name == t.name).map(|f| f.type_);
        let data = match t.parameters.as_ref().and_then(|p| p.binary_data_size) {
            Some(size) => {
                let size = usize::try_from(size)
                    .map_err(|_| format!("input `{}` is too large", t.name))?;
                if size > binary.len() {
                    return Err(format!(
                        "input `{}` says {size} binary bytes, {} are left",
                        t.name,
                        binary.len()
                    ));
                }
                let (mine, rest) = binary.split_at(size);
                binary = rest;
                from_binary(&t.name, &t.datatype, mine, rows)?
            }
            None => from_json(&t.name, &t.datatype, t.data.as_ref(), rows)?,
        };
        let data = convert(&t.name, data, want)?;
        columns.push(Column { name: t.name.clone(), data, validity: None });
    }
    if !binary.is_empty() {
        return Err(format!("{} binary bytes are left over after the inputs", binary.len()));
    }
    let missing: Vec<&str> = declared
        .iter()
        .filter(|f| f.required && !columns.iter().any(|c| c.name == f.name))
        .map(|f| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing required input(s) {}", missing.join(", ")));
    }
    if let Some(first) = columns.first()
        && let Some(other) = columns.iter().find(|c| data_len(&c.data) != data_len(&first.data))
    {
        return Err(format!(
            "inputs differ in length: `{}` has {}, `{}` has {}",
            first.name,
            data_len(&first.data),
            other.name,
            data_len(&other.data)
        ));
    }
    let binary_default =
        req.parameters.as_ref().and_then(|p| p.binary_data_output).unwrap_or(false);
    let outputs = req.outputs.map(|outs| {
        outs.into_iter()
            .map(|o| {
                let binary =
                    o.parameters.as_ref().and_then(|p| p.binary_data).unwrap_or(binary_default);
                (o.name, binary)
            })
            .collect()
    });
    Ok((Frame { columns }, InferOptions { id: req.id, outputs, binary_default }))
}

/// The number of rows of a 1-D tensor (`[N]` or `[N, 1]`).
fn rows_of(t: &InputTensor) -> Result<usize, String> {
    let rows = match t.shape.as_slice() {
        [n] | [n, 1] if *n >= 0 => *n,
        _ => {
            return Err(format!(
                "input `{}` has shape {:?}: columns are 1-D tensors, shape [N] or [N, 1]",
                t.name, t.shape
            ));
        }
    };
    let rows = usize::try_from(rows).map_err(|_| format!("input `{}`: bad shape", t.name))?;
    if rows > MAX_ROWS {
        return Err(format!(
            "input `{}` has {rows} rows, more than {}; split the call",
            t.name, MAX_ROWS
        ));
    }
    Ok(rows)
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

fn from_json(
    name: &str,
    datatype: &str,
    data: Option<&Value>,
    rows: usize,
) -> Result<ColumnData, String> {
    let data =
        data.ok_or_else(|| format!("input `{name}` has neither `data` nor binary_data_size"))?;
    let mut cells = Vec::with_capacity(rows);
    flatten(data, &mut cells);
    if cells.len() != rows {
        return Err(format!("input `{name}` has {} values for shape [{rows}]", cells.len()));
    }
    let bad = |i: usize| format!("input `{name}` element {i} is not a {datatype} value");
    Ok(match datatype {
        "FP64" | "FP32" | "FP16" => ColumnData::F64(
            cells
                .iter()
                .enumerate()
                .map(|(i, v)| v.as_f64().ok_or_else(|| bad(i)))
                .collect::<Result<_, _>>()?,
        ),
        "INT8" | "INT16" | "INT32" | "INT64" | "UINT8" | "UINT16" | "UINT32" | "UINT64" => {
            ColumnData::S64(
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v.as_i64().ok_or_else(|| bad(i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        "BOOL" => ColumnData::Bool(
            cells
                .iter()
                .enumerate()
                .map(|(i, v)| v.as_bool().ok_or_else(|| bad(i)))
                .collect::<Result<_, _>>()?,
        ),
        "BYTES" => ColumnData::String(
            cells
                .iter()
                .enumerate()
                .map(|(i, v)| v.as_str().map(str::to_string).ok_or_else(|| bad(i)))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(format!(
                "input `{name}` has datatype {other}, which mlops-host does not take"
            ));
        }
    })
}

fn from_binary(
    name: &str,
    datatype: &str,
    bytes: &[u8],
    rows: usize,
) -> Result<ColumnData, String> {
    let fixed = |width: usize| -> Result<std::slice::ChunksExact<'_, u8>, String> {
        if bytes.len() != rows * width {
            return Err(format!(
                "input `{name}` has {} binary bytes, [{rows}] {datatype} needs {}",
                bytes.len(),
                rows * width
            ));
        }
        Ok(bytes.chunks_exact(width))
    };
    let array = |c: &[u8]| -> [u8; 8] {
        let mut a = [0u8; 8];
        a[..c.len()].copy_from_slice(c);
        a
    };
    Ok(match datatype {
        "FP64" => ColumnData::F64(fixed(8)?.map(|c| f64::from_le_bytes(array(c))).collect()),
        "FP32" => ColumnData::F64(
            fixed(4)?.map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        ),
        "INT64" => ColumnData::S64(fixed(8)?.map(|c| i64::from_le_bytes(array(c))).collect()),
        "INT32" => ColumnData::S64(
            fixed(4)?.map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        ),
        "BOOL" => ColumnData::Bool(fixed(1)?.map(|c| c[0] != 0).collect()),
        "BYTES" => {
            let mut out = Vec::with_capacity(rows);
            let mut rest = bytes;
            while rest.len() >= 4 {
                let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let item = rest
                    .get(4..4 + len)
                    .ok_or_else(|| format!("input `{name}`: truncated BYTES element"))?;
                out.push(
                    String::from_utf8(item.to_vec())
                        .map_err(|_| format!("input `{name}`: BYTES element is not UTF-8"))?,
                );
                rest = &rest[4 + len..];
            }
            if !rest.is_empty() || out.len() != rows {
                return Err(format!(
                    "input `{name}`: {} BYTES elements for shape [{rows}]",
                    out.len()
                ));
            }
            ColumnData::String(out)
        }
        other => {
            return Err(format!(
                "input `{name}` has binary datatype {other}, which mlops-host does not take"
            ));
        }
    })
}

/// Converts a tensor's values to the type the model declared for it.
fn convert(name: &str, data: ColumnData, want: Option<DataType>) -> Result<ColumnData, String> {
    Ok(match (data, want) {
        (d, None) => d,
        (d @ ColumnData::F64(_), Some(DataType::F64))
        | (d @ ColumnData::S64(_), Some(DataType::S64))
        | (d @ ColumnData::Bool(_), Some(DataType::Bool))
        | (d @ ColumnData::String(_), Some(DataType::String)) => d,
        (ColumnData::S64(v), Some(DataType::F64)) => {
            ColumnData::F64(v.into_iter().map(|x| x as f64).collect())
        }
        (_, Some(t)) => return Err(format!("input `{name}` must be {}", datatype(t))),
    })
}

/// The OIP datatype of a column type.
pub fn datatype(t: DataType) -> &'static str {
    match t {
        DataType::F64 => "FP64",
        DataType::S64 => "INT64",
        DataType::String => "BYTES",
        DataType::Bool => "BOOL",
    }
}

fn data_type(d: &ColumnData) -> DataType {
    match d {
        ColumnData::F64(_) => DataType::F64,
        ColumnData::S64(_) => DataType::S64,
        ColumnData::String(_) => DataType::String,
        ColumnData::Bool(_) => DataType::Bool,
    }
}

/// The response to an inference: JSON, or JSON then binary tensors (with
/// the length of the JSON part to send in [`HEADER_LENGTH`]).
pub fn encode(
    model_name: &str,
    model_version: &str,
    output: &Payload,
    options: &InferOptions,
) -> Result<(Bytes, Option<usize>), String> {
    let Payload::Frame(frame) = output else {
        return Err("the model answered with a JSON document, which has no tensor form".into());
    };
    let wanted: Vec<(&Column, bool)> = match &options.outputs {
        None => frame.columns.iter().map(|c| (c, options.binary_default)).collect(),
        Some(list) => list
            .iter()
            .map(|(name, binary)| {
                frame
                    .columns
                    .iter()
                    .find(|c| &c.name == name)
                    .map(|c| (c, *binary))
                    .ok_or_else(|| format!("the model has no output `{name}`"))
            })
            .collect::<Result<_, _>>()?,
    };
    let mut binary = Vec::new();
    let mut outputs = Vec::with_capacity(wanted.len());
    for (c, as_binary) in wanted {
        let rows = data_len(&c.data);
        let valid = |row: usize| match &c.validity {
            None => true,
            Some(bits) => bits.get(row / 8).is_some_and(|b| b & (1 << (row % 8)) != 0),
        };
        let mut tensor =
            json!({ "name": c.name, "shape": [rows], "datatype": datatype(data_type(&c.data)) });
        if as_binary {
            let start = binary.len();
            match &c.data {
                ColumnData::F64(v) => v.iter().enumerate().for_each(|(i, x)| {
                    binary.extend_from_slice(&(if valid(i) { *x } else { f64::NAN }).to_le_bytes())
                }),
                ColumnData::S64(v) => {
                    v.iter().for_each(|x| binary.extend_from_slice(&x.to_le_bytes()))
                }
                ColumnData::Bool(v) => v.iter().for_each(|x| binary.push(u8::from(*x))),
                ColumnData::String(v) => v.iter().for_each(|s| {
                    binary.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    binary.extend_from_slice(s.as_bytes());
                }),
            }
            tensor["parameters"] = json!({ "binary_data_size": binary.len() - start });
        } else {
            let data: Vec<Value> = match &c.data {
                ColumnData::F64(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if valid(i) { json!(x) } else { Value::Null })
                    .collect(),
                ColumnData::S64(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if valid(i) { json!(x) } else { Value::Null })
                    .collect(),
                ColumnData::Bool(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if valid(i) { json!(x) } else { Value::Null })
                    .collect(),
                ColumnData::String(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if valid(i) { json!(x) } else { Value::Null })
                    .collect(),
            };
            tensor["data"] = Value::Array(data);
        }
        outputs.push(tensor);
    }
    let mut doc =
        json!({ "model_name": model_name, "model_version": model_version, "outputs": outputs });
    if let Some(id) = &options.id {
        doc["id"] = json!(id);
    }
    let mut body = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    if binary.is_empty() {
        return Ok((Bytes::from(body), None));
    }
    let header = body.len();
    body.extend_from_slice(&binary);
    Ok((Bytes::from(body), Some(header)))
}

/// Model metadata: name, versions, platform, inputs and outputs.
pub fn metadata(name: &str, versions: &[String], inputs: &Schema, outputs: &Schema) -> Value {
    let tensors = |s: &Schema| -> Vec<Value> {
        match s {
            Schema::Frame(fields) => fields
                .iter()
                .map(|f| json!({ "name": f.name, "datatype": datatype(f.type_), "shape": [-1] }))
                .collect(),
            _ => Vec::new(),
        }
    };
    json!({
        "name": name,
        "versions": versions,
        "platform": "mlops-host",
        "inputs": tensors(inputs),
        "outputs": tensors(outputs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64_field(name: &str) -> Field {
        Field {
            name: name.into(),
            type_: DataType::F64,
            required: true,
            nullable: true,
            description: String::new(),
        }
    }

    #[test]
    fn json_tensors_become_columns_converted_to_the_declared_type() {
        let body = br#"{"id": "7", "inputs": [
            {"name": "A", "shape": [2, 1], "datatype": "FP32", "data": [[1.5], [2.5]]},
            {"name": "B", "shape": [2], "datatype": "INT64", "data": [3, 4]}]}"#;
        let schema = Schema::Frame(vec![f64_field("A"), f64_field("B")]);
        let (frame, opts) = decode(body, None, &schema).expect("decode");
        assert_eq!(frame.columns[0].data, ColumnData::F64(vec![1.5, 2.5]));
        assert_eq!(frame.columns[1].data, ColumnData::F64(vec![3.0, 4.0]));
        assert_eq!(opts.id.as_deref(), Some("7"));
    }

    #[test]
    fn binary_tensors_follow_the_json_header() {
        let header = br#"{"inputs": [{"name": "A", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}}], "outputs": [{"name": "A", "parameters": {"binary_data": true}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&1.25f64.to_le_bytes());
        body.extend_from_slice(&(-2.0f64).to_le_bytes());
        let (frame, opts) = decode(&body, Some(header.len()), &Schema::Any).expect("decode");
        assert_eq!(frame.columns[0].data, ColumnData::F64(vec![1.25, -2.0]));
        let (out, json_len) = encode("m", "1", &Payload::Frame(frame), &opts).expect("encode");
        let json_len = json_len.expect("binary output");
        let doc: Value = serde_json::from_slice(&out[..json_len]).expect("JSON part");
        assert_eq!(doc["outputs"][0]["parameters"]["binary_data_size"], 16);
        assert_eq!(&out[json_len..json_len + 8], &1.25f64.to_le_bytes());
    }

    #[test]
    fn bad_tensors_are_named() {
        let schema = Schema::Frame(vec![f64_field("A"), f64_field("B")]);
        let err = |body: &str| decode(body.as_bytes(), None, &schema).expect_err("refused");
        assert!(err(r#"{"inputs": [{"name": "A", "shape": [2, 2], "datatype": "FP64", "data": [1,2,3,4]}]}"#).contains("shape [2, 2]"));
        assert!(
            err(r#"{"inputs": [{"name": "A", "shape": [3], "datatype": "FP64", "data": [1,2]}]}"#)
                .contains("has 2 values for shape [3]")
        );
        assert!(
            err(r#"{"inputs": [{"name": "A", "shape": [1], "datatype": "FP64", "data": [1]}]}"#)
                .contains("missing required input(s) B")
        );
        assert!(err(r#"{"inputs": [{"name": "A", "shape": [1], "datatype": "BYTES", "data": ["x"]}, {"name": "B", "shape": [1], "datatype": "FP64", "data": [1]}]}"#).contains("input `A` must be FP64"));
        assert!(err(r#"{"inputs": [{"name": "A", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "B", "shape": [2], "datatype": "FP64", "data": [1, 2]}]}"#).contains("inputs differ in length"));
    }
}
