//! The HTTP routes, in one table (documented in `openapi.yaml`; a test
//! keeps the two the same) and a matcher.

use hyper::Method;

use crate::auth::Access;

/// Every route: method, OpenAPI path template, who may use it.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Open),
    ("GET", "/readyz", Access::Open),
    ("GET", "/metrics", Access::Open),
    ("GET", "/services", Access::Caller),
    ("POST", "/services", Access::Admin),
    ("GET", "/services/{external_id}", Access::Caller),
    ("DELETE", "/services/{external_id}", Access::Admin),
    ("POST", "/services/{external_id}/call", Access::Caller),
    ("POST", "/services/{external_id}/redeploy", Access::Admin),
    ("GET", "/v2/health/live", Access::Open),
    ("GET", "/v2/health/ready", Access::Open),
    ("GET", "/v2/models/{name}", Access::Caller),
    ("GET", "/v2/models/{name}/ready", Access::Caller),
    ("POST", "/v2/models/{name}/infer", Access::Caller),
    ("GET", "/v2/models/{name}/versions/{version}", Access::Caller),
    ("GET", "/v2/models/{name}/versions/{version}/ready", Access::Caller),
    ("POST", "/v2/models/{name}/versions/{version}/infer", Access::Caller),
];

/// A matched route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Healthz,
    Readyz,
    Metrics,
    ListServices,
    Deploy,
    GetService(&'a str),
    DeleteService(&'a str),
    Call(&'a str),
    Redeploy(&'a str),
    Live,
    Ready,
    ModelMetadata { name: &'a str, version: Option<&'a str> },
    ModelReady { name: &'a str, version: Option<&'a str> },
    Infer { name: &'a str, version: Option<&'a str> },
}

impl Route<'_> {
    /// Whether the route is the Open Inference Protocol's (its errors are
    /// `{"error": …}`).
    pub fn is_oip(&self) -> bool {
        matches!(
            self,
            Route::Live
                | Route::Ready
                | Route::ModelMetadata { .. }
                | Route::ModelReady { .. }
                | Route::Infer { .. }
        )
    }

    /// Who may use the route (from [`ROUTES`]).
    pub fn access(&self) -> Access {
        match self {
            Route::Healthz | Route::Readyz | Route::Metrics | Route::Live | Route::Ready => {
                Access::Open
            }
            Route::Deploy | Route::DeleteService(_) | Route::Redeploy(_) => Access::Admin,
            _ => Access::Caller,
        }
    }
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    MethodNotAllowed,
}

/// Matches a request line.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, Miss> {
    let segments: Vec<&'a str> = path.trim_matches('/').split('/').collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    let delete = method == Method::DELETE;
    let pick = |ok: bool, r: Route<'a>| if ok { Ok(r) } else { Err(Miss::MethodNotAllowed) };
    match segments.as_slice() {
        ["healthz"] => pick(get, Route::Healthz),
        ["readyz"] => pick(get, Route::Readyz),
        ["metrics"] => pick(get, Route::Metrics),
        ["services"] if post => Ok(Route::Deploy),
        ["services"] => pick(get, Route::ListServices),
        ["services", id] if delete => Ok(Route::DeleteService(id)),
        ["services", id] => pick(get, Route::GetService(id)),
        ["services", id, "call"] => pick(post, Route::Call(id)),
        ["services", id, "redeploy"] => pick(post, Route::Redeploy(id)),
        ["v2", "health", "live"] => pick(get, Route::Live),
        ["v2", "health", "ready"] => pick(get, Route::Ready),
        ["v2", "models", name] => pick(get, Route::ModelMetadata { name, version: None }),
        ["v2", "models", name, "ready"] => pick(get, Route::ModelReady { name, version: None }),
        ["v2", "models", name, "infer"] => pick(post, Route::Infer { name, version: None }),
        ["v2", "models", name, "versions", v] => {
            pick(get, Route::ModelMetadata { name, version: Some(v) })
        }
        ["v2", "models", name, "versions", v, "ready"] => {
            pick(get, Route::ModelReady { name, version: Some(v) })
        }
        ["v2", "models", name, "versions", v, "infer"] => {
            pick(post, Route::Infer { name, version: Some(v) })
        }
        _ => Err(Miss::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_route_matches_with_its_access() {
        for (method, template, access) in ROUTES {
            let path = template
                .replace("{external_id}", "m-prediction-dev")
                .replace("{name}", "m-prediction-dev")
                .replace("{version}", "1");
            let method: Method = method.parse().expect("method");
            let matched = route(&method, &path).unwrap_or_else(|e| panic!("{template}: {e:?}"));
            assert_eq!(matched.access(), *access, "{template}");
        }
    }

    #[test]
    fn wrong_methods_and_paths_are_told_apart() {
        assert_eq!(route(&Method::PUT, "/services/x/call"), Err(Miss::MethodNotAllowed));
        assert_eq!(route(&Method::GET, "/nope"), Err(Miss::NotFound));
        assert_eq!(route(&Method::GET, "/services/a/b/c"), Err(Miss::NotFound));
    }
}
