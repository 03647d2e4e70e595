//! Delivery keeps several batches in flight and settles each answered one while the next is at the
//! server: what the server sees, and what the outbox keeps, when a batch in the middle fails.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest_protocol::{IngestBatch, IngestResponse, IngestRow, RowRejection};
use lanscope_connector::config::Config;
use lanscope_connector::delivery::{IN_FLIGHT, RetryPolicy, deliver_all, deliver_while_reading};
use lanscope_connector::outbox::{FileMark, FileRead, Outbox};
use lanscope_connector::sender::Sender;
use lanscope_connector::status::{LAST_ERROR, LAST_SUCCESS};
use loginrec_rules::{AccessToken, CompanyCode, LogKind};

const COMPANY: &str = "ABC";

fn rows(n: usize) -> Vec<IngestRow> {
    (0..n)
        .map(|i| {
            IngestRow::new(
                COMPANY,
                format!("CORP\\user{i:03}"),
                LogKind::Logon,
                1_707_469_200_000 + i as i64 * 1000,
                None,
                Some("1".into()),
                Some(format!("{}", 100 + i)),
                Some(format!("PC-{i:03}")),
            )
        })
        .collect()
}

/// The keys of a request, and how many rows the outbox held when it came.
type Request = (Vec<String>, i64);

/// An outbox in `dir` holding `rows`, as read from one file.
async fn outbox_with(dir: &tempfile::TempDir, rows: Vec<IngestRow>) -> Outbox {
    let outbox = Outbox::open(dir.path()).await.unwrap();
    let count = rows.len() as u64;
    let mark = FileMark { size: 1, mtime_ns: 1, sha256: "x".into() };
    let read = FileRead { rows, ..FileRead::default() };
    assert_eq!(outbox.record_file("kintai.csv", &mark, &read).await.unwrap(), count);
    outbox
}

/// Serves `app` on a port of its own; a sender to it, configured in `dir`.
async fn sender_to(app: axum::Router, dir: &tempfile::TempDir) -> Sender {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = Config::new(
        CompanyCode::parse(COMPANY).unwrap(),
        &AccessToken::parse("0123456789abcdef0123456789abcdef").unwrap(),
        dir.path().to_path_buf(),
        format!("http://{address}"),
    );
    Sender::new(&config).unwrap()
}

/// A server that records the keys of every request and how many rows the outbox held when
/// it came, fails the first request that holds the fourth row with 503, and refuses the seventh
/// row whenever it comes.
#[derive(Clone)]
struct Recording {
    requests: Arc<Mutex<Vec<Request>>>,
    outbox: Outbox,
}

async fn ingest(State(server): State<Recording>, Json(batch): Json<IngestBatch>) -> Response {
    let keys: Vec<String> = batch.rows.iter().map(|r| r.key.clone()).collect();
    let queued = server.outbox.queued().await.unwrap();
    let failed_before = {
        let mut requests = server.requests.lock().unwrap();
        let failed_before = requests.iter().any(|(k, _)| k.contains(&rows(10)[3].key));
        requests.push((keys.clone(), queued));
        failed_before
    };
    if keys.contains(&rows(10)[3].key) && !failed_before {
        return (StatusCode::SERVICE_UNAVAILABLE, [("Retry-After", "0")], "busy").into_response();
    }
    let rejections: Vec<RowRejection> = keys
        .iter()
        .filter(|k| **k == rows(10)[6].key)
        .map(|k| RowRejection { key: k.clone(), reason: "refused for the test".into() })
        .collect();
    Json(IngestResponse {
        accepted: (keys.len() - rejections.len()) as u64,
        duplicate: 0,
        rejected: rejections.len() as u64,
        rejections,
    })
    .into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_batch_is_sent_again_and_every_row_leaves_the_outbox_once_answered() {
    let dir = tempfile::tempdir().unwrap();
    let sent = rows(10);
    let outbox = outbox_with(&dir, sent.clone()).await;
    let server = Recording { requests: Arc::default(), outbox: outbox.clone() };
    let sender =
        sender_to(axum::Router::new().fallback(axum::routing::post(ingest)).with_state(server.clone()), &dir).await;
    let policy = RetryPolicy { max_attempts: Some(3), base: Duration::from_millis(1), cap: Duration::from_millis(5) };
    let report = deliver_all(&outbox, &sender, 3, &policy).await.unwrap();

    let keys: Vec<String> = sent.iter().map(|r| r.key.clone()).collect();
    let requests = server.requests.lock().unwrap().clone();
    let batches: Vec<Vec<String>> = requests.iter().map(|(k, _)| k.clone()).collect();
    for batch in &batches {
        let first = keys.iter().position(|key| key == &batch[0]).unwrap();
        assert_eq!(batch, &keys[first..(first + batch.len())], "a batch is a stretch of the outbox in its order");
    }
    let sent_at = |stretch: &[String]| -> Vec<usize> {
        batches.iter().enumerate().filter(|(_, b)| b.as_slice() == stretch).map(|(i, _)| i).collect()
    };
    assert_eq!(sent_at(&keys[0..3]).len(), 1, "{batches:?}");
    let failed = sent_at(&keys[3..6]);
    assert_eq!(failed.len(), 2, "the failed batch is sent again: {batches:?}");
    // Batches are in flight together, so the server may see them in any order.
    assert!(!sent_at(&keys[6..9]).is_empty() && !sent_at(&keys[9..10]).is_empty(), "{batches:?}");
    for (k, queued) in &requests {
        let first = keys.iter().position(|key| key == &k[0]).unwrap();
        assert!(*queued >= (keys.len() - first) as i64, "a row left the outbox before it was answered: {requests:?}");
    }
    assert_eq!((report.delivered, report.dead), (9, 1));
    assert_eq!(outbox.queued().await.unwrap(), 0, "every answered row left the outbox");
    let dead = outbox.dead_letters().await.unwrap();
    assert_eq!(
        dead.iter().map(|d| (d.key.as_str(), d.reason.as_str())).collect::<Vec<_>>(),
        vec![(keys[6].as_str(), "refused for the test")]
    );
    assert!(outbox.state(LAST_SUCCESS).await.unwrap().is_some());
    assert_eq!(outbox.state(LAST_ERROR).await.unwrap(), None, "the failure is over");
}

/// A server that answers the first request at once and no later one until `IN_FLIGHT` have been
/// at it at once (or a while has passed): the requests it holds now, the most it held at once,
/// and whether the first was answered.
#[derive(Clone)]
struct Overlap {
    at_server: Arc<tokio::sync::watch::Sender<(usize, usize)>>,
    answered_first: Arc<Mutex<bool>>,
}

async fn held_ingest(State(server): State<Overlap>, Json(batch): Json<IngestBatch>) -> Response {
    let n = batch.rows.len() as u64;
    let answer = Json(IngestResponse { accepted: n, duplicate: 0, rejected: 0, rejections: Vec::new() });
    if !std::mem::replace(&mut *server.answered_first.lock().unwrap(), true) {
        return answer.into_response();
    }
    server.at_server.send_modify(|(now, most)| {
        *now += 1;
        *most = (*most).max(*now);
    });
    let mut at_server = server.at_server.subscribe();
    let _ = tokio::time::timeout(Duration::from_secs(5), at_server.wait_for(|(_, most)| *most >= IN_FLIGHT)).await;
    server.at_server.send_modify(|(now, _)| *now -= 1);
    answer.into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_batch_is_at_the_server_while_it_works_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let batches = IN_FLIGHT + 1;
    let outbox = outbox_with(&dir, rows(3 * batches)).await;
    let server = Overlap { at_server: Arc::new(tokio::sync::watch::channel((0, 0)).0), answered_first: Arc::default() };
    let app = axum::Router::new().fallback(axum::routing::post(held_ingest)).with_state(server.clone());
    let sender = sender_to(app, &dir).await;
    let report = deliver_all(&outbox, &sender, 3, &RetryPolicy::once()).await.unwrap();

    assert_eq!(report.delivered, 3 * batches as u64);
    assert_eq!(outbox.queued().await.unwrap(), 0);
    assert_eq!(server.at_server.borrow().1, IN_FLIGHT, "the later batches came while the first was at the server");
}

/// Batches of three rows: the first, answered alone, and one more than can be at the server at
/// once.
const SLOW_FIRST_ROWS: usize = 3 * (IN_FLIGHT + 2);

/// A server that holds the second batch of three rows (the first sent with others) until the
/// last of [`SLOW_FIRST_ROWS`] comes (or a while has passed), and answers every other batch at
/// once: whether the last came while it held the second.
#[derive(Clone)]
struct SlowFirst {
    last_came: Arc<tokio::sync::watch::Sender<bool>>,
    came_while_held: Arc<Mutex<Option<bool>>>,
}

async fn slow_first_ingest(State(server): State<SlowFirst>, Json(batch): Json<IngestBatch>) -> Response {
    let keys: Vec<&str> = batch.rows.iter().map(|r| r.key.as_str()).collect();
    let sent = rows(SLOW_FIRST_ROWS);
    if keys.contains(&sent[SLOW_FIRST_ROWS - 1].key.as_str()) {
        server.last_came.send_replace(true);
    }
    if keys.contains(&sent[3].key.as_str()) {
        let mut last = server.last_came.subscribe();
        let came = tokio::time::timeout(Duration::from_secs(5), last.wait_for(|came| *came)).await.is_ok();
        *server.came_while_held.lock().unwrap() = Some(came);
    }
    let n = batch.rows.len() as u64;
    Json(IngestResponse { accepted: n, duplicate: 0, rejected: 0, rejections: Vec::new() }).into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_sent_as_soon_as_one_at_the_server_is_answered_even_a_later_one() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox_with(&dir, rows(SLOW_FIRST_ROWS)).await;
    let server =
        SlowFirst { last_came: Arc::new(tokio::sync::watch::channel(false).0), came_while_held: Arc::default() };
    let app = axum::Router::new().fallback(axum::routing::post(slow_first_ingest)).with_state(server.clone());
    let sender = sender_to(app, &dir).await;
    let report = deliver_all(&outbox, &sender, 3, &RetryPolicy::once()).await.unwrap();

    assert_eq!(report.delivered, SLOW_FIRST_ROWS as u64);
    assert_eq!(outbox.queued().await.unwrap(), 0, "every answered row left the outbox");
    assert_eq!(
        *server.came_while_held.lock().unwrap(),
        Some(true),
        "the last batch was sent when a later one was answered, while the server held the second"
    );
}

/// A server that is down: 503 to every request, retry at once. The first rows of each request,
/// and the most requests it held at once.
#[derive(Clone, Default)]
struct Down {
    requests: Arc<Mutex<Vec<String>>>,
    at_server: Arc<Mutex<(usize, usize)>>,
}

async fn down_ingest(State(server): State<Down>, Json(batch): Json<IngestBatch>) -> Response {
    {
        let (now, most) = &mut *server.at_server.lock().unwrap();
        *now += 1;
        *most = (*most).max(*now);
    }
    server.requests.lock().unwrap().push(batch.rows[0].key.clone());
    // Long enough for a second request sent with this one to arrive.
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.at_server.lock().unwrap().0 -= 1;
    (StatusCode::SERVICE_UNAVAILABLE, [("Retry-After", "0")], "down").into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_gets_one_batch_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox_with(&dir, rows(3 * IN_FLIGHT)).await;
    let server = Down::default();
    let app = axum::Router::new().fallback(axum::routing::post(down_ingest)).with_state(server.clone());
    let sender = sender_to(app, &dir).await;
    let error = deliver_all(&outbox, &sender, 3, &RetryPolicy::once()).await.unwrap_err();

    assert!(error.to_string().contains("gave up after 6 attempts"), "{error}");
    let first = rows(1)[0].key.clone();
    assert_eq!(*server.requests.lock().unwrap(), vec![first; 6], "the first batch, six times");
    assert_eq!(server.at_server.lock().unwrap().1, 1, "one request at a time");
    assert_eq!(outbox.queued().await.unwrap(), 3 * IN_FLIGHT as i64, "every row is kept");
}

/// A server that answers every batch and counts the rows it was sent.
async fn counting_ingest(
    State(sent): State<Arc<tokio::sync::watch::Sender<usize>>>,
    Json(batch): Json<IngestBatch>,
) -> Response {
    sent.send_modify(|n| *n += batch.rows.len());
    let n = batch.rows.len() as u64;
    Json(IngestResponse { accepted: n, duplicate: 0, rejected: 0, rejections: Vec::new() }).into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_files_rows_are_sent_while_the_next_file_is_read_and_settled_once_it_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let all = rows(9);
    let outbox = outbox_with(&dir, all[..3].to_vec()).await;
    let sent = Arc::new(tokio::sync::watch::channel(0usize).0);
    let app = axum::Router::new().fallback(axum::routing::post(counting_ingest)).with_state(Arc::clone(&sent));
    let sender = sender_to(app, &dir).await;
    let (read_tx, read_rx) = tokio::sync::watch::channel(false);
    let policy = RetryPolicy::once();
    let delivering = deliver_while_reading(&outbox, &sender, 2, &policy, read_rx);
    let reading = async {
        // The first file's rows reach the server while the second file is being read: its rows
        // are written in one transaction, open while those rows are answered and settled.
        let mut second = outbox.begin_file("kintai2.csv").await.unwrap();
        second.add(&all[3..6], &[]).await.unwrap();
        sent.subscribe().wait_for(|n| *n == 3).await.unwrap();
        let mark = FileMark { size: 2, mtime_ns: 2, sha256: "y".into() };
        assert_eq!(second.finish(&mark, None, 0, None).await.unwrap(), 3);
        sent.subscribe().wait_for(|n| *n == 6).await.unwrap();
        // A file recorded as the reading ends is delivered too.
        let mark = FileMark { size: 3, mtime_ns: 3, sha256: "z".into() };
        let read = FileRead { rows: all[6..].to_vec(), ..FileRead::default() };
        assert_eq!(outbox.record_file("kintai3.csv", &mark, &read).await.unwrap(), 3);
        read_tx.send_replace(true);
    };
    let (report, ()) = tokio::join!(delivering, reading);
    let report = report.unwrap();

    assert_eq!((report.delivered, report.dead), (9, 0));
    assert_eq!(*sent.borrow(), 9, "each row was sent once");
    assert_eq!(outbox.queued().await.unwrap(), 0, "every answered row left the outbox");
}
