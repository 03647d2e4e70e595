//! The fault-injecting HTTP proxy between the connector and the servers. Each request meets one
//! fault, drawn from a seeded generator: it passes, or the connection is reset before it is
//! forwarded, or it is answered 503, or 429 with `Retry-After`, or it stalls and then passes, or
//! it is forwarded and its answer is cut half-way, or it is forwarded and, once the server has
//! committed and answered, the answer is dropped. The last two leave the connector without an
//! answer for a batch the server stored: it must send it again, and the server must store it
//! once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// What happened to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Pass,
    Reset,
    Unavailable,
    TooManyRequests,
    Stall,
    CutAnswer,
    DropAfterCommit,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::Pass,
        Fault::Reset,
        Fault::Unavailable,
        Fault::TooManyRequests,
        Fault::Stall,
        Fault::CutAnswer,
        Fault::DropAfterCommit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Pass => "passed",
            Fault::Reset => "connection reset",
            Fault::Unavailable => "503",
            Fault::TooManyRequests => "429 with Retry-After",
            Fault::Stall => "stalled",
            Fault::CutAnswer => "answer cut half-way",
            Fault::DropAfterCommit => "answer dropped after commit",
        }
    }

    fn index(self) -> usize {
        Fault::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// The proxy's counters and switches, shared with the soak's other tasks.
pub struct Proxy {
    pub address: SocketAddr,
    counts: [AtomicU64; 7],
    /// Requests that found no server to forward to (one was restarting): answered 502.
    pub no_upstream: AtomicU64,
    faults_on: AtomicBool,
    rng: Mutex<ChaCha8Rng>,
    fault_rate: f64,
    upstreams: Vec<String>,
    next_upstream: AtomicUsize,
    http: reqwest::Client,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstreams` (base URLs) in turn.
    pub async fn start(upstreams: Vec<String>, seed: u64, fault_rate: f64) -> anyhow::Result<Arc<Proxy>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Arc::new(Proxy {
            address: listener.local_addr()?,
            counts: Default::default(),
            no_upstream: AtomicU64::new(0),
            faults_on: AtomicBool::new(true),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            fault_rate,
            upstreams,
            next_upstream: AtomicUsize::new(0),
            http: reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(300)).build()?,
        });
        let accepting = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let proxy = accepting.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let proxy = proxy.clone();
                        async move { proxy.handle(request).await }
                    });
                    // A fault ends its connection with an error on purpose.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(proxy)
    }

    /// From now on every request passes.
    pub fn stop_faults(&self) {
        self.faults_on.store(false, Ordering::SeqCst);
    }

    pub fn count(&self, fault: Fault) -> u64 {
        self.counts[fault.index()].load(Ordering::SeqCst)
    }

    async fn draw(&self) -> (Fault, Duration) {
        if !self.faults_on.load(Ordering::SeqCst) {
            return (Fault::Pass, Duration::ZERO);
        }
        let mut rng = self.rng.lock().await;
        let fault = if rng.random_bool(self.fault_rate.clamp(0.0, 1.0)) {
            Fault::ALL[rng.random_range(1..Fault::ALL.len())]
        } else {
            Fault::Pass
        };
        (fault, Duration::from_millis(rng.random_range(1_000..8_000)))
    }

    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
        let (fault, stall) = self.draw().await;
        self.counts[fault.index()].fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::Reset => return Err(broken("reset by the soak's proxy")),
            Fault::Unavailable => {
                return Ok(json(StatusCode::SERVICE_UNAVAILABLE, None, "unavailable", "injected 503"));
            }
            Fault::TooManyRequests => {
                return Ok(json(StatusCode::TOO_MANY_REQUESTS, Some("1"), "rate_limited", "injected 429"));
            }
            Fault::Stall => tokio::time::sleep(stall).await,
            Fault::Pass | Fault::CutAnswer | Fault::DropAfterCommit => {}
        }
        let (status, headers, body) = match self.forward(request).await {
            Ok(answer) => answer,
            Err(_) => {
                self.no_upstream.fetch_add(1, Ordering::SeqCst);
                return Ok(json(StatusCode::BAD_GATEWAY, None, "unavailable", "no server answered"));
            }
        };
        match fault {
            // The server has committed and answered; the connector never hears it.
            Fault::DropAfterCommit => Err(broken("answer dropped by the soak's proxy")),
            Fault::CutAnswer => {
                let (mut sender, channel) = Channel::<Bytes, std::io::Error>::new(1);
                let half = body.slice(..body.len() / 2);
                tokio::spawn(async move {
                    let _ = sender.send_data(half).await;
                    sender.abort(broken("answer cut by the soak's proxy"));
                });
                Ok(answer(status, headers, Either::Right(channel)))
            }
            _ => Ok(answer(status, headers, Either::Left(Full::new(body)))),
        }
    }

    async fn forward(&self, request: Request<Incoming>) -> anyhow::Result<(StatusCode, hyper::HeaderMap, Bytes)> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let upstream = &self.upstreams[self.next_upstream.fetch_add(1, Ordering::SeqCst) % self.upstreams.len()];
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())?;
        let mut outgoing = self.http.request(method, format!("{upstream}{path}")).body(body);
        for (name, value) in &parts.headers {
            if !matches!(name.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
                outgoing = outgoing.header(name.as_str(), value.as_bytes());
            }
        }
        let response = outgoing.send().await?;
        let status = StatusCode::from_u16(response.status().as_u16())?;
        let mut headers = hyper::HeaderMap::new();
        for (name, value) in response.headers() {
            if matches!(name.as_str(), "content-type" | "retry-after") {
                headers.insert(
                    hyper::header::HeaderName::from_bytes(name.as_str().as_bytes())?,
                    hyper::header::HeaderValue::from_bytes(value.as_bytes())?,
                );
            }
        }
        Ok((status, headers, response.bytes().await?))
    }
}

type Body = Either<Full<Bytes>, Channel<Bytes, std::io::Error>>;

fn broken(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionReset, what.to_string())
}

fn answer(status: StatusCode, headers: hyper::HeaderMap, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// An answer in the ingest API's error shape.
fn json(status: StatusCode, retry_after: Option<&'static str>, error: &str, message: &str) -> Response<Body> {
    let text = format!(r#"{{"error":"{error}","message":"{message}"}}"#);
    let mut headers = hyper::HeaderMap::new();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after {
        headers.insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static(seconds));
    }
    answer(status, headers, Either::Left(Full::new(Bytes::from(text))))
}
