//! Delivery runs while files are read: the server starts on the first file of a 05:00 burst
//! instead of after the last, and settling what it answered waits for a file being written into
//! the outbox instead of failing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use ingest_protocol::{IngestBatch, IngestResponse, IngestRow};
use lanscope_connector::Stop;
use lanscope_connector::config::Config;
use lanscope_connector::delivery::{RetryPolicy, deliver_while};
use lanscope_connector::outbox::{FileMark, FileRead, Outbox};
use lanscope_connector::sender::Sender;
use loginrec_rules::{AccessToken, CompanyCode, LogKind};

const COMPANY: &str = "ABC";

fn rows(from: usize, to: usize) -> Vec<IngestRow> {
    (from..to)
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

fn mark(n: i64) -> FileMark {
    FileMark { size: n, mtime_ns: n, sha256: format!("{n}") }
}

/// A server that accepts every row and keeps the keys it was sent.
async fn serve() -> (String, Arc<Mutex<Vec<String>>>) {
    async fn ingest(
        State(seen): State<Arc<Mutex<Vec<String>>>>,
        Json(batch): Json<IngestBatch>,
    ) -> Json<IngestResponse> {
        let n = batch.rows.len() as u64;
        seen.lock().unwrap().extend(batch.rows.into_iter().map(|r| r.key));
        Json(IngestResponse { accepted: n, duplicate: 0, rejected: 0, rejections: Vec::new() })
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().fallback(axum::routing::post(ingest)).with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), seen)
}

fn sender(dir: &std::path::Path, server: &str) -> Sender {
    let config = Config::new(
        CompanyCode::parse(COMPANY).unwrap(),
        &AccessToken::parse("0123456789abcdef0123456789abcdef").unwrap(),
        dir.to_path_buf(),
        server.to_string(),
    );
    Sender::new(&config).unwrap()
}

fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: Some(3), base: Duration::from_millis(1), cap: Duration::from_millis(5) }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rows_of_a_file_read_are_delivered_while_the_next_is_still_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).await.unwrap();
    let (server, seen) = serve().await;
    let sender = sender(dir.path(), &server);
    let (first, second) = (rows(0, 5), rows(5, 10));
    let first_keys: Vec<String> = first.iter().map(|r| r.key.clone()).collect();

    // The second file is read only once the server has the first: delivered after the reading
    // ends, the first would never arrive and the reading would give up.
    let reading = async {
        outbox.record_file("kintai1.csv", &mark(1), &FileRead { rows: first, ..FileRead::default() }).await?;
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while !first_keys.iter().all(|k| seen.lock().unwrap().contains(k)) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        anyhow::ensure!(waited.is_ok(), "the first file was not delivered while the second was read");
        outbox.record_file("kintai2.csv", &mark(2), &FileRead { rows: second, ..FileRead::default() }).await?;
        anyhow::Ok(())
    };
    let (read, delivered) = deliver_while(&outbox, &sender, 3, &policy(), &Stop::never(), reading).await;
    read.unwrap();
    assert_eq!(delivered.unwrap().delivered, 10, "the rows read after the first delivery went too");
    assert_eq!(seen.lock().unwrap().len(), 10);
    assert_eq!(outbox.queued().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn settling_delivered_rows_waits_for_a_file_being_written_into_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).await.unwrap();
    outbox.record_file("kintai1.csv", &mark(1), &FileRead { rows: rows(0, 3), ..FileRead::default() }).await.unwrap();
    let batch = outbox.next_batch(10).await.unwrap();
    let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();

    // A large file's rows go into the outbox in one transaction that lasts as long as the
    // file takes to read.
    let mut file = outbox.begin_file("kintai2.csv").await.unwrap();
    file.add(&rows(3, 6), &[]).await.unwrap();
    let settling = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.settle(&ids, &[]).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!settling.is_finished(), "settled while the file's transaction was open");
    file.finish(&mark(2), Some("events"), 0, None).await.unwrap();
    settling.await.unwrap().expect("settled once the file was in");
    assert_eq!(outbox.queued().await.unwrap(), 3, "the first file's rows left, the second's came");
}
