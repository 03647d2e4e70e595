//! What a hostile or broken client cannot do to a running server: hold connections open with
//! unfinished headers or bodies, take every connection, get pages cached, framed or sniffed;
//! and the files the server writes are its own.

use std::time::{Duration, Instant};

use loginrec_server::{Limits, ServerOptions};
use test_support::{Engine, SeedEmployee, TestApp, TestDb, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EMPLOYEES: [SeedEmployee; 1] = [("0001", "勤怠", "100", Some("tarou"))];

/// The server with short limits, so that a test waits seconds rather than minutes.
async fn server_with(limits: Limits) -> (TestServer, TestDb) {
    let db = TestDb::new(Engine::Sqlite).await;
    let store = db.store().await;
    let server = TestServer::start_with(store, ServerOptions { limits, ..Default::default() }).await;
    (server, db)
}

fn short() -> Limits {
    Limits {
        header_read: Duration::from_secs(1),
        body_idle: Duration::from_secs(1),
        body_total: Duration::from_secs(3),
        max_connections: 64,
    }
}

/// Everything the server sends on `stream` until it closes it, or `None` when it is still open
/// after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let (server, db) = server_with(short()).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    assert!(read_until_closed(&mut stream, Duration::from_secs(8)).await.is_some(), "closed");
    assert!(started.elapsed() < Duration::from_secs(8));
    let mut silent = TcpStream::connect(server.address).await.unwrap();
    assert!(read_until_closed(&mut silent, Duration::from_secs(8)).await.is_some(), "a silent one too");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_body_that_stalls_or_trickles_gets_408_and_the_connection_closes() {
    let (server, db) = server_with(short()).await;
    let head = "POST /api/lanscope/v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Length: 1000000\r\n\r\n";
    // Two bytes of a declared megabyte, then nothing.
    let mut stalled = TcpStream::connect(server.address).await.unwrap();
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(b"{\"").await.unwrap();
    let answer = read_until_closed(&mut stalled, Duration::from_secs(8)).await.expect("closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A byte every half second never pauses long, but the whole body is late.
    let started = Instant::now();
    let mut trickle = TcpStream::connect(server.address).await.unwrap();
    trickle.write_all(head.as_bytes()).await.unwrap();
    let mut answer = None;
    for _ in 0..30 {
        if trickle.write_all(b" ").await.is_err() {
            break;
        }
        if let Ok(Some(a)) = tokio::time::timeout(Duration::from_millis(500), async {
            let mut buf = [0u8; 1024];
            match trickle.read(&mut buf).await {
                Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
                _ => None,
            }
        })
        .await
        {
            answer = Some(a);
            break;
        }
    }
    let answer = answer.expect("an answer before the body ends");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let limits = Limits { max_connections: 2, header_read: Duration::from_secs(30), ..short() };
    let (server, db) = server_with(limits).await;
    let first = TcpStream::connect(server.address).await.unwrap();
    let _second = TcpStream::connect(server.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(server.address).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    assert!(read_until_closed(&mut third, Duration::from_secs(2)).await.is_none(), "not served while two are open");
    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(8)).await.expect("served once one closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn every_answer_forbids_caching_framing_and_sniffing() {
    let app = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/login", "/healthz", "/api/lanscope/v1/logs", "/api/v1.0/company", "/companies/ABC"] {
        let response = anonymous.get(format!("{}{path}", app.server.base_url)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["content-security-policy"], "frame-ancestors 'none'", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    }
    let page = app.admin.get("/companies/ABC/logs").await;
    assert_eq!(page.headers()["cache-control"], "no-store", "a signed-in page");
    app.finish().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_backups_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/loginrec.db");
    let store = loginrec_store::Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    store.create_company("ABC", "株式会社サンプル", "Asia/Tokyo").await.unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("data/loginrec.db-wal")), 0o600);
    let backup = dir.path().join("backup.db");
    store.backup_sqlite(&backup).await.unwrap();
    assert_eq!(mode(&backup), 0o600);
    assert!(std::fs::metadata(&backup).unwrap().len() > 0, "the backup holds the database");
    store.close().await;
    // A database left readable by everyone is narrowed when the server opens it.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = loginrec_store::Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    store.close().await;
}
