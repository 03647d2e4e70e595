//! The one place where errors become HTTP answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest_protocol::ErrorBody;
use loginrec_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("missing or malformed Authorization: Bearer header")]
    MissingToken,
    #[error("the access token was rejected for this company code")]
    TokenRejected,
    #[error("malformed request body: {0}")]
    BadBody(String),
    #[error("a batch may carry at most {max} rows; this one has {got}")]
    BatchTooLarge { max: usize, got: usize },
    #[error("too many requests for this company; retry after a second")]
    RateLimited,
    #[error("{0} not found")]
    NotFound(String),
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::MissingToken => (StatusCode::UNAUTHORIZED, "token_missing"),
            ApiError::TokenRejected => (StatusCode::UNAUTHORIZED, "token_rejected"),
            ApiError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            ApiError::BatchTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large"),
            ApiError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Store(e) = &self {
            // The cause stays in the log; the client learns only that it may retry.
            tracing::error!(error = %e, "A request failed in the data layer.");
        }
        let body = ErrorBody { error: code.to_string(), message: self.to_string() };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}
