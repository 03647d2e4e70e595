//! `POST /api/lanscope/v1/logs`: authenticate, validate every row, store the valid ones in
//! one transaction, answer with what became of each. See `loginrec_store`'s ingest module for
//! the delivery guarantee.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use ingest_protocol::{COMPANY_CODE_HEADER, IngestBatch, IngestResponse, MAX_BATCH_ROWS, RowRejection, validate_row};

use crate::AppState;
use crate::http::error::ApiError;
use crate::metrics::Metrics;

pub(crate) async fn ingest_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestResponse>, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::MissingToken)?;
    // With the company code in a header (the connector always sends it) the token is checked
    // before the body is parsed, so an unauthenticated client costs no JSON work.
    let header_code = headers.get(COMPANY_CODE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let early = match &header_code {
        Some(code) => Some(state.store.company_for_token(code, token).await?.ok_or(ApiError::TokenRejected)?),
        None => None,
    };
    if let Some(company) = &early
        && !state.rate_limit.allow(company.id)
    {
        return Err(ApiError::RateLimited);
    }
    let batch: IngestBatch = serde_json::from_slice(&body).map_err(|e| ApiError::BadBody(e.to_string()))?;
    if header_code.as_ref().is_some_and(|code| code != &batch.company_code) {
        return Err(ApiError::BadRequest("the company code header and body differ".into()));
    }
    let company = match early {
        Some(company) => company,
        None => {
            let company =
                state.store.company_for_token(&batch.company_code, token).await?.ok_or(ApiError::TokenRejected)?;
            if !state.rate_limit.allow(company.id) {
                return Err(ApiError::RateLimited);
            }
            company
        }
    };
    batch.connector.validate().map_err(|problem| ApiError::BadRequest(problem.to_string()))?;
    if batch.rows.len() > MAX_BATCH_ROWS {
        return Err(ApiError::BatchTooLarge { max: MAX_BATCH_ROWS, got: batch.rows.len() });
    }
    let mut valid = Vec::with_capacity(batch.rows.len());
    let mut rejections = Vec::new();
    for row in batch.rows {
        match validate_row(&company.code, &row) {
            Ok(()) => valid.push(row),
            Err(problem) => rejections.push(RowRejection { key: row.key, reason: problem.to_string() }),
        }
    }
    let outcome = match state.store.ingest(&company, &batch.connector, &valid).await {
        Ok(outcome) => outcome,
        Err(e) => {
            Metrics::add(&state.metrics.ingest_errors, 1);
            return Err(e.into());
        }
    };
    Metrics::add(&state.metrics.rows_accepted, outcome.accepted);
    Metrics::add(&state.metrics.rows_duplicate, outcome.duplicate);
    Metrics::add(&state.metrics.rows_rejected, rejections.len() as u64);
    Metrics::add(&state.metrics.punches_written, outcome.punches_written);
    tracing::info!(
        company = %company.code,
        accepted = outcome.accepted,
        duplicate = outcome.duplicate,
        rejected = rejections.len(),
        punches = outcome.punches_written,
        connector = %batch.connector.version,
        "Accepted a LanScope batch."
    );
    Ok(Json(IngestResponse {
        accepted: outcome.accepted,
        duplicate: outcome.duplicate,
        rejected: rejections.len() as u64,
        rejections,
    }))
}

/// Any other path or method of the ingest API answers in its own error shape.
pub(crate) async fn no_such_path(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().chars().take(200).collect())
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
