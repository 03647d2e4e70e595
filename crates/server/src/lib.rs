//! The ログイン記録 HTTP server: the LanScope ingest API and the read-only pages of the
//! embedded 勤革時 module. Handlers translate HTTP to store calls and back; they decide no rule.
#![forbid(unsafe_code)]

mod error;
mod format;
mod ingest;
pub mod jobs;
pub mod links;
mod metrics;
mod pages;
pub mod timecard;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use loginrec_store::Store;
use tokio::net::TcpListener;

pub use error::ApiError;

#[derive(Clone, Copy, Debug, Default)]
pub struct ServerOptions {
    /// Serve the pages without login. Only for a server listening on a loopback address,
    /// until the admin login exists.
    pub unauthenticated_pages: bool,
}

impl ServerOptions {
    /// Pages are served only when every listener address is loopback.
    pub fn for_listen_addr(addr: SocketAddr) -> ServerOptions {
        ServerOptions { unauthenticated_pages: addr.ip().is_loopback() }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    pub metrics: std::sync::Arc<metrics::Metrics>,
}

pub fn router(store: Store, options: ServerOptions) -> Router {
    let state = AppState { store, metrics: Default::default() };
    let mut app = Router::new()
        .route(ingest_protocol::INGEST_PATH, post(ingest::ingest_logs))
        .layer(DefaultBodyLimit::max(ingest_protocol::MAX_BODY_BYTES))
        .route("/healthz", get(pages::healthz))
        .route("/metrics", get(pages::metrics));
    if options.unauthenticated_pages {
        app = app
            .route("/", get(pages::index))
            .route("/companies/{code}/daily", get(pages::daily))
            .route("/companies/{code}/logs", get(pages::logs));
    }
    app.with_state(state)
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(store, options);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
