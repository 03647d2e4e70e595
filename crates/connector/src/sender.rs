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

/// Why `register --check` could not prove the company code and token, Japanese first.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "企業コードまたはアクセストークンが受け付けられませんでした (the server rejected the company code or the \
         access token, HTTP {0}): register again with the code and token ログイン記録 issued"
    )]
    TokenRejected(u16),
    #[error(
        "プロキシの認証に失敗しました (proxy authentication failed, HTTP 407): check the proxy user and password with \
         `lanscope-connector proxy`"
    )]
    ProxyAuth,
    #[error("プロキシ経由で接続できませんでした (proxy failure: nothing got through the proxy {proxy}): {message}")]
    Proxy { proxy: String, message: String },
    #[error("サーバーに接続できませんでした (the server is unreachable at {url}): {message}")]
    Unreachable { url: String, message: String },
    #[error("サーバーが確認を受け付けませんでした (the server did not accept the check{via}): {error}")]
    Answer { error: SendError, via: String },
}

impl CheckError {
    /// As `run --once`: 2 for the token, 4 for the proxy's credentials, 3 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            CheckError::TokenRejected(_) => 2,
            CheckError::ProxyAuth => 4,
            _ => 3,
        }
    }
}

/// The check waits no longer than this for the server's answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Sender {
    client: reqwest::Client,
    /// The proxy's `host:port`, when one is configured.
    proxy: Option<String>,
    url: String,
    company_code: String,
    token: AccessToken,
    info: ConnectorInfo,
}

impl Sender {
    /// Refuses settings that would send the access token unencrypted across the network
    /// ([`Config::check_transport`]), whatever command asks.
    pub fn new(config: &Config) -> anyhow::Result<Sender> {
        config.check_transport().map_err(|m| anyhow::anyhow!("送信しません (nothing is sent): {m}"))?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("lanscope-connector/", env!("CARGO_PKG_VERSION")));
        let mut proxy_address = None;
        if config.proxy.enabled {
            let address = config.proxy.host_and_port().map_err(|e| anyhow::anyhow!("proxy: {e}"))?;
            let mut proxy = reqwest::Proxy::all(format!("http://{address}"))?;
            if let Some(user) = &config.proxy.user {
                proxy = proxy.basic_auth(user, config.proxy.password.as_deref().unwrap_or(""));
            }
            builder = builder.proxy(proxy);
            proxy_address = Some(address.to_string());
        }
        let host = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Sender {
            client: builder.build()?,
            proxy: proxy_address,
            url: format!("{}{}", config.server_url.trim_end_matches('/'), INGEST_PATH),
            company_code: config.company_code.clone(),
            token: config.token(),
            info: ConnectorInfo {
                version: env!("CARGO_PKG_VERSION").to_string(),
                host,
                // As HH:MM whatever the file's spelling (` 5:00`): the server takes nothing else.
                collection_start: config
                    .collection_start
                    .parse::<loginrec_rules::DayChangeTime>()
                    .ok()
                    .map(|t| t.to_string()),
            },
        })
    }

    /// The company code the batches are sent for.
    pub fn company_code(&self) -> &str {
        &self.company_code
    }

    /// One request to the ingest API with `rows`.
    async fn post(&self, rows: Vec<IngestRow>, timeout: Option<Duration>) -> reqwest::Result<reqwest::Response> {
        let batch = IngestBatch { company_code: self.company_code.clone(), connector: self.info.clone(), rows };
        let mut request = self
            .client
            .post(&self.url)
            .bearer_auth(self.token.expose())
            .header(COMPANY_CODE_HEADER, &self.company_code)
            .json(&batch);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        request.send().await
    }

    pub async fn send(&self, rows: Vec<IngestRow>) -> Result<IngestResponse, SendError> {
        let response = self.post(rows, None).await.map_err(|e| {
            if is_proxy_auth_failure(&e) {
                SendError::ProxyAuth
            } else {
                SendError::Retryable { message: describe_transport_error(&e), retry_after: None }
            }
        })?;
        if response.status().is_success() {
            return response.json::<IngestResponse>().await.map_err(|e| SendError::Retryable {
                message: format!("the server's answer could not be read: {e}"),
                retry_after: None,
            });
        }
        Err(self.refusal(response).await)
    }

    /// Proves the company code and token against the server without sending any log: the
    /// ingest API authenticates a batch before anything else, and a batch of no rows stores
    /// nothing.
    pub async fn check(&self) -> Result<(), CheckError> {
        let response = self.post(Vec::new(), Some(CHECK_TIMEOUT)).await.map_err(|e| {
            let message = describe_transport_error(&e);
            if is_proxy_auth_failure(&e) {
                CheckError::ProxyAuth
            } else if let Some(proxy) = &self.proxy {
                CheckError::Proxy { proxy: proxy.clone(), message }
            } else {
                CheckError::Unreachable { url: self.url.clone(), message }
            }
        })?;
        let status = response.status();
        if status.is_success() {
            // Anything else at this address could answer 200 too: only the ingest API's own
            // answer proves the code and token.
            let body = response.text().await.unwrap_or_default();
            return match serde_json::from_str::<IngestResponse>(&body) {
                Ok(_) => Ok(()),
                Err(_) => Err(CheckError::Answer {
                    error: SendError::WrongAddress {
                        status: status.as_u16(),
                        url: self.url.clone(),
                        message: " (not an answer of the ingest API)".into(),
                    },
                    via: self.via(),
                }),
            };
        }
        Err(match self.refusal(response).await {
            SendError::TokenRejected(status) => CheckError::TokenRejected(status),
            SendError::ProxyAuth => CheckError::ProxyAuth,
            error => CheckError::Answer { error, via: self.via() },
        })
    }

    fn via(&self) -> String {
        self.proxy.as_ref().map(|p| format!(", through the proxy {p}")).unwrap_or_default()
    }

    /// What an answer other than 2xx means.
    async fn refusal(&self, response: reqwest::Response) -> SendError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<ErrorBody>(&body).map(|b| b.message).unwrap_or(body);
        match status {
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
        }
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
