//! Data sets: create, by ids, list, update.

use super::*;

pub(super) fn data_set_json(ds: &Map<String, Value>) -> Value {
    Value::Object(ds.clone())
}

pub(super) fn resolve_data_sets(data: &Data, items: &[Value]) -> Resolved {
    resolve_items(
        items,
        |id| data.data_sets.contains_key(&id),
        |x| {
            data.data_sets
                .values()
                .find(|d| d["externalId"] == json!(x))
                .and_then(|d| d["id"].as_i64())
        },
    )
}

pub(super) fn create_data_sets(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 10)?.clone();
    for item in &items {
        let Some(obj) = item.as_object() else { return Err(bad("each item must be an object")) };
        for (field, max) in [("name", 50), ("description", 500), ("externalId", 255)] {
            if let Some(v) = obj.get(field).and_then(Value::as_str)
                && (v.is_empty() || v.chars().count() > max)
            {
                return Err(bad(format!("{field} size must be between 1 and {max}")));
            }
        }
        if let Some(m) = obj.get("metadata") {
            check_metadata(m)?;
        }
        if let Some(x) = obj.get("externalId").and_then(Value::as_str)
            && data.data_sets.values().any(|d| d["externalId"] == json!(x))
        {
            return Err(reply(
                StatusCode::CONFLICT,
                &json!({ "error": { "code": 409, "message": "Duplicate external ids", "duplicated": [{ "externalId": x }] } }),
            ));
        }
    }
    let mut out = Vec::new();
    for item in items {
        data.next_id += 1;
        let id = data.next_id;
        let t = now_ms();
        let mut ds = item.as_object().cloned().unwrap_or_default();
        ds.insert("id".into(), json!(id));
        ds.entry("writeProtected").or_insert(json!(false));
        ds.insert("createdTime".into(), json!(t));
        ds.insert("lastUpdatedTime".into(), json!(t));
        out.push(data_set_json(&ds));
        data.data_sets.insert(id, ds);
    }
    Ok(reply(StatusCode::CREATED, &json!({ "items": out })))
}

pub(super) fn data_sets_by_ids(data: &Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?;
    let (ids, unknown) = resolve_data_sets(data, items)?;
    if !unknown.is_empty() && !ignore_unknown(body) {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": { "code": 400, "message": "Data sets not found", "missing": unknown } }),
        ));
    }
    let out: Vec<Value> =
        ids.into_iter().flatten().map(|id| data_set_json(&data.data_sets[&id])).collect();
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

pub(super) fn list_data_sets(data: &Data, body: &Value) -> Answer {
    let filter = body.get("filter").cloned().unwrap_or(json!({}));
    let all: Vec<Value> = data
        .data_sets
        .values()
        .filter(|d| {
            filter.get("externalIdPrefix").and_then(Value::as_str).is_none_or(|p| {
                d.get("externalId").and_then(Value::as_str).is_some_and(|x| x.starts_with(p))
            }) && filter.get("writeProtected").is_none_or(|w| d.get("writeProtected") == Some(w))
                && filter.get("metadata").and_then(Value::as_object).is_none_or(|want| {
                    want.iter().all(|(k, v)| d.get("metadata").and_then(|m| m.get(k)) == Some(v))
                })
        })
        .map(data_set_json)
        .collect();
    page(all, body)
}

pub(super) fn update_data_sets(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?.clone();
    let (ids, unknown) = resolve_data_sets(data, &items)?;
    if !unknown.is_empty() {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": { "code": 400, "message": "Data sets not found", "missing": unknown } }),
        ));
    }
    let mut out = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let id = id.ok_or_else(|| bad("no data set"))?;
        let ds = data.data_sets.get_mut(&id).ok_or_else(|| bad("no data set"))?;
        for (field, op) in
            item.get("update").and_then(Value::as_object).cloned().unwrap_or_default()
        {
            if field == "metadata" {
                let mut m =
                    ds.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(set) = op.get("set").and_then(Value::as_object) {
                    m = set.clone();
                }
                for (k, v) in op.get("add").and_then(Value::as_object).cloned().unwrap_or_default()
                {
                    m.insert(k, v);
                }
                for k in op.get("remove").and_then(Value::as_array).cloned().unwrap_or_default() {
                    m.remove(k.as_str().unwrap_or_default());
                }
                ds.insert("metadata".into(), Value::Object(m));
            } else if let Some(v) = op.get("set") {
                ds.insert(field, v.clone());
            } else if op.get("setNull") == Some(&json!(true)) {
                ds.remove(&field);
            }
        }
        ds.insert("lastUpdatedTime".into(), json!(now_ms()));
        out.push(data_set_json(ds));
    }
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}
