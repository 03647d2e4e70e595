//! Accepting connections, with the limits a server on the open network needs. What must stay
//! true, whatever a client does:
//! - **Headers in time.** A connection must send a request's headers within
//!   [`Limits::header_read`] of opening (or of its previous answer): one that sends nothing,
//!   or half a header line, is closed (hyper's header-read timer).
//! - **Bodies in time.** A request body must arrive whole within [`Limits::body_total`] and never
//!   pause longer than [`Limits::body_idle`]; otherwise the answer is 408 and the handler never
//!   runs, so a body that declares a megabyte and sends two bytes holds nothing for long.
//!   Bodies are read before any handler runs, never beyond [`MAX_REQUEST_BYTES`].
//! - **Bounded connections.** At most [`Limits::max_connections`] connections are served at
//!   once; further ones wait in the kernel's backlog until one closes.
//! - **Graceful stop.** When the shutdown future completes, no connection is accepted and the
//!   requests in flight are answered before [`serve`] returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The largest body any route takes (an ingest batch); each route's own limit is lower or equal.
pub const MAX_REQUEST_BYTES: usize = ingest_protocol::MAX_BODY_BYTES;

/// How long a client may take, and how many may be served at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_read: Duration,
    pub body_idle: Duration,
    pub body_total: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    /// A request's headers within 10 s; an 8 MB ingest batch within 60 s (about 140 KB/s), never
    /// silent for 10 s; 1 024 connections, far above a company's connector and administrators.
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(10),
            body_total: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(limits, body_in_time));
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "Could not accept a connection.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(client = %remote, error = %e, "A connection ended with an error.");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Reads the whole request body within the limits before the handler runs (see the module docs).
async fn body_in_time(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let (parts, mut body) = request.into_parts();
    let deadline = tokio::time::Instant::now() + limits.body_total;
    let mut read = Vec::new();
    loop {
        let pause_ends = tokio::time::Instant::now() + limits.body_idle;
        let frame = match tokio::time::timeout_at(deadline.min(pause_ends), body.frame()).await {
            Err(_) => return too_slow(&parts),
            Ok(None) => break,
            Ok(Some(Err(_))) => return (StatusCode::BAD_REQUEST, "the request body broke off").into_response(),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if read.len() + data.len() > MAX_REQUEST_BYTES {
                return (StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large").into_response();
            }
            read.extend_from_slice(&data);
        }
    }
    next.run(Request::from_parts(parts, Body::from(read))).await
}

fn too_slow(parts: &axum::http::request::Parts) -> Response {
    let client = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string()).unwrap_or_default();
    tracing::info!(client = %client, "Closed a request whose body came too slowly.");
    let mut response = (StatusCode::REQUEST_TIMEOUT, "the request body did not arrive in time").into_response();
    response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    response
}
