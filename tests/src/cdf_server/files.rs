//! Files: create (with upload URLs, multipart too), by ids, list with
//! filters, update, delete, download links, and the pre-signed transfers.

use super::*;

/// Checks a metadata object against CDF's limits.
pub(super) fn check_metadata(m: &Value) -> Result<(), Reply> {
    let Some(map) = m.as_object() else { return Err(bad("metadata must be an object of strings")) };
    if map.len() > 256 {
        return Err(bad("metadata: at most 256 key-value pairs"));
    }
    let mut total = 0;
    for (k, v) in map {
        let Some(v) = v.as_str() else {
            return Err(bad(format!("metadata.{k}: values must be strings")));
        };
        if k.len() > 128 || v.len() > 10_240 {
            return Err(bad(format!("metadata.{k}: key ≤ 128 bytes, value ≤ 10240 bytes")));
        }
        total += k.len() + v.len();
    }
    if total > 10_240 {
        return Err(bad("metadata: total size must be ≤ 10240 bytes"));
    }
    Ok(())
}

pub(super) const FILE_FIELDS: [(&str, usize); 5] =
    [("name", 256), ("externalId", 255), ("directory", 512), ("source", 128), ("mimeType", 256)];

pub(super) fn check_file_fields(body: &Map<String, Value>) -> Result<(), Reply> {
    for (field, max) in FILE_FIELDS {
        if let Some(v) = body.get(field) {
            let Some(s) = v.as_str() else { return Err(bad(format!("{field} must be a string"))) };
            if s.chars().count() > max {
                return Err(bad(format!("{field} size must be between 0 and {max}")));
            }
        }
    }
    if let Some(m) = body.get("metadata") {
        check_metadata(m)?;
    }
    Ok(())
}

pub(super) fn check_data_set(data: &Data, body: &Map<String, Value>) -> Result<(), Reply> {
    let Some(ds) = body.get("dataSetId") else { return Ok(()) };
    let Some(id) = ds.as_i64() else { return Err(bad("dataSetId must be an integer")) };
    match data.data_sets.get(&id) {
        None => Err(reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": { "code": 400, "message": "Data sets not found", "missing": [{ "id": id }] } }),
        )),
        Some(d) if d["writeProtected"] == json!(true) => Err(api_error(
            StatusCode::FORBIDDEN,
            "Resource not found. This may also be due to insufficient access rights.",
        )),
        Some(_) => Ok(()),
    }
}

/// Adds where to send the bytes to a file's JSON: one `uploadUrl`, or for
/// a multipart upload of `parts` parts an `uploadId` and `uploadUrls`.
pub(super) fn add_upload_urls(
    state: &State,
    data: &mut Data,
    id: i64,
    parts: Option<usize>,
    out: &mut Value,
) {
    let Some(n) = parts else {
        out["uploadUrl"] = json!(transfer_url(state, data, Transfer::Whole(id)));
        return;
    };
    let upload_id = token();
    let urls: Vec<String> = (0..n)
        .map(|i| {
            transfer_url(
                state,
                data,
                Transfer::Part { file: id, upload_id: upload_id.clone(), n: i },
            )
        })
        .collect();
    if let Some(f) = data.files.get_mut(&id) {
        f.multipart = Some((upload_id.clone(), vec![None; n]));
    }
    out["uploadId"] = json!(upload_id);
    out["uploadUrls"] = json!(urls);
}

pub(super) fn transfer_url(state: &State, data: &mut Data, t: Transfer) -> String {
    let key = token();
    data.transfers.insert(key.clone(), t);
    format!("http://{}/transfer/{key}?signature={}", state.addr, token())
}

pub(super) fn parts_param(q: &HashMap<String, String>) -> Result<usize, Reply> {
    match q.get("parts").and_then(|p| p.parse::<usize>().ok()) {
        Some(n) if (1..=250).contains(&n) => Ok(n),
        _ => Err(bad("parts must be given, between 1 and 250")),
    }
}

pub(super) fn create_file(
    state: &State,
    data: &mut Data,
    q: &HashMap<String, String>,
    body: Value,
    multipart: bool,
) -> Answer {
    let Value::Object(mut fields) = body else { return Err(bad("the body must be a file object")) };
    if fields.contains_key("items") {
        return Err(bad("Unrecognized field \"items\": send the file object itself"));
    }
    match fields.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => {}
        _ => return Err(bad("name may not be null or empty")),
    }
    check_file_fields(&fields)?;
    check_data_set(data, &fields)?;
    let parts = if multipart { Some(parts_param(q)?) } else { None };
    let overwrite = q.get("overwrite").is_some_and(|v| v == "true");
    let existing = fields
        .get("externalId")
        .and_then(Value::as_str)
        .and_then(|x| data.files.values().find(|f| f.external_id() == Some(x)).map(|f| f.id));
    let now = now_ms();
    let id = match existing {
        Some(id) if !overwrite => {
            let x = data.files[&id].external_id().unwrap_or_default().to_string();
            return Err(reply(
                StatusCode::CONFLICT,
                &json!({ "error": { "code": 409, "message": "Duplicate external ids", "duplicated": [{ "externalId": x }] } }),
            ));
        }
        Some(id) => {
            // Overwrite: the same file; given fields replace the old ones;
            // the content changes only when the new bytes arrive.
            let f = data.files.get_mut(&id).ok_or_else(|| bad("gone"))?;
            for (k, v) in std::mem::take(&mut fields) {
                f.fields.insert(k, v);
            }
            f.updated = now;
            id
        }
        None => {
            data.next_id += 1;
            let id = data.next_id;
            let rec = FileRec {
                fields: std::mem::take(&mut fields),
                id,
                created: now,
                updated: now,
                content: None,
                uploaded_at: None,
                uploaded_time: None,
                multipart: None,
            };
            data.files.insert(id, rec);
            id
        }
    };
    let mut out = data.files[&id].to_json();
    add_upload_urls(state, data, id, parts, &mut out);
    Ok(reply(StatusCode::CREATED, &out))
}

/// Resolves `{"id"}` / `{"externalId"}` items to file ids; unknown ones
/// are listed.
pub(super) fn resolve(data: &Data, items: &[Value]) -> Resolved {
    resolve_items(
        items,
        |id| data.files.contains_key(&id),
        |x| data.files.values().find(|f| f.external_id() == Some(x)).map(|f| f.id),
    )
}

pub(super) fn complete_multipart(state: &State, data: &mut Data, body: &Value) -> Answer {
    let item = json!([body]);
    let (ids, unknown) = resolve(data, item.as_array().map(Vec::as_slice).unwrap_or_default())?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let id = ids[0].ok_or_else(|| bad("no file"))?;
    let upload_id = body.get("uploadId").and_then(Value::as_str).unwrap_or_default();
    let f = data.files.get_mut(&id).ok_or_else(|| bad("no file"))?;
    let Some((open, parts)) = &f.multipart else {
        return Err(bad("the file has no multipart upload in progress"));
    };
    if open != upload_id {
        return Err(bad("uploadId does not match the file's multipart upload"));
    }
    if parts.iter().any(Option::is_none) {
        return Err(bad("not all parts have been uploaded"));
    }
    let whole: Vec<u8> = parts.iter().flatten().flat_map(|p| p.iter().copied()).collect();
    f.multipart = None;
    arrived(state, f, Bytes::from(whole));
    Ok(reply(StatusCode::OK, &json!({})))
}

/// New content for a file: visible now, marked uploaded after the delay.
pub(super) fn arrived(state: &State, f: &mut FileRec, content: Bytes) {
    f.content = Some(content);
    f.uploaded_at = Some(Instant::now() + state.config.uploaded_delay);
    f.uploaded_time = Some(now_ms() + state.config.uploaded_delay.as_millis() as i64);
    f.updated = now_ms();
}

pub(super) fn upload_link(
    state: &State,
    data: &mut Data,
    q: &HashMap<String, String>,
    body: &Value,
    multi: bool,
) -> Answer {
    let items = items_of(body, 1)?;
    let (ids, unknown) = resolve(data, items)?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let id = ids[0].ok_or_else(|| bad("no file"))?;
    let mut out = data.files[&id].to_json();
    let parts = if multi { Some(parts_param(q)?) } else { None };
    add_upload_urls(state, data, id, parts, &mut out);
    Ok(reply(StatusCode::CREATED, &json!({ "items": [out] })))
}

pub(super) fn files_by_ids(data: &Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?;
    let (ids, unknown) = resolve(data, items)?;
    if !unknown.is_empty() && !ignore_unknown(body) {
        return Err(missing(unknown));
    }
    let out: Vec<Value> = ids.into_iter().flatten().map(|id| data.files[&id].to_json()).collect();
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

pub(super) fn range_ok(v: i64, r: &Value) -> bool {
    r.get("min").and_then(Value::as_i64).is_none_or(|m| v >= m)
        && r.get("max").and_then(Value::as_i64).is_none_or(|m| v <= m)
}

pub(super) fn list_files(data: &Data, body: &Value) -> Answer {
    let filter = body.get("filter").cloned().unwrap_or(json!({}));
    let Some(fm) = filter.as_object() else { return Err(bad("filter must be an object")) };
    const KNOWN: [&str; 11] = [
        "name",
        "directoryPrefix",
        "mimeType",
        "metadata",
        "dataSetIds",
        "source",
        "externalIdPrefix",
        "uploaded",
        "createdTime",
        "lastUpdatedTime",
        "uploadedTime",
    ];
    if let Some(k) = fm.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("Unrecognized filter field {k}")));
    }
    let s = |f: &FileRec, k: &str| f.fields.get(k).and_then(Value::as_str).map(str::to_string);
    let all: Vec<Value> = data
        .files
        .values()
        .filter(|f| {
            let eq = |k: &str| {
                fm.get(k)
                    .and_then(Value::as_str)
                    .is_none_or(|want| s(f, k).as_deref() == Some(want))
            };
            let prefix = |k: &str, field: &str| {
                fm.get(k)
                    .and_then(Value::as_str)
                    .is_none_or(|p| s(f, field).is_some_and(|v| v.starts_with(p)))
            };
            let meta = fm.get("metadata").and_then(Value::as_object).is_none_or(|want| {
                want.iter().all(|(k, v)| f.fields.get("metadata").and_then(|m| m.get(k)) == Some(v))
            });
            let sets = fm.get("dataSetIds").and_then(Value::as_array).is_none_or(|sets| {
                sets.iter().any(|d| {
                    let id = d.get("id").and_then(Value::as_i64).or_else(|| {
                        let x = d.get("externalId")?.as_str()?;
                        data.data_sets
                            .values()
                            .find(|ds| ds["externalId"] == json!(x))
                            .and_then(|ds| ds["id"].as_i64())
                    });
                    id.is_some() && f.fields.get("dataSetId").and_then(Value::as_i64) == id
                })
            });
            let uploaded =
                fm.get("uploaded").and_then(Value::as_bool).is_none_or(|u| f.uploaded() == u);
            let times = fm.get("createdTime").is_none_or(|r| range_ok(f.created, r))
                && fm.get("lastUpdatedTime").is_none_or(|r| range_ok(f.updated, r))
                && fm
                    .get("uploadedTime")
                    .is_none_or(|r| f.uploaded_time.is_some_and(|t| range_ok(t, r)));
            eq("name")
                && eq("mimeType")
                && eq("source")
                && prefix("externalIdPrefix", "externalId")
                && prefix("directoryPrefix", "directory")
                && meta
                && sets
                && uploaded
                && times
        })
        .map(FileRec::to_json)
        .collect();
    page(all, body)
}

pub(super) fn update_files(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?.clone();
    let (ids, unknown) = resolve(data, &items)?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let mut out = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let id = id.ok_or_else(|| bad("no file"))?;
        let Some(update) = item.get("update").and_then(Value::as_object) else {
            return Err(bad("each item needs an `update`"));
        };
        if update.contains_key("name") {
            return Err(bad("name cannot be updated"));
        }
        let f = data.files.get_mut(&id).ok_or_else(|| bad("no file"))?;
        let mut fields = f.fields.clone();
        for (field, op) in update {
            if field == "metadata" {
                let mut m =
                    fields.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(set) = op.get("set") {
                    m = set
                        .as_object()
                        .cloned()
                        .ok_or_else(|| bad("metadata.set must be an object"))?;
                }
                for (k, v) in op.get("add").and_then(Value::as_object).cloned().unwrap_or_default()
                {
                    m.insert(k, v);
                }
                for k in op.get("remove").and_then(Value::as_array).cloned().unwrap_or_default() {
                    m.remove(k.as_str().unwrap_or_default());
                }
                fields.insert("metadata".into(), Value::Object(m));
            } else if let Some(v) = op.get("set") {
                fields.insert(field.clone(), v.clone());
            } else if op.get("setNull") == Some(&json!(true)) {
                fields.remove(field);
            } else {
                return Err(bad(format!("unknown update operation on {field}")));
            }
        }
        check_file_fields(&fields)?;
        f.fields = fields;
        f.updated = now_ms();
        out.push(f.to_json());
    }
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

pub(super) fn delete_files(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?;
    let (ids, unknown) = resolve(data, items)?;
    if !unknown.is_empty() && !ignore_unknown(body) {
        return Err(missing(unknown));
    }
    for id in ids.into_iter().flatten() {
        data.files.remove(&id);
    }
    Ok(reply(StatusCode::OK, &json!({})))
}

pub(super) fn download_links(
    state: &State,
    data: &mut Data,
    q: &HashMap<String, String>,
    body: &Value,
) -> Answer {
    let items = items_of(body, 100)?.clone();
    let (ids, unknown) = resolve(data, &items)?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let ttl = if q.get("extendedExpiration").is_some_and(|v| v == "true") { 3600 } else { 30 };
    let mut out = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let id = id.ok_or_else(|| bad("no file"))?;
        if !data.files[&id].uploaded() {
            return Err(bad(format!("File {id} has not been uploaded yet")));
        }
        let url = transfer_url(
            state,
            data,
            Transfer::Download { file: id, until: Instant::now() + Duration::from_secs(ttl) },
        );
        let mut link = item.clone();
        link["downloadUrl"] = json!(url);
        out.push(link);
    }
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

pub(super) async fn transfer(state: &State, req: Request<Incoming>, key: &str) -> Reply {
    let t = state.data.lock().expect("lock").transfers.get(key).cloned();
    let Some(t) = t else {
        return text(StatusCode::FORBIDDEN, "AccessDenied: unknown or expired URL");
    };
    let method = req.method().clone();
    match (method, t) {
        (Method::GET, Transfer::Download { file, until }) => {
            if Instant::now() > until {
                return text(StatusCode::FORBIDDEN, "AccessDenied: the URL has expired");
            }
            let data = state.data.lock().expect("lock");
            match data.files.get(&file) {
                Some(FileRec { content: Some(c), fields, .. }) => {
                    let mut r = Response::new(Full::new(c.clone()));
                    if let Some(Ok(v)) = fields
                        .get("mimeType")
                        .and_then(Value::as_str)
                        .map(hyper::header::HeaderValue::from_str)
                    {
                        r.headers_mut().insert("content-type", v);
                    }
                    r
                }
                _ => text(StatusCode::NOT_FOUND, "NoSuchKey"),
            }
        }
        (Method::PUT, t @ (Transfer::Whole(_) | Transfer::Part { .. })) => {
            let declared = req
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            let Some(declared) = declared else {
                return text(
                    StatusCode::LENGTH_REQUIRED,
                    "MissingContentLength: chunked uploads are not accepted",
                );
            };
            let bytes = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return text(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            if bytes.len() != declared {
                return text(StatusCode::BAD_REQUEST, "IncompleteBody");
            }
            let mut data = state.data.lock().expect("lock");
            match t {
                Transfer::Whole(id) => match data.files.get_mut(&id) {
                    Some(f) => {
                        arrived(state, f, bytes);
                        text(StatusCode::OK, "")
                    }
                    None => text(StatusCode::NOT_FOUND, "NoSuchUpload"),
                },
                Transfer::Part { file, upload_id, n } => {
                    let Some(f) = data.files.get_mut(&file) else {
                        return text(StatusCode::NOT_FOUND, "NoSuchUpload");
                    };
                    let Some((open, parts)) = f.multipart.as_mut() else {
                        return text(StatusCode::NOT_FOUND, "NoSuchUpload");
                    };
                    if *open != upload_id {
                        return text(StatusCode::NOT_FOUND, "NoSuchUpload");
                    }
                    let last = n + 1 == parts.len();
                    if state.config.strict_part_size && !last && bytes.len() < 5 << 20 {
                        return text(
                            StatusCode::BAD_REQUEST,
                            "EntityTooSmall: parts but the last must be at least 5 MiB",
                        );
                    }
                    parts[n] = Some(bytes);
                    text(StatusCode::OK, "")
                }
                Transfer::Download { .. } => text(StatusCode::METHOD_NOT_ALLOWED, ""),
            }
        }
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    }
}
