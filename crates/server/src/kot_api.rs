//! The attendance module's API in the KING OF TIME Web API v1.0 shape.

use axum::Router;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
