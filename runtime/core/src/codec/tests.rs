use super::*;

fn well_log_inputs() -> Schema {
    let field = |name: &str| Field {
        name: name.into(),
        type_: DataType::F64,
        required: true,
        nullable: true,
        description: String::new(),
    };
    Schema::Frame(vec![field("ACS"), field("RDEP"), field("DEN")])
}

/// Decodes a body both ways, in one pass (`decode_request`, what calls
/// use) and in two (`parse_request` then `decode_data`), and checks that
/// they agree, errors included.
fn decode(body: &str, inputs: &Schema) -> Result<Payload, String> {
    let two_pass =
        parse_request(body.as_bytes()).and_then(|request| decode_document(&request, inputs));
    let one_pass = decode_request(body.as_bytes(), inputs).map(|decoded| decoded.input);
    assert_eq!(one_pass, two_pass, "one pass and two disagree on {body}");
    one_pass
}

fn frame(p: Payload) -> Frame {
    match p {
        Payload::Frame(f) => f,
        Payload::Json(j) => panic!("expected a frame, got {j}"),
    }
}

#[test]
fn columns_decode_to_typed_vectors_with_validity() {
    let body =
        r#"{"data": {"ACS": [1, 2.5, 3], "RDEP": [1.0, 2.0, 3.0], "DEN": [2.3, null, 2.4]}}"#;
    let f = frame(decode(body, &well_log_inputs()).expect("valid"));
    assert_eq!(f.columns[0].data, ColumnData::F64(vec![1.0, 2.5, 3.0]));
    assert_eq!(f.columns[0].validity, None);
    assert_eq!(f.columns[2].data, ColumnData::F64(vec![2.3, 0.0, 2.4]));
    assert_eq!(f.columns[2].validity, Some(vec![0b101]));
}

#[test]
fn a_missing_required_column_is_named() {
    let body = r#"{"data": {"ACS": [1], "DEN": [2]}}"#;
    assert_eq!(
        decode(body, &well_log_inputs()).expect_err("missing"),
        "missing required column `RDEP` (this model needs ACS, RDEP, DEN)"
    );
}

#[test]
fn a_wrong_type_is_named_with_column_and_row() {
    let body = r#"{"data": {"ACS": [1, 2], "RDEP": [1, "high"], "DEN": [2, 2]}}"#;
    assert_eq!(
        decode(body, &well_log_inputs()).expect_err("mistyped"),
        "column `RDEP` row 1: expected a number or null, got a string"
    );
    let nested = r#"{"data": {"ACS": [[1]], "RDEP": [1], "DEN": [2]}}"#;
    let err = decode(nested, &well_log_inputs()).expect_err("nested");
    assert!(err.starts_with("column `ACS` row 0: a list inside a column"), "{err}");
}

#[test]
fn shape_errors_say_what_to_send() {
    let err = decode(r#"{"data": [1, 2, 3]}"#, &well_log_inputs()).expect_err("not an object");
    assert!(err.contains("expected `data` as an object of named columns"), "{err}");
    let err = decode(r#"{"data": {"ACS": 1}}"#, &well_log_inputs()).expect_err("not a list");
    assert!(err.contains("expected column `ACS` as a list of values"), "{err}");
    let err = decode(r#"{"data": {"ACS": [1], "RDEP": [1, 2], "DEN": [1]}}"#, &well_log_inputs())
        .expect_err("ragged");
    assert_eq!(err, "columns differ in length: `ACS` has 1 rows, `RDEP` has 2");
    let err = decode(r#"{"data": {"ACS": [1], "ACS": [2]}}"#, &Schema::Any).map(|_| ());
    assert!(err.is_ok(), "Any falls back to a document for odd shapes");
    let err = decode(
        r#"{"data": {"ACS": [1], "ACS": [2], "RDEP": [1], "DEN": [1]}}"#,
        &well_log_inputs(),
    )
    .expect_err("duplicate");
    assert!(err.contains("column `ACS` appears twice"), "{err}");
}

#[test]
fn the_envelope_is_strict_and_accepts_the_old_flag() {
    assert!(parse_request(b"{\"data\": {}, \"return_file\": true}").expect("ok").to_file());
    assert!(!parse_request(b"{\"data\": {}}").expect("ok").to_file());
    let err = parse_request(b"{\"data\": {}, \"to_flie\": true}").expect_err("typo");
    assert!(err.contains("unknown field `to_flie`"), "{err}");
    let err = parse_request(b"{\"to_file\": true}").expect_err("no data");
    assert!(err.contains("has no `data`"), "{err}");
    let err = parse_request(b"{\"data\": ").expect_err("truncated");
    assert!(err.starts_with("the body is not valid JSON"), "{err}");

    // The one-pass decoder of frames, likewise.
    let frame = &well_log_inputs();
    let body = br#"{"data": {"ACS": [1], "RDEP": [1], "DEN": [1]}, "return_file": true}"#;
    assert!(decode_request(body, frame).expect("ok").to_file);
    let body = br#"{"to_file": false, "data": {"ACS": [1], "RDEP": [1], "DEN": [1]}}"#;
    assert!(!decode_request(body, frame).expect("ok").to_file);
    let err = decode_request(b"{\"data\": {}, \"to_flie\": true}", frame).expect_err("typo");
    assert!(err.contains("unknown field `to_flie`") && err.contains("; send {"), "{err}");
    let err = decode_request(b"{\"to_file\": true}", frame).expect_err("no data");
    assert!(err.contains("has no `data`"), "{err}");
    let err = decode_request(b"{\"data\": ", frame).expect_err("truncated");
    assert!(err.starts_with("the body is not valid JSON"), "{err}");
    let body = br#"{"data": {"ACS": [1], "RDEP": [1], "DEN": [1]}} trailing"#;
    let err = decode_request(body, frame).expect_err("trailing bytes");
    assert!(err.starts_with("the body is not valid JSON"), "{err}");
    let body = br#"{"data": {"ACS": [1], "RDEP": [1], "DEN": [1]}, "data": {}}"#;
    let err = decode_request(body, frame).expect_err("data twice");
    assert!(err.contains("duplicate field `data`"), "{err}");
    let err = decode_request(b"[1]", frame).expect_err("not an object");
    assert!(err.contains("expected struct Request"), "{err}");
    let err = decode_request(br#"{"data": {"ACS": ["x"]}}"#, frame).expect_err("bad cell");
    assert!(!err.contains("; send {") && !err.contains(" at line "), "a column's error: {err}");
}

#[test]
fn undeclared_columns_are_inferred() {
    let body =
        r#"{"data": {"x": [null, 1, 2], "name": ["a", "b", null], "flag": [true, false, true]}}"#;
    let f = frame(decode(body, &Schema::Any).expect("valid"));
    assert_eq!(f.columns[0].data, ColumnData::F64(vec![0.0, 1.0, 2.0]));
    assert_eq!(f.columns[0].validity, Some(vec![0b110]));
    assert_eq!(f.columns[1].data, ColumnData::String(vec!["a".into(), "b".into(), String::new()]));
    assert_eq!(f.columns[2].data, ColumnData::Bool(vec![true, false, true]));
}

#[test]
fn json_models_get_the_document_verbatim() {
    let body = r#"{"data": {"input": [{"well": "A"}]}}"#;
    match decode(body, &Schema::Json).expect("valid") {
        Payload::Json(text) => assert_eq!(text, r#"{"input": [{"well": "A"}]}"#),
        Payload::Frame(_) => panic!("expected a document"),
    }
}

#[test]
fn predictions_encode_missing_rows_as_null() {
    let out = Payload::Frame(Frame {
        columns: vec![Column {
            name: "AC".into(),
            data: ColumnData::F64(vec![1.5, 0.0, 2.0]),
            validity: Some(vec![0b101]),
        }],
    });
    assert_eq!(
        serde_json::to_string(&PredictionJson(&out)).expect("json"),
        r#"{"AC":[1.5,null,2.0]}"#
    );
    let doc = Payload::Json(r#"{"ok": [1]}"#.into());
    assert_eq!(serde_json::to_string(&PredictionJson(&doc)).expect("json"), r#"{"ok": [1]}"#);
    let bad = Payload::Json("{not json".into());
    assert!(serde_json::to_string(&PredictionJson(&bad)).is_err());
}

#[test]
fn the_python_frameworks_request_shapes_are_taken_where_they_are_unambiguous() {
    // Keep-warm pings: the model is not called.
    for body in ["", "  \n", "{}", " { } ", "null"] {
        assert_eq!(ping(body.as_bytes()), Some(false), "{body:?}");
    }
    assert_eq!(ping(br#"{"metadata": true}"#), Some(true));
    for body in [r#"{"data": {}}"#, "[]", "1", r#"{"metadata": 1}"#, r#"{"x": true}"#] {
        assert_eq!(ping(body.as_bytes()), None, "{body}");
    }
    // 4.1.0's {"input": [...]}: the document a model that reads JSON gets.
    let body = r#"{"input": [{"well": "15/9-F-11", "input_logs": {"DEPTH": [1.0]}}], "return_file": false}"#;
    let Payload::Json(doc) = decode(body, &Schema::Json).expect("taken") else {
        panic!("a document")
    };
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("JSON");
    assert_eq!(doc["input"][0]["well"], "15/9-F-11");
    assert_eq!(doc.as_object().expect("object").len(), 1, "only `input`: {doc}");
    let decoded = decode_request(body.as_bytes(), &Schema::Any).expect("any");
    assert!(matches!(decoded.input, Payload::Json(_)) && !decoded.to_file);
    // ...but not by a model that reads columns, and not beside `data`.
    let err = decode(r#"{"input": [1]}"#, &well_log_inputs()).expect_err("columns");
    assert!(err.contains("send {\"data\": {\"<column>\""), "{err}");
    let err = decode(r#"{"input": [1], "data": {}}"#, &Schema::Json).expect_err("both");
    assert!(err.contains("both `data` and `input`"), "{err}");
    // The metadata block is asked for in either decoder.
    let cols = r#"{"data": {"ACS": [1], "RDEP": [1], "DEN": [1]}, "metadata": true}"#;
    assert!(decode_request(cols.as_bytes(), &well_log_inputs()).expect("frame").metadata);
    assert!(
        decode_request(br#"{"data": 1, "metadata": true}"#, &Schema::Json).expect("doc").metadata
    );
    // What else old clients send is refused with the new shape named.
    let err =
        decode(r#"{"data": {}, "public_key": "-----BEGIN"}"#, &Schema::Json).expect_err("key");
    assert!(err.contains("not supported") && err.contains("send {\"data\""), "{err}");
    let err = decode(r#"{"inputs": []}"#, &Schema::Json).expect_err("typo");
    assert!(err.contains("unknown field `inputs`") && err.contains("send {\"data\""), "{err}");
}
