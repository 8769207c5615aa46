//! Bearer tokens: an admin token for deploy, delete and redeploy, a caller
//! token for calls. Open until configured. Tokens are compared in constant
//! time (as blake3 digests, whose equality is constant-time) and never
//! logged.

use hyper::header::{AUTHORIZATION, HOST, ORIGIN};
use hyper::{HeaderMap, Method};

use crate::error::Failure;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, readiness, metrics).
    Open,
    /// The caller token, or the admin token (calls, listings, inference).
    Caller,
    /// The admin token (deploy, delete, redeploy).
    Admin,
}

/// The configured tokens, kept only as digests.
#[derive(Clone, Default)]
pub struct Auth {
    admin: Option<blake3::Hash>,
    caller: Option<blake3::Hash>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("admin", &self.admin.map(|_| "<set>"))
            .field("caller", &self.caller.map(|_| "<set>"))
            .finish()
    }
}

impl Auth {
    /// Tokens; `None` or empty leaves that level unconfigured.
    pub fn new(admin: Option<&str>, caller: Option<&str>) -> Auth {
        let digest =
            |t: Option<&str>| t.filter(|t| !t.is_empty()).map(|t| blake3::hash(t.as_bytes()));
        Auth { admin: digest(admin), caller: digest(caller) }
    }

    /// Whether an admin token is configured.
    pub fn has_admin(&self) -> bool {
        self.admin.is_some()
    }

    /// Whether `headers` may use a route needing `access`; otherwise why
    /// not (401 no or wrong token, 403 a valid token of too low a level),
    /// in a message that says which token is needed, never what was sent.
    pub(crate) fn check(&self, headers: &HeaderMap, access: Access) -> Result<(), Failure> {
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| blake3::hash(t.trim().as_bytes()));
        let is_admin = matches!((presented, self.admin), (Some(p), Some(a)) if p == a);
        let is_caller = matches!((presented, self.caller), (Some(p), Some(c)) if p == c);
        let unauthorized = |what: &str| {
            Err(Failure::Unauthorized(format!(
                "this route needs {what}: send `Authorization: Bearer <token>`"
            )))
        };
        match access {
            Access::Open => Ok(()),
            // Without a caller token, calls are open (even with an admin token).
            Access::Caller if self.caller.is_none() || is_caller || is_admin => Ok(()),
            Access::Caller => unauthorized("the caller token"),
            Access::Admin => {
                if is_admin || (self.admin.is_none() && self.caller.is_none()) {
                    Ok(())
                } else if is_caller {
                    Err(Failure::Forbidden(
                        "the caller token cannot do this: it needs the admin token".into(),
                    ))
                } else if self.admin.is_none() {
                    Err(Failure::Forbidden(
                        "admin routes are off: this host has no admin token".into(),
                    ))
                } else {
                    unauthorized("the admin token")
                }
            }
        }
    }
}

/// Refuses a request that would change something (any method but GET and
/// HEAD) sent by a browser from another site: a page elsewhere must not be
/// able to make a visitor's browser deploy, promote or call on a host it
/// can reach (a host with no tokens, or on loopback). Browsers say where a
/// request comes from in `Sec-Fetch-Site`; older ones only in `Origin`,
/// which must then name the host the request is sent to. Clients that are
/// not browsers (curl, the SDKs) send neither and are not affected.
pub(crate) fn refuse_cross_site(method: &Method, headers: &HeaderMap) -> Result<(), Failure> {
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    let refused = |why: String| {
        Err(Failure::Forbidden(format!(
            "{why}: a page from another site cannot change anything on this host"
        )))
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            Ok("same-origin" | "none") => Ok(()),
            Ok(other) => refused(format!("the browser says this request is {other}")),
            Err(_) => refused("Sec-Fetch-Site is not text".into()),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or("null");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => refused(format!("the request comes from {origin}")),
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    fn with(token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(t) = token {
            h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {t}")).expect("header"));
        }
        h
    }

    fn status(auth: &Auth, token: Option<&str>, access: Access) -> u16 {
        auth.check(&with(token), access).err().map_or(200, |f| f.status().as_u16())
    }

    #[test]
    fn open_until_configured() {
        let auth = Auth::new(None, None);
        assert_eq!(status(&auth, None, Access::Admin), 200);
        assert_eq!(status(&auth, None, Access::Caller), 200);
    }

    #[test]
    fn tokens_gate_by_level() {
        let auth = Auth::new(Some("adm"), Some("call"));
        assert_eq!(status(&auth, None, Access::Caller), 401);
        assert_eq!(status(&auth, Some("wrong"), Access::Caller), 401);
        assert_eq!(status(&auth, Some("call"), Access::Caller), 200);
        assert_eq!(status(&auth, Some("adm"), Access::Caller), 200);
        assert_eq!(status(&auth, Some("call"), Access::Admin), 403);
        assert_eq!(status(&auth, None, Access::Admin), 401);
        assert_eq!(status(&auth, Some("adm"), Access::Admin), 200);
        assert_eq!(status(&auth, None, Access::Open), 200);
    }

    fn site(pairs: &[(&'static str, &str)]) -> u16 {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        let post = refuse_cross_site(&Method::POST, &h).err().map_or(200, |f| f.status().as_u16());
        assert_eq!(refuse_cross_site(&Method::GET, &h).ok(), Some(()), "reads are never refused");
        post
    }

    #[test]
    fn cross_site_changes_are_refused() {
        assert_eq!(site(&[]), 200, "curl and the SDKs send no Origin");
        assert_eq!(site(&[("sec-fetch-site", "same-origin")]), 200);
        assert_eq!(site(&[("sec-fetch-site", "none")]), 200);
        assert_eq!(site(&[("sec-fetch-site", "cross-site")]), 403);
        assert_eq!(site(&[("sec-fetch-site", "same-site")]), 403, "another port is another site");
        let here = [("host", "127.0.0.1:8081"), ("origin", "http://127.0.0.1:8081")];
        assert_eq!(site(&here), 200);
        assert_eq!(site(&[("host", "127.0.0.1:8081"), ("origin", "http://evil.example")]), 403);
        assert_eq!(site(&[("host", "127.0.0.1:8081"), ("origin", "null")]), 403);
        assert_eq!(site(&[("origin", "http://127.0.0.1:8081")]), 403, "no Host to compare");
    }

    #[test]
    fn messages_never_echo_the_token() {
        let auth = Auth::new(Some("zq9-admin-token"), Some("kx7-caller-token"));
        let refused = auth.check(&with(Some("s3cr3t-guess")), Access::Admin).expect_err("refused");
        let msg = format!("{refused:?}");
        assert!(!msg.contains("s3cr3t"), "{msg}");
        let debug = format!("{auth:?}");
        assert!(!debug.contains("zq9") && !debug.contains("kx7"), "Debug hides tokens: {debug}");
    }
}
