//! The ログイン記録 HTTP server: the LanScope ingest API ([`http`]), the administrator's
//! screens ([`ui`]) and the embedded 勤革時 module's KING OF TIME-shaped API. Handlers
//! translate HTTP to store calls and back; they decide no rule.
#![forbid(unsafe_code)]

pub mod csv_cell;
pub mod format;
mod http;
pub mod links;
mod listen;
mod metrics;
mod rate_limit;
pub mod timecard;
mod ui;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use loginrec_store::Store;
use tokio::net::TcpListener;

pub use http::error::ApiError;
pub use listen::Limits;

#[derive(Clone, Copy, Debug, Default)]
pub struct ServerOptions {
    /// Mark the session cookie `Secure` (sent over HTTPS only).
    pub secure_cookies: bool,
    /// A reverse proxy in front of the server terminates TLS and sets `X-Forwarded-For` and
    /// `X-Forwarded-Host`; trust them.
    pub behind_proxy: bool,
    /// Timeouts and the connection limit ([`Limits::default`] in production).
    pub limits: Limits,
}

impl ServerOptions {
    /// Cookies are `Secure` unless the server listens on a loopback address without a proxy
    /// in front: a public address, or a proxy, means TLS.
    pub fn for_listen_addr(addr: SocketAddr, behind_proxy: bool) -> ServerOptions {
        ServerOptions {
            secure_cookies: behind_proxy || !addr.ip().is_loopback(),
            behind_proxy,
            limits: Limits::default(),
        }
    }
}

pub use ui::session::hash_password;

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    pub metrics: std::sync::Arc<metrics::Metrics>,
    pub secure_cookies: bool,
    pub behind_proxy: bool,
    pub rate_limit: std::sync::Arc<rate_limit::PerCompany>,
    /// The diagnostics count every page's banner shows, recomputed at most once a minute per
    /// company: the checks read the company's logs, too much work for every page view.
    pub banner_cache: std::sync::Arc<ui::company::BannerCache>,
}

pub fn router(store: Store, options: ServerOptions) -> Router {
    let state = AppState {
        store,
        metrics: Default::default(),
        secure_cookies: options.secure_cookies,
        behind_proxy: options.behind_proxy,
        rate_limit: std::sync::Arc::new(rate_limit::PerCompany::new(rate_limit::INGEST_REQUESTS_PER_SECOND)),
        banner_cache: Default::default(),
    };
    let app = Router::new()
        .route(ingest_protocol::INGEST_PATH, post(http::ingest::ingest_logs).fallback(http::ingest::method_not_allowed))
        .route("/api/lanscope/{*rest}", any(http::ingest::no_such_path))
        .layer(DefaultBodyLimit::max(ingest_protocol::MAX_BODY_BYTES))
        .route("/healthz", get(http::ops::healthz))
        .route("/metrics", get(http::ops::metrics))
        .merge(ui::routes())
        .merge(http::kot::routes())
        .with_state(state);
    with_security_headers(app)
}

/// Headers every answer carries: nothing we serve is kept in a cache (pages show attendance
/// data and, once, a new token), framed by another site (clickjacking), or sniffed into another
/// type than it says.
fn with_security_headers(app: Router) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let headers: [(HeaderName, &'static str); 5] = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    headers.into_iter().fold(app, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}

/// Serves until `shutdown` completes, then finishes the requests in flight, within the
/// options' [`Limits`] (see [`listen`]).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(store, options), options.limits, shutdown).await
}
