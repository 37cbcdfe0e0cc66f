//! Who may use the jobs page: the holder of `OPS_TOKEN`, presented as a bearer token, as the
//! password of HTTP basic auth (any user name), or once through the login form, which sets an
//! HttpOnly, SameSite=Strict cookie derived from the token. Every comparison is constant-time
//! over SHA-256 digests, so neither content nor length leaks through timing.
//!
//! CSRF: a browser sends basic-auth credentials and cookies with any request, also one a
//! foreign page triggers, so every POST form carries a token derived from `OPS_TOKEN` (HMAC)
//! that a foreign page cannot know; requests that announce themselves as cross-site
//! (`Sec-Fetch-Site: cross-site`) are refused outright. Bearer requests (scripts) need no
//! CSRF token: no browser adds that header on its own.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::WebState;

/// The session cookie's name.
pub const COOKIE: &str = "fieldwork_ops";

/// How a request proved it holds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Bearer,
    Basic,
    Cookie,
}

/// What a request's credentials amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    Valid(AuthKind),
    /// None sent.
    Missing,
    /// An `Authorization` header that is not the token (no fallback to the cookie then), or
    /// a cookie that is not the session.
    Wrong,
}

/// The token and the values derived from it.
pub struct OpsAuth {
    token_digest: [u8; 32],
    session: String,
    csrf: String,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn hmac_hex(key: &str, purpose: &str) -> Result<String, String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .map_err(|e| format!("cannot key HMAC: {e}"))?;
    mac.update(purpose.as_bytes());
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl OpsAuth {
    pub fn new(token: &str) -> Result<Self, String> {
        Ok(Self {
            token_digest: sha256(token.as_bytes()),
            session: hmac_hex(token, "fieldwork jobs page session v1")?,
            csrf: hmac_hex(token, "fieldwork jobs page csrf v1")?,
        })
    }

    /// Whether `presented` is the token (constant time).
    pub fn is_token(&self, presented: &str) -> bool {
        sha256(presented.as_bytes())
            .ct_eq(&self.token_digest)
            .into()
    }

    fn is_session(&self, presented: &str) -> bool {
        sha256(presented.as_bytes())
            .ct_eq(&sha256(self.session.as_bytes()))
            .into()
    }

    /// Whether `presented` is the CSRF token (constant time).
    pub fn is_csrf(&self, presented: &str) -> bool {
        sha256(presented.as_bytes())
            .ct_eq(&sha256(self.csrf.as_bytes()))
            .into()
    }

    /// The CSRF token every form carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// `Set-Cookie` value that logs a browser in.
    pub fn login_cookie(&self) -> String {
        format!(
            "{COOKIE}={}; Path=/ops; HttpOnly; SameSite=Strict; Max-Age=43200",
            self.session
        )
    }

    /// `Set-Cookie` value that logs a browser out.
    pub fn logout_cookie() -> String {
        format!("{COOKIE}=; Path=/ops; HttpOnly; SameSite=Strict; Max-Age=0")
    }

    /// How `headers` authenticate.
    pub fn check(&self, headers: &HeaderMap) -> Credentials {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            return match self.authorization(value.to_str().unwrap_or("")) {
                Some(kind) => Credentials::Valid(kind),
                None => Credentials::Wrong,
            };
        }
        match cookie(headers, COOKIE) {
            None => Credentials::Missing,
            Some(s) if self.is_session(s) => Credentials::Valid(AuthKind::Cookie),
            Some(_) => Credentials::Wrong,
        }
    }

    /// An `Authorization` header's value: bearer token or basic-auth password.
    fn authorization(&self, value: &str) -> Option<AuthKind> {
        let (scheme, rest) = value.split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.is_token(rest).then_some(AuthKind::Bearer);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (_, password) = decoded.split_once(':')?;
            return self.is_token(password).then_some(AuthKind::Basic);
        }
        None
    }
}

/// The value of cookie `name`, if sent.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Whether the request says it comes from another site's page.
pub fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"fieldwork jobs page\"",
        )],
        "401 Unauthorized: send OPS_TOKEN as a bearer token or as the basic-auth password\n",
    )
        .into_response()
}

/// Middleware in front of every page but the login form: lets token holders through (with
/// their [`AuthKind`] in the request extensions), sends browsers without credentials to the
/// login form, and answers 401 to everything else.
pub async fn require(State(state): State<WebState>, mut req: Request, next: Next) -> Response {
    match state.auth.check(req.headers()) {
        Credentials::Valid(kind) => {
            req.extensions_mut().insert(kind);
            next.run(req).await
        }
        Credentials::Missing | Credentials::Wrong
            if req.method() == axum::http::Method::GET
                && wants_html(req.headers())
                && req.headers().get(header::AUTHORIZATION).is_none() =>
        {
            let next_path = req
                .uri()
                .path_and_query()
                .map_or("/ops/", |p| p.as_str())
                .to_owned();
            Redirect::to(&format!(
                "/ops/login?next={}",
                super::url_encode(&next_path)
            ))
            .into_response()
        }
        _ => unauthorized(),
    }
}

/// A POST form's CSRF check: the form's token must match, unless the request authenticated
/// with a bearer token; cross-site requests never pass.
pub fn form_allowed(state: &WebState, kind: AuthKind, headers: &HeaderMap, csrf: &str) -> bool {
    if cross_site(headers) {
        return false;
    }
    kind == AuthKind::Bearer || state.auth.is_csrf(csrf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_basic_and_cookie_accept_only_the_token() {
        let auth = OpsAuth::new("0123456789abcdef-secret").unwrap();
        let basic = |user_pass: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(user_pass)
            )
        };
        let ok = |v: &str| auth.check(&headers(header::AUTHORIZATION, v));
        let valid = Credentials::Valid;
        assert_eq!(
            ok("Bearer 0123456789abcdef-secret"),
            valid(AuthKind::Bearer)
        );
        assert_eq!(ok("Bearer 0123456789abcdef-secreT"), Credentials::Wrong);
        assert_eq!(
            ok(&basic("ops:0123456789abcdef-secret")),
            valid(AuthKind::Basic)
        );
        assert_eq!(ok(&basic("0123456789abcdef-secret:")), Credentials::Wrong);
        assert_eq!(ok("Digest abc"), Credentials::Wrong);
        let session = auth.login_cookie();
        let value = session.split(';').next().unwrap();
        assert_eq!(
            auth.check(&headers(header::COOKIE, &format!("a=b; {value}"))),
            valid(AuthKind::Cookie)
        );
        assert_eq!(
            auth.check(&headers(header::COOKIE, &format!("{COOKIE}=forged"))),
            Credentials::Wrong
        );
        assert_eq!(auth.check(&HeaderMap::new()), Credentials::Missing);
    }

    #[test]
    fn the_csrf_token_is_derived_from_the_ops_token_and_differs_from_the_session() {
        let a = OpsAuth::new("0123456789abcdef-one").unwrap();
        let b = OpsAuth::new("0123456789abcdef-two").unwrap();
        assert!(a.is_csrf(a.csrf()));
        assert!(!a.is_csrf(b.csrf()));
        assert!(!a.login_cookie().contains(a.csrf()));
        assert!(!a.is_csrf(""));
    }
}
