//! Administrator login: Argon2 password hashes, database-backed sessions in an HttpOnly,
//! SameSite cookie, a CSRF token on every form, and a limit on failed logins.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use loginrec_store::Session;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::ui::error::UiError;

pub const SESSION_COOKIE: &str = "lr_session";
pub const SESSION_TTL_MS: i64 = 8 * 3600 * 1000;

/// A password that could not be hashed (the system's random source failed, or the hashing
/// task was cancelled).
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// Hashes a password off the async threads (Argon2 is deliberately slow).
pub async fn hash_password(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

pub async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn session_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_TTL_MS / 1000)
}

pub fn clearing_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The signed-in administrator; pages that take it redirect to the login page without one.
pub struct SignedIn(pub Session);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let id = cookie_value(&parts.headers, SESSION_COOKIE).ok_or(UiError::SignIn)?;
        let session = state.store.admins().session(&id).await?.ok_or(UiError::SignIn)?;
        Ok(SignedIn(session))
    }
}

impl SignedIn {
    /// Every form carries the session's CSRF token; a mismatch is refused.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), UiError> {
        let ok: bool = self.0.csrf_token.as_bytes().ct_eq(submitted.as_bytes()).into();
        if ok { Ok(()) } else { Err(UiError::Csrf) }
    }

    pub fn csrf(&self) -> &str {
        &self.0.csrf_token
    }

    pub fn actor(&self) -> String {
        self.0.admin.login_id.clone()
    }
}

/// Refuses form posts that a browser marks as coming from another site. Behind a reverse
/// proxy the public host is the one the proxy forwards in `X-Forwarded-Host`.
pub fn same_origin(headers: &HeaderMap, behind_proxy: bool) -> Result<(), UiError> {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site") {
        return Err(UiError::Csrf);
    }
    let origin = headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok());
    let forwarded = behind_proxy
        .then(|| headers.get("x-forwarded-host").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    let host = forwarded.or_else(|| headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()));
    match (origin, host) {
        (Some("null"), _) => Err(UiError::Csrf),
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            if origin_host == host { Ok(()) } else { Err(UiError::Csrf) }
        }
        _ => Ok(()),
    }
}

/// The client's address for rate limiting: the peer, or behind a trusted reverse proxy the
/// address it appended last to `X-Forwarded-For`. `None` when it cannot be known.
pub fn client_address(headers: &HeaderMap, peer: std::net::IpAddr, behind_proxy: bool) -> Option<std::net::IpAddr> {
    if !behind_proxy {
        return Some(peer);
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        assert!(same_origin(&headers(&[("origin", "https://evil.example"), ("host", "app.example")]), false).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "cross-site")]), false).is_err());
        assert!(same_origin(&headers(&[("origin", "https://app.example"), ("host", "app.example")]), false).is_ok());
    }

    #[test]
    fn behind_a_proxy_the_forwarded_host_is_the_public_one() {
        let h = headers(&[
            ("origin", "https://app.example"),
            ("host", "127.0.0.1:8081"),
            ("x-forwarded-host", "app.example"),
        ]);
        assert!(same_origin(&h, true).is_ok());
        assert!(same_origin(&h, false).is_err(), "without trusting the proxy the host differs");
    }

    #[test]
    fn the_client_address_behind_a_proxy_is_the_last_forwarded_one() {
        let peer: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 203.0.113.7")]);
        assert_eq!(client_address(&h, peer, true), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(client_address(&h, peer, false), Some(peer));
        assert_eq!(client_address(&HeaderMap::new(), peer, true), None);
    }
}
