//! What operations tooling reads: `/healthz` (the database answers) and `/metrics`
//! (Prometheus text). Neither needs a session nor shows a company's data.

use axum::extract::State;

use crate::AppState;
use crate::http::error::ApiError;

pub(crate) async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok")
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<String, ApiError> {
    let open_jobs = state.store.jobs().open_job_count().await?;
    Ok(state.metrics.render(open_jobs))
}
