//! `openapi.yaml` describes exactly the routes the server has, with the
//! token each needs: every documented route is served and every served
//! route is documented (the router matches against `ROUTES` alone).

use std::collections::BTreeSet;

use mlops_http::{Access, ROUTES};
use serde_json::Value;

#[test]
fn the_openapi_file_lists_every_route_and_no_other_with_its_token() {
    let text = std::fs::read_to_string(mlops_tests::repo_root().join("openapi.yaml"))
        .expect("openapi.yaml");
    let doc: Value = serde_saphyr::from_str(&text).expect("openapi.yaml is YAML");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "an OpenAPI 3 document");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if method == "parameters" {
                continue;
            }
            let security: Vec<&str> = op["security"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .flat_map(|r| r.as_object().into_iter().flat_map(|o| o.keys()))
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default();
            documented.insert((method.to_uppercase(), path.clone(), security.join(",")));
            assert!(op["responses"].is_object(), "{method} {path} has no responses");
        }
    }
    let served: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|e| {
            let (method, path) = (e.method, e.path);
            let security = match e.access {
                Access::Open => "",
                Access::Caller => "caller",
                Access::Admin => "admin",
            };
            (method.to_string(), path.to_string(), security.to_string())
        })
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented: {missing:?}\ndocumented but not served: {extra:?}"
    );
}
