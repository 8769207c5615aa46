//! The dashboard (`serve --ui <ADDR>`): a few static files compiled into
//! the binary, served beside the API on a port of their own. The pages
//! read and act through the public API only (the routes in `ROUTES`), so
//! they can do nothing a client cannot.
//!
//! Every response on that port carries a strict Content-Security-Policy
//! (scripts, styles and connections from this origin only; no inline code;
//! no framing), `nosniff`, no referrer, and no caching.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Method, Response, StatusCode};

/// Where the dashboard starts.
pub const HOME: &str = "/ui/";

/// The policy every page is served under.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

const FILES: &[(&str, &str, &[u8])] = &[
    ("/ui/", "text/html; charset=utf-8", include_bytes!("../ui/index.html")),
    ("/ui/app.js", "text/javascript; charset=utf-8", include_bytes!("../ui/app.js")),
    ("/ui/app.css", "text/css; charset=utf-8", include_bytes!("../ui/app.css")),
    ("/ui/icon.svg", "image/svg+xml", include_bytes!("../ui/icon.svg")),
];

/// Whether `path` is the dashboard's (on the API's port it is not served).
pub fn is_ui_path(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

/// The dashboard's answer to `path`, if it is one of its files (or `/`
/// and `/ui`, which lead to it); `None` for the API.
pub fn asset(method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
    if path == "/" || path == "/ui" {
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = StatusCode::SEE_OTHER;
        resp.headers_mut().insert(LOCATION, HeaderValue::from_static(HOME));
        return Some(resp);
    }
    if !is_ui_path(path) {
        return None;
    }
    let Some((_, content_type, bytes)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"not found")));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return Some(resp);
    };
    if !matches!(*method, Method::GET | Method::HEAD) {
        let body = Bytes::from_static(b"the dashboard's files are read-only: use GET");
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        resp.headers_mut().insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(resp);
    }
    let mut resp = Response::new(Full::new(Bytes::from_static(bytes)));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Some(resp)
}

/// The headers every response on the dashboard's port carries.
pub fn secure(headers: &mut HeaderMap) {
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_served_with_its_type_and_others_are_not_found() {
        for (path, content_type, bytes) in FILES {
            let resp = asset(&Method::GET, path).expect("served");
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.headers()[CONTENT_TYPE], *content_type, "{path}");
            assert!(!bytes.is_empty(), "{path}");
        }
        assert_eq!(
            asset(&Method::GET, "/ui/nope.js").map(|r| r.status()),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(asset(&Method::GET, "/").map(|r| r.status()), Some(StatusCode::SEE_OTHER));
        assert_eq!(
            asset(&Method::POST, "/ui/app.js").map(|r| r.status()),
            Some(StatusCode::METHOD_NOT_ALLOWED)
        );
        assert!(asset(&Method::GET, "/services").is_none(), "the API is not the dashboard's");
    }

    #[test]
    fn the_page_loads_nothing_the_policy_forbids() {
        let html = std::str::from_utf8(FILES[0].2).expect("utf-8");
        assert!(!html.contains("<script>") && !html.contains(" style="), "inline code or style");
        assert!(!html.contains("http://") && !html.contains("https://"), "nothing from elsewhere");
        for (_, _, bytes) in FILES {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains("localStorage") && !text.contains("document.cookie"),
                "the token stays in memory"
            );
        }
    }
}
