//! The HTTP routes, in one table that the router matches against (so the
//! router serves exactly what the table lists), documented in
//! `openapi.yaml` (a test keeps the two the same, both ways).

use hyper::Method;

use crate::auth::Access;

/// One route: method, OpenAPI path template, who may use it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    /// `{name}` segments are parameters.
    pub path: &'static str,
    pub access: Access,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Healthz,
    Readyz,
    Metrics,
    ListServices,
    Deploy,
    GetService,
    DeleteService,
    Call,
    Redeploy,
    Example,
    Stats,
    Live,
    Ready,
    ModelMetadata,
    ModelReady,
    Infer,
    ListModels,
    GetModel,
    ModelFile,
    Promote,
}

const fn at(method: &'static str, path: &'static str, access: Access, kind: Kind) -> Endpoint {
    Endpoint { method, path, access, kind }
}

/// Every route the server has.
pub const ROUTES: &[Endpoint] = &[
    at("GET", "/healthz", Access::Open, Kind::Healthz),
    at("GET", "/readyz", Access::Open, Kind::Readyz),
    at("GET", "/metrics", Access::Open, Kind::Metrics),
    at("GET", "/services", Access::Caller, Kind::ListServices),
    at("POST", "/services", Access::Admin, Kind::Deploy),
    at("GET", "/services/{external_id}", Access::Caller, Kind::GetService),
    at("DELETE", "/services/{external_id}", Access::Admin, Kind::DeleteService),
    at("POST", "/services/{external_id}/call", Access::Caller, Kind::Call),
    at("POST", "/services/{external_id}/redeploy", Access::Admin, Kind::Redeploy),
    at("GET", "/services/{external_id}/example", Access::Caller, Kind::Example),
    at("GET", "/stats", Access::Caller, Kind::Stats),
    at("GET", "/v2/health/live", Access::Open, Kind::Live),
    at("GET", "/v2/health/ready", Access::Open, Kind::Ready),
    at("GET", "/v2/models/{name}", Access::Caller, Kind::ModelMetadata),
    at("GET", "/v2/models/{name}/ready", Access::Caller, Kind::ModelReady),
    at("POST", "/v2/models/{name}/infer", Access::Caller, Kind::Infer),
    at("GET", "/v2/models/{name}/versions/{version}", Access::Caller, Kind::ModelMetadata),
    at("GET", "/v2/models/{name}/versions/{version}/ready", Access::Caller, Kind::ModelReady),
    at("POST", "/v2/models/{name}/versions/{version}/infer", Access::Caller, Kind::Infer),
    at("GET", "/models", Access::Caller, Kind::ListModels),
    at("GET", "/models/{model}/{env}/{version}", Access::Caller, Kind::GetModel),
    at("GET", "/models/{model}/{env}/{version}/file", Access::Caller, Kind::ModelFile),
    at("POST", "/models/{model}/{env}/{version}/promote", Access::Admin, Kind::Promote),
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
    /// The request a service's deploy stored from its fixtures.
    Example(&'a str),
    /// Every service's recent calls and latency.
    Stats,
    Live,
    Ready,
    ModelMetadata {
        name: &'a str,
        version: Option<&'a str>,
    },
    ModelReady {
        name: &'a str,
        version: Option<&'a str>,
    },
    Infer {
        name: &'a str,
        version: Option<&'a str>,
    },
    /// The Model Manager: artifact versions.
    ListModels,
    GetModel(ModelRef<'a>),
    ModelFile(ModelRef<'a>),
    Promote(ModelRef<'a>),
}

/// `<model>/<env>/<version>` as the path gives it (checked by the handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelRef<'a> {
    pub model: &'a str,
    pub env: &'a str,
    pub version: &'a str,
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
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    MethodNotAllowed,
}

impl Endpoint {
    /// The path's parameters (at most three) if `segments` fit the template.
    fn params<'a>(&self, segments: &[&'a str]) -> Option<[Option<&'a str>; 3]> {
        let mut params = [None, None, None];
        let mut n = 0;
        let mut template = self.path.trim_start_matches('/').split('/');
        for segment in segments {
            let part = template.next()?;
            if part.starts_with('{') {
                *params.get_mut(n)? = Some(*segment);
                n += 1;
            } else if part != *segment {
                return None;
            }
        }
        template.next().is_none().then_some(params)
    }

    fn route<'a>(&self, [first, second, third]: [Option<&'a str>; 3]) -> Route<'a> {
        let id = first.unwrap_or_default();
        let model = ModelRef {
            model: id,
            env: second.unwrap_or_default(),
            version: third.unwrap_or_default(),
        };
        match self.kind {
            Kind::Healthz => Route::Healthz,
            Kind::Readyz => Route::Readyz,
            Kind::Metrics => Route::Metrics,
            Kind::ListServices => Route::ListServices,
            Kind::Deploy => Route::Deploy,
            Kind::GetService => Route::GetService(id),
            Kind::DeleteService => Route::DeleteService(id),
            Kind::Call => Route::Call(id),
            Kind::Redeploy => Route::Redeploy(id),
            Kind::Example => Route::Example(id),
            Kind::Stats => Route::Stats,
            Kind::Live => Route::Live,
            Kind::Ready => Route::Ready,
            Kind::ModelMetadata => Route::ModelMetadata { name: id, version: second },
            Kind::ModelReady => Route::ModelReady { name: id, version: second },
            Kind::Infer => Route::Infer { name: id, version: second },
            Kind::ListModels => Route::ListModels,
            Kind::GetModel => Route::GetModel(model),
            Kind::ModelFile => Route::ModelFile(model),
            Kind::Promote => Route::Promote(model),
        }
    }
}

/// Matches a request line against [`ROUTES`]: the route and who may use it.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<(Route<'a>, Access), Miss> {
    let segments: Vec<&'a str> = path.trim_matches('/').split('/').collect();
    let mut path_known = false;
    for endpoint in ROUTES {
        let Some(params) = endpoint.params(&segments) else { continue };
        path_known = true;
        if endpoint.method == method.as_str() {
            return Ok((endpoint.route(params), endpoint.access));
        }
    }
    Err(if path_known { Miss::MethodNotAllowed } else { Miss::NotFound })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(template: &str) -> String {
        template
            .replace("{external_id}", "m-prediction-dev")
            .replace("{name}", "m-prediction-dev")
            .replace("{version}", "1")
            .replace("{model}", "well_log")
            .replace("{env}", "dev")
    }

    #[test]
    fn every_listed_route_matches_itself_and_only_its_methods() {
        for e in ROUTES {
            let path = filled(e.path);
            let method: Method = e.method.parse().expect("method");
            let (matched, access) =
                route(&method, &path).unwrap_or_else(|m| panic!("{}: {m:?}", e.path));
            assert_eq!(
                (matched, access),
                (
                    e.route(
                        e.params(&path.trim_matches('/').split('/').collect::<Vec<_>>())
                            .expect("params")
                    ),
                    e.access
                )
            );
            for other in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                let listed = ROUTES.iter().any(|o| o.method == other && filled(o.path) == path);
                let got = route(&other.parse().expect("method"), &path);
                assert_eq!(got.is_ok(), listed, "{other} {path}");
                if !listed {
                    assert_eq!(got, Err(Miss::MethodNotAllowed), "{other} {path}");
                }
            }
        }
    }

    #[test]
    fn parameters_come_from_the_path() {
        assert_eq!(
            route(&Method::POST, "/v2/models/a-prediction-dev/versions/7/infer"),
            Ok((Route::Infer { name: "a-prediction-dev", version: Some("7") }, Access::Caller))
        );
        assert_eq!(
            route(&Method::POST, "/services/x/call/"),
            Ok((Route::Call("x"), Access::Caller))
        );
        let id = ModelRef { model: "PorosityNet", env: "test", version: "3" };
        assert_eq!(
            route(&Method::POST, "/models/PorosityNet/test/3/promote"),
            Ok((Route::Promote(id), Access::Admin))
        );
        assert_eq!(
            route(&Method::GET, "/models/PorosityNet/test/3/file"),
            Ok((Route::ModelFile(id), Access::Caller))
        );
    }

    #[test]
    fn wrong_methods_and_paths_are_told_apart() {
        assert_eq!(route(&Method::PUT, "/services/x/call"), Err(Miss::MethodNotAllowed));
        assert_eq!(route(&Method::GET, "/nope"), Err(Miss::NotFound));
        assert_eq!(route(&Method::GET, "/services/a/b/c"), Err(Miss::NotFound));
        assert_eq!(route(&Method::GET, "/v2/models/a/versions"), Err(Miss::NotFound));
    }
}
