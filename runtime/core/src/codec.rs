//! JSON ↔ payload: the request's `data` becomes a columnar frame (or a JSON
//! document) for the model, and the model's output becomes the response's
//! `prediction`.
//!
//! Columns are decoded straight from the request bytes into typed vectors
//! (no intermediate JSON tree): a numeric column becomes one `Vec<f64>` and
//! a validity bitmap, which cross into the guest as single copies.

use std::borrow::Cow;
use std::fmt;

use mlops_engine::{Column, ColumnData, DataType, Field, Frame, Payload, Schema};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Most columns one request may hold.
pub const MAX_COLUMNS: usize = 1024;
/// Most rows one column may hold.
pub const MAX_ROWS: usize = 10_000_000;
/// Longest string value (and column name), in bytes.
pub const MAX_STRING_BYTES: usize = 1 << 20;
/// Deepest JSON nesting accepted in a document passed to a model (the
/// envelope's `data` is captured without recursing, so it is checked here;
/// columns are never nested).
pub const MAX_JSON_DEPTH: usize = 128;

/// A call request: the seed's envelope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request<'a> {
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
    /// Write the prediction to a file and return its id.
    #[serde(default)]
    pub to_file: Option<bool>,
    /// The Python framework's name for `to_file`.
    #[serde(default)]
    pub return_file: Option<bool>,
    /// akerbp.mlops 4.1.0's body, `{"input": [...]}`: taken as
    /// `{"data": {"input": [...]}}` by a model that reads a JSON document
    /// (the framework passed the whole body to `predict`).
    #[serde(borrow, default)]
    pub input: Option<&'a RawValue>,
    /// Add the Python framework's `metadata` block (the service's external
    /// id, description, owner, status, code file and creation time) to
    /// the answer.
    #[serde(default)]
    pub metadata: Option<bool>,
}

impl Request<'_> {
    pub fn to_file(&self) -> bool {
        self.to_file.or(self.return_file).unwrap_or(false)
    }

    pub fn metadata(&self) -> bool {
        self.metadata.unwrap_or(false)
    }
}

/// A decoded call: the model's input and what the caller asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub input: Payload,
    pub to_file: bool,
    /// Add the Python framework's `metadata` block to the answer.
    pub metadata: bool,
}

/// Parses the envelope. The message of an error says what to send instead.
pub fn parse_request(body: &[u8]) -> Result<Request<'_>, String> {
    let request: Request<'_> = serde_json::from_slice(body).map_err(envelope_error)?;
    match (request.data, request.input) {
        (None, None) => Err(NO_DATA.into()),
        (Some(_), Some(_)) => Err(DATA_AND_INPUT.into()),
        _ => Ok(request),
    }
}

/// The request's document for a model whose inputs are `inputs`: its
/// `data`, or 4.1.0's `input` as `{"input": …}` (refused for a model that
/// reads columns: which column would it be?).
pub fn decode_document(request: &Request<'_>, inputs: &Schema) -> Result<Payload, String> {
    match (request.data, request.input) {
        (Some(_), Some(_)) => Err(DATA_AND_INPUT.into()),
        (Some(data), None) => decode_data(data, inputs),
        (None, Some(_)) if matches!(inputs, Schema::Frame(_)) => Err(INPUT_FOR_COLUMNS.into()),
        (None, Some(input)) => {
            let doc = RawValue::from_string(format!("{{\"input\":{}}}", input.get()))
                .map_err(|e| format!("`input` cannot be passed on: {e}"))?;
            decode_data(&doc, inputs)
        }
        (None, None) => Err(NO_DATA.into()),
    }
}

/// A keep-warm ping, as the Python framework's clients sent it: an empty
/// body, `{}` or `null` (or `{"metadata": true}`, a ping that asks for the
/// metadata block). The model is not called. Returns whether the metadata
/// block was asked for.
pub fn ping(body: &[u8]) -> Option<bool> {
    // A few byte comparisons for every other body (this runs on each call).
    let text = body.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Some(false);
    }
    let inner = text.strip_prefix(b"{")?.strip_suffix(b"}")?.trim_ascii();
    if inner.is_empty() {
        return Some(false);
    }
    if !inner.starts_with(b"\"metadata\"") || text.len() > 64 {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(text).ok()? {
        serde_json::Value::Null => Some(false),
        serde_json::Value::Object(map) => match map.iter().next() {
            None => Some(false),
            Some((key, serde_json::Value::Bool(b))) if map.len() == 1 && key == "metadata" => {
                Some(*b)
            }
            _ => None,
        },
        _ => None,
    }
}

const NO_DATA: &str = "the request has no `data`; send {\"data\": <columns or document>}";
const DATA_AND_INPUT: &str = "the request has both `data` and `input`; send {\"data\": <columns or document>} \
     (akerbp.mlops 4.1.0's {\"input\": [...]} alone is also taken, by models that read a JSON document)";
const INPUT_FOR_COLUMNS: &str = "`input` is akerbp.mlops 4.1.0's request shape, but this model reads named columns; \
     send {\"data\": {\"<column>\": [values...], ...}}";

/// What is wrong with an envelope that does not parse.
fn envelope_error(e: serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        format!("the body is not valid JSON: {e}")
    } else if e.to_string().contains("unknown field `public_key`") {
        "`public_key` (akerbp.mlops 4.1.0's encrypted predictions) is not supported: call the host over TLS \
         instead, and send {\"data\": <columns or document>, \"to_file\": <bool>}"
            .to_string()
    } else {
        format!("{e}; send {{\"data\": <columns or document>, \"to_file\": <bool>}}")
    }
}

/// Parses the envelope and decodes its `data` for a model whose inputs are
/// `inputs`; returns the input and the `to_file` flag. A frame is decoded
/// in the same pass as the envelope (a large request is read once); a JSON
/// document (or a model that takes anything) goes through
/// [`parse_request`] and [`decode_data`]. The errors are theirs.
pub fn decode_request(body: &[u8], inputs: &Schema) -> Result<Decoded, String> {
    let Schema::Frame(fields) = inputs else {
        let request = parse_request(body)?;
        return Ok(Decoded {
            input: decode_document(&request, inputs)?,
            to_file: request.to_file(),
            metadata: request.metadata(),
        });
    };
    let (in_data, saw_input) = (std::cell::Cell::new(false), std::cell::Cell::new(false));
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = EnvelopeSeed { declared: fields, in_data: &in_data, saw_input: &saw_input }
        .deserialize(&mut de)
        .and_then(|envelope| de.end().map(|()| envelope));
    let (frame, to_file, metadata) = parsed.map_err(|e| {
        // A column's error is the column's, unless the JSON itself is bad.
        if in_data.get() && !(e.is_syntax() || e.is_eof()) {
            strip_position(&e)
        } else if saw_input.get() {
            INPUT_FOR_COLUMNS.to_string()
        } else {
            envelope_error(e)
        }
    })?;
    let frame = frame.ok_or(NO_DATA)?;
    check_frame(&frame, fields)?;
    Ok(Decoded { input: Payload::Frame(frame), to_file, metadata })
}

/// The envelope with its `data` decoded as a frame: `(frame, to_file,
/// metadata)`.
/// Its keys are [`Request`]'s, as strictly.
struct EnvelopeSeed<'a> {
    declared: &'a [Field],
    /// Set while `data` is being decoded, so an error there is reported
    /// as the column's (not the envelope's).
    in_data: &'a std::cell::Cell<bool>,
    /// Set when the body has 4.1.0's `input`, which a frame cannot take.
    saw_input: &'a std::cell::Cell<bool>,
}

const ENVELOPE_KEYS: &[&str] = &["data", "to_file", "return_file", "input", "metadata"];

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = (Option<Frame>, bool, bool);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = (Option<Frame>, bool, bool);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Request")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut frame, mut to_file, mut return_file, mut metadata) = (None, None, None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "data" if frame.is_some() => return Err(de::Error::duplicate_field("data")),
                "data" => {
                    self.in_data.set(true);
                    frame = Some(map.next_value_seed(FrameSeed { declared: self.declared })?);
                    self.in_data.set(false);
                }
                "to_file" if to_file.is_some() => {
                    return Err(de::Error::duplicate_field("to_file"));
                }
                "to_file" => to_file = Some(map.next_value::<Option<bool>>()?),
                "return_file" if return_file.is_some() => {
                    return Err(de::Error::duplicate_field("return_file"));
                }
                "return_file" => return_file = Some(map.next_value::<Option<bool>>()?),
                "metadata" if metadata.is_some() => {
                    return Err(de::Error::duplicate_field("metadata"));
                }
                "metadata" => metadata = Some(map.next_value::<Option<bool>>()?),
                "input" => {
                    self.saw_input.set(true);
                    return Err(de::Error::custom(INPUT_FOR_COLUMNS));
                }
                other => return Err(de::Error::unknown_field(other, ENVELOPE_KEYS)),
            }
        }
        let to_file = to_file.flatten().or(return_file.flatten()).unwrap_or(false);
        Ok((frame, to_file, metadata.flatten().unwrap_or(false)))
    }
}

/// Turns the request's `data` into what the model reads, as its signature
/// says: a frame (columns checked against the declared ones) or a document.
pub fn decode_data(data: &RawValue, inputs: &Schema) -> Result<Payload, String> {
    match inputs {
        Schema::Json => {
            check_depth(data.get())?;
            Ok(Payload::Json(data.get().to_string()))
        }
        Schema::Frame(fields) => decode_frame(data, fields).map(Payload::Frame),
        Schema::Any => {
            // Named columns become a frame; anything else goes as a document.
            let text = data.get().trim_start();
            if text.starts_with('{')
                && let Ok(frame) = decode_frame(data, &[])
            {
                return Ok(Payload::Frame(frame));
            }
            check_depth(data.get())?;
            Ok(Payload::Json(data.get().to_string()))
        }
    }
}

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`] (it is valid JSON
/// already: only brackets outside strings count).
fn check_depth(text: &str) -> Result<(), String> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(format!(
                        "`data` nests deeper than {MAX_JSON_DEPTH} levels; flatten it"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn decode_frame(data: &RawValue, fields: &[Field]) -> Result<Frame, String> {
    let mut de = serde_json::Deserializer::from_str(data.get());
    let frame =
        FrameSeed { declared: fields }.deserialize(&mut de).map_err(|e| strip_position(&e))?;
    check_frame(&frame, fields)?;
    Ok(frame)
}

/// What a decoded frame must be for a model declaring `fields`: every
/// required column, columns of one length, no nulls where not nullable.
fn check_frame(frame: &Frame, fields: &[Field]) -> Result<(), String> {
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| f.required && !frame.columns.iter().any(|c| c.name == f.name))
        .map(|f| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        let needed: Vec<&str> =
            fields.iter().filter(|f| f.required).map(|f| f.name.as_str()).collect();
        return Err(format!(
            "missing required column{} {} (this model needs {})",
            if missing.len() > 1 { "s" } else { "" },
            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
            needed.join(", ")
        ));
    }
    if let Some(first) = frame.columns.first()
        && let Some(other) =
            frame.columns.iter().find(|c| data_len(&c.data) != data_len(&first.data))
    {
        return Err(format!(
            "columns differ in length: `{}` has {} rows, `{}` has {}",
            first.name,
            data_len(&first.data),
            other.name,
            data_len(&other.data)
        ));
    }
    for f in fields.iter().filter(|f| !f.nullable) {
        if let Some(c) = frame.columns.iter().find(|c| c.name == f.name && c.validity.is_some()) {
            return Err(format!("column `{}` has nulls, which this model does not accept", c.name));
        }
    }
    Ok(())
}

/// serde_json adds " at line 1 column 57"; our messages name the column.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.is_data()
        && let Some(i) = text.rfind(" at line ")
    {
        return text[..i].to_string();
    }
    text
}

pub fn data_len(d: &ColumnData) -> usize {
    match d {
        ColumnData::F64(v) => v.len(),
        ColumnData::S64(v) => v.len(),
        ColumnData::String(v) => v.len(),
        ColumnData::Bool(v) => v.len(),
    }
}

struct FrameSeed<'a> {
    /// A handful of fields: a linear search beats hashing.
    declared: &'a [Field],
}

impl<'de> DeserializeSeed<'de> for FrameSeed<'_> {
    type Value = Frame;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Frame, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FrameSeed<'_> {
    type Value = Frame;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "`data` as an object of named columns, e.g. {\"ACS\": [1.0, 2.0], \"DEN\": [2.3, 2.4]}",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frame, A::Error> {
        let mut columns: Vec<Column> = Vec::new();
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            if columns.len() == MAX_COLUMNS {
                return Err(de::Error::custom(format!(
                    "more than {MAX_COLUMNS} columns; send fewer per call"
                )));
            }
            if name.len() > 256 {
                return Err(de::Error::custom(format!(
                    "a column name of {} bytes (the limit is 256)",
                    name.len()
                )));
            }
            if columns.iter().any(|c| c.name == name) {
                return Err(de::Error::custom(format!("column `{name}` appears twice")));
            }
            let ty = self.declared.iter().find(|f| f.name == name).map(|f| f.type_);
            let (data, validity) = map.next_value_seed(ColumnSeed { name: &name, ty })?;
            columns.push(Column { name: name.into_owned(), data, validity });
        }
        Ok(Frame { columns })
    }
}

struct ColumnSeed<'a> {
    name: &'a str,
    /// Declared type; `None` infers it from the values.
    ty: Option<DataType>,
}

type DecodedColumn = (ColumnData, Option<Vec<u8>>);

impl<'de> DeserializeSeed<'de> for ColumnSeed<'_> {
    type Value = DecodedColumn;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DecodedColumn, D::Error> {
        d.deserialize_seq(self)
    }
}

/// One value of a column.
enum Cell {
    Null,
    Number(f64),
    Int(i64),
    Str(String),
    Bool(bool),
}

impl Cell {
    fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "null",
            Cell::Number(_) | Cell::Int(_) => "a number",
            Cell::Str(_) => "a string",
            Cell::Bool(_) => "a boolean",
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cell;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, string, boolean or null")
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell, E> {
                Ok(i64::try_from(v).map_or(Cell::Number(v as f64), Cell::Int))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell, E> {
                check_string(v)?;
                Ok(Cell::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Cell, E> {
                check_string(&v)?;
                Ok(Cell::Str(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
                Ok(Cell::Bool(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Cell, A::Error> {
                Err(de::Error::custom(
                    "a list inside a column (columns hold numbers, strings, booleans or null)",
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Cell, A::Error> {
                Err(de::Error::custom(
                    "an object inside a column (columns hold numbers, strings, booleans or null)",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

fn check_string<E: de::Error>(v: &str) -> Result<(), E> {
    if v.len() > MAX_STRING_BYTES {
        return Err(E::custom(format!(
            "a string of {} bytes (the limit is {} MiB per value)",
            v.len(),
            MAX_STRING_BYTES >> 20
        )));
    }
    Ok(())
}

/// Builds a column's values and validity bitmap.
struct Builder {
    data: ColumnData,
    validity: Vec<u8>,
    rows: usize,
    nulls: usize,
}

impl Builder {
    fn new(ty: DataType, capacity: usize) -> Self {
        let data = match ty {
            DataType::F64 => ColumnData::F64(Vec::with_capacity(capacity)),
            DataType::S64 => ColumnData::S64(Vec::with_capacity(capacity)),
            DataType::String => ColumnData::String(Vec::with_capacity(capacity)),
            DataType::Bool => ColumnData::Bool(Vec::with_capacity(capacity)),
        };
        Builder { data, validity: Vec::with_capacity(capacity.div_ceil(8)), rows: 0, nulls: 0 }
    }

    fn mark(&mut self, present: bool) {
        if self.rows.is_multiple_of(8) {
            self.validity.push(0);
        }
        if present {
            if let Some(last) = self.validity.last_mut() {
                *last |= 1 << (self.rows % 8);
            }
        } else {
            self.nulls += 1;
        }
        self.rows += 1;
    }

    /// Adds a cell; `Err` names what was expected instead.
    fn push(&mut self, cell: Cell) -> Result<(), &'static str> {
        let present = !matches!(cell, Cell::Null);
        match (&mut self.data, cell) {
            (ColumnData::F64(v), Cell::Number(x)) => v.push(x),
            (ColumnData::F64(v), Cell::Int(x)) => v.push(x as f64),
            (ColumnData::F64(v), Cell::Null) => v.push(0.0),
            (ColumnData::S64(v), Cell::Int(x)) => v.push(x),
            (ColumnData::S64(v), Cell::Number(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                v.push(x as i64)
            }
            (ColumnData::S64(v), Cell::Null) => v.push(0),
            (ColumnData::String(v), Cell::Str(s)) => v.push(s),
            (ColumnData::String(v), Cell::Null) => v.push(String::new()),
            (ColumnData::Bool(v), Cell::Bool(b)) => v.push(b),
            (ColumnData::Bool(v), Cell::Null) => v.push(false),
            (ColumnData::F64(_), _) => return Err("a number or null"),
            (ColumnData::S64(_), _) => return Err("an integer or null"),
            (ColumnData::String(_), _) => return Err("a string or null"),
            (ColumnData::Bool(_), _) => return Err("true, false or null"),
        }
        self.mark(present);
        Ok(())
    }

    fn finish(self) -> DecodedColumn {
        let validity = (self.nulls > 0).then_some(self.validity);
        (self.data, validity)
    }
}

fn infer(cell: &Cell) -> Option<DataType> {
    match cell {
        Cell::Null => None,
        Cell::Number(_) | Cell::Int(_) => Some(DataType::F64),
        Cell::Str(_) => Some(DataType::String),
        Cell::Bool(_) => Some(DataType::Bool),
    }
}

impl<'de> Visitor<'de> for ColumnSeed<'_> {
    type Value = DecodedColumn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column `{}` as a list of values", self.name)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DecodedColumn, A::Error> {
        let name = self.name;
        let capacity = seq.size_hint().unwrap_or(0).min(1 << 20);
        let mut leading_nulls = 0usize;
        let mut builder = self.ty.map(|ty| Builder::new(ty, capacity));
        let mut row = 0usize;
        loop {
            let cell = seq.next_element::<Cell>().map_err(|e| {
                de::Error::custom(format!(
                    "column `{name}` row {row}: {}",
                    strip_position(&e_to_json(e))
                ))
            })?;
            let Some(cell) = cell else { break };
            if row == MAX_ROWS {
                return Err(de::Error::custom(format!(
                    "column `{name}` has more than {MAX_ROWS} rows; split the call"
                )));
            }
            if builder.is_none() {
                match infer(&cell) {
                    None => {
                        leading_nulls += 1;
                        row += 1;
                        continue;
                    }
                    Some(ty) => {
                        let mut b = Builder::new(ty, capacity);
                        for _ in 0..leading_nulls {
                            let _ = b.push(Cell::Null);
                        }
                        builder = Some(b);
                    }
                }
            }
            if let Some(b) = builder.as_mut() {
                let kind = cell.kind();
                b.push(cell).map_err(|want| {
                    de::Error::custom(format!(
                        "column `{name}` row {row}: expected {want}, got {kind}"
                    ))
                })?;
            }
            row += 1;
        }
        let mut builder = builder.unwrap_or_else(|| {
            // Every value null: a numeric column of missing values.
            let mut b = Builder::new(DataType::F64, leading_nulls);
            for _ in 0..leading_nulls {
                let _ = b.push(Cell::Null);
            }
            b
        });
        if builder.rows == 0 {
            builder.validity.clear();
        }
        Ok(builder.finish())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<DecodedColumn, A::Error> {
        Err(de::Error::custom(format!(
            "column `{}` is an object; a column is a list of values (one per row)",
            self.name
        )))
    }
}

/// Error messages of nested deserializers arrive as `A::Error`; this keeps
/// their text.
fn e_to_json<E: fmt::Display>(e: E) -> serde_json::Error {
    de::Error::custom(e.to_string())
}

/// A model's output as the response's `prediction`: a frame as an object of
/// columns (missing rows as `null`), a document as itself.
pub struct PredictionJson<'a>(pub &'a Payload);

impl Serialize for PredictionJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Payload::Frame(frame) => {
                let mut map = s.serialize_map(Some(frame.columns.len()))?;
                for column in &frame.columns {
                    map.serialize_entry(&column.name, &ColumnJson(column))?;
                }
                map.end()
            }
            Payload::Json(text) => {
                let raw: &RawValue = serde_json::from_str(text).map_err(|e| {
                    serde::ser::Error::custom(format!("the model returned invalid JSON: {e}"))
                })?;
                raw.serialize(s)
            }
        }
    }
}

struct ColumnJson<'a>(&'a Column);

impl Serialize for ColumnJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let valid = |row: usize| match &c.validity {
            None => true,
            Some(bits) => bits.get(row / 8).is_some_and(|b| b & (1 << (row % 8)) != 0),
        };
        let mut seq = s.serialize_seq(Some(data_len(&c.data)))?;
        macro_rules! each {
            ($values:expr) => {
                for (row, v) in $values.iter().enumerate() {
                    if valid(row) { seq.serialize_element(v)? } else { seq.serialize_element(&())? }
                }
            };
        }
        match &c.data {
            ColumnData::F64(v) => each!(v),
            ColumnData::S64(v) => each!(v),
            ColumnData::String(v) => each!(v),
            ColumnData::Bool(v) => each!(v),
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests;
