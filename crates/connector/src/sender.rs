//! Delivery to ログイン記録: one HTTP request per batch, through a proxy when configured.

use std::time::Duration;

use ingest_protocol::{
    COMPANY_CODE_HEADER, ConnectorInfo, ErrorBody, INGEST_PATH, IngestBatch, IngestResponse, IngestRow,
};
use loginrec_rules::AccessToken;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the access token was rejected by the server (HTTP {0}); check the company code and token with `register`")]
    TokenRejected(u16),
    #[error("proxy authentication failed (HTTP 407): check the proxy user and password")]
    ProxyAuth,
    #[error(
        "the server address seems wrong: {url} answered HTTP {status}{message}; check the server with `register --server`"
    )]
    WrongAddress { status: u16, url: String, message: String },
    #[error("{message}")]
    Retryable { message: String, retry_after: Option<Duration> },
    #[error("the server refused the batch (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
}

pub struct Sender {
    client: reqwest::Client,
    url: String,
    company_code: String,
    token: AccessToken,
    info: ConnectorInfo,
}

impl Sender {
    pub fn new(config: &Config) -> anyhow::Result<Sender> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("lanscope-connector/", env!("CARGO_PKG_VERSION")));
        if config.proxy.enabled {
            let mut proxy = reqwest::Proxy::all(format!("http://{}:{}", config.proxy.address, config.proxy.port))?;
            if let Some(user) = &config.proxy.user {
                proxy = proxy.basic_auth(user, config.proxy.password.as_deref().unwrap_or(""));
            }
            builder = builder.proxy(proxy);
        }
        let host = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Sender {
            client: builder.build()?,
            url: format!("{}{}", config.server_url.trim_end_matches('/'), INGEST_PATH),
            company_code: config.company_code.clone(),
            token: config.token(),
            info: ConnectorInfo {
                version: env!("CARGO_PKG_VERSION").to_string(),
                host,
                collection_start: Some(config.collection_start.clone()),
            },
        })
    }

    /// The company code the batches are sent for.
    pub fn company_code(&self) -> &str {
        &self.company_code
    }

    pub async fn send(&self, rows: Vec<IngestRow>) -> Result<IngestResponse, SendError> {
        let batch = IngestBatch { company_code: self.company_code.clone(), connector: self.info.clone(), rows };
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(self.token.expose())
            .header(COMPANY_CODE_HEADER, &self.company_code)
            .json(&batch)
            .send()
            .await
            .map_err(|e| {
                if is_proxy_auth_failure(&e) {
                    SendError::ProxyAuth
                } else {
                    SendError::Retryable { message: describe_transport_error(&e), retry_after: None }
                }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status.is_success() {
            return response.json::<IngestResponse>().await.map_err(|e| SendError::Retryable {
                message: format!("the server's answer could not be read: {e}"),
                retry_after: None,
            });
        }
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<ErrorBody>(&body).map(|b| b.message).unwrap_or(body);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendError::TokenRejected(status.as_u16()),
            StatusCode::PROXY_AUTHENTICATION_REQUIRED => SendError::ProxyAuth,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => SendError::Retryable {
                message: format!("the server asked to retry later (HTTP {status})"),
                retry_after,
            },
            s if s.is_server_error() => SendError::Retryable {
                message: format!("the server had a problem (HTTP {}): {}", s.as_u16(), truncate(&message)),
                retry_after,
            },
            // Only these can be caused by what the batch carries; any other answer means the
            // request went to the wrong place, and no row is to blame.
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY => {
                SendError::Refused { status: status.as_u16(), message: truncate(&message) }
            }
            s => SendError::WrongAddress {
                status: s.as_u16(),
                url: self.url.clone(),
                message: Some(truncate(&message))
                    .filter(|m| !m.trim().is_empty())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default(),
            },
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

/// The messages of an error and of its sources, joined.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&err.to_string());
        source = err.source();
    }
    chain
}

/// A proxy refusing the tunnel (`CONNECT`, for an https:// server) for want of credentials
/// shows as a failed connection, not as an HTTP answer: find its 407 in the error chain (by
/// its words: a bare "407" could be part of a port number in the URL).
fn is_proxy_auth_failure(e: &reqwest::Error) -> bool {
    is_proxy_auth_message(&error_chain(e))
}

fn is_proxy_auth_message(chain: &str) -> bool {
    let chain = chain.to_ascii_lowercase();
    ["proxy authentication required", "proxy authorization required", "407 proxy", "http 407", "status 407"]
        .iter()
        .any(|words| chain.contains(words))
}

/// Plain words for a failed connection, including the proxy's answer to CONNECT.
fn describe_transport_error(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    if e.is_timeout() {
        format!("the server did not answer in time ({chain})")
    } else if e.is_connect() {
        format!("cannot connect to the server ({chain})")
    } else {
        format!("the connection to the server failed ({chain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_407_anywhere_in_a_transport_error_is_a_proxy_authentication_failure() {
        assert!(is_proxy_auth_message("error sending request: client error (Connect): proxy authorization required"));
        assert!(is_proxy_auth_message("tunnel error: unsuccessful tunnel: 407 Proxy Authentication Required"));
        assert!(!is_proxy_auth_message(
            "error sending request for url (http://127.0.0.1:40712/api/ingest): client error (Connect): tcp connect error"
        ));
    }
}
