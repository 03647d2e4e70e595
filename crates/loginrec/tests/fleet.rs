//! Three `loginrec serve` processes on one PostgreSQL database, taking the same LanScope
//! batches at once: every log is stored once, every punch is right, and the daily job runs
//! once for the fleet. PostgreSQL only: ignored unless `LOGINREC_TEST_POSTGRES_URL` names a
//! server (see `test-support`).

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ingest_protocol::{ConnectorInfo, INGEST_PATH, IngestBatch, IngestResponse};
use lanscope_connector::folder::parse_file;
use loginrec_store::jobs::kind;
use test_support::{Engine, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_loginrec");

struct Fleet(Vec<Child>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn loginrec(db: &str, args: &[&str]) -> String {
    let output = Command::new(BIN).arg("--database-url").arg(db).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

test_support::postgres_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn three_processes_on_one_postgres_store_and_punch_everything_exactly_once() {
        let db = TestDb::new(Engine::Postgres).await;
        let url = db.url.clone();
        let work = tempfile::tempdir().unwrap();
        let out = work.path().to_str().unwrap();
        loginrec(
            &url,
            &[
                "simulate",
                "lanscope",
                "--out",
                out,
                "--users",
                "40",
                "--days",
                "5",
                "--start",
                "2024-02-05",
                "--seed",
                "3",
            ],
        );
        loginrec(&url, &["company", "create", "--code", "FLEET1", "--name", "並行株式会社"]);
        let token = loginrec(&url, &["company", "issue-token", "--code", "FLEET1"]).lines().last().unwrap().to_string();
        loginrec(&url, &["department", "import", "--company", "FLEET1", &format!("{out}/departments.csv")]);
        loginrec(&url, &["employee", "import", "--company", "FLEET1", &format!("{out}/employees.csv")]);
        loginrec(&url, &["link", "import", "--company", "FLEET1", &format!("{out}/links.csv")]);

        let mut bases = Vec::new();
        let mut children = Vec::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            children.push(
                Command::new(BIN)
                    .args(["--database-url", &url, "serve", "--listen", &format!("127.0.0.1:{port}")])
                    .args(["--employee-sync-at", "00:00", "--job-poll-seconds", "1"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            bases.push(format!("http://127.0.0.1:{port}"));
        }
        let fleet = Fleet(children);
        let http = reqwest::Client::new();
        for base in &bases {
            let mut up = false;
            for _ in 0..200 {
                if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(up, "{base} did not start");
        }

        let options = lanscope_csv::ReadOptions::default();
        let mut rows = Vec::new();
        for entry in std::fs::read_dir(work.path()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("kintai_") {
                rows.extend(parse_file(&std::fs::read(&path).unwrap(), &name, "FLEET1", &options).rows);
            }
        }
        let distinct: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        // Every batch goes to all three processes at the same moment.
        let mut sends = tokio::task::JoinSet::new();
        for chunk in rows.chunks(150) {
            for base in &bases {
                let batch = IngestBatch {
                    company_code: "FLEET1".into(),
                    connector: ConnectorInfo {
                        version: "1.0.0.5".into(),
                        host: "lsmgr".into(),
                        collection_start: None,
                    },
                    rows: chunk.to_vec(),
                };
                let request = http.post(format!("{base}{INGEST_PATH}")).bearer_auth(&token).json(&batch);
                sends.spawn(async move {
                    let response = request.send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.json::<IngestResponse>().await.unwrap()
                });
            }
        }
        let (mut accepted, mut duplicate) = (0, 0);
        while let Some(answer) = sends.join_next().await {
            let answer = answer.unwrap();
            accepted += answer.accepted;
            duplicate += answer.duplicate;
        }
        assert_eq!(accepted as usize, distinct.len(), "each log stored by exactly one process");
        assert_eq!(duplicate as usize, 2 * distinct.len(), "the two other copies were duplicates");

        let expected = std::fs::read_to_string(work.path().join("expected-punches.csv")).unwrap();
        let mut expected: Vec<&str> = expected.lines().skip(1).filter(|l| !l.is_empty()).collect();
        expected.sort();
        let timecard = loginrec(
            &url,
            &["timecard", "export", "--company", "FLEET1", "--from", "2024-02-01", "--to", "2024-02-29"],
        );
        let mut actual: Vec<&str> = timecard.lines().skip(1).map(|l| l.rsplit_once(',').unwrap().0).collect();
        actual.sort();
        assert_eq!(actual, expected);

        // The daily 勤革時連携 is due at once (00:00); wait for a few poll rounds of all three.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let store = db.store().await;
        let company = store.company_by_code("FLEET1").await.unwrap().unwrap();
        let syncs = store.jobs().list(kind::EMPLOYEE_SYNC, Some(company.id)).await.unwrap();
        assert_eq!(syncs.len(), 1, "{syncs:?}");
        assert_eq!((syncs[0].state.as_str(), syncs[0].attempts), ("done", 1));
        drop(fleet);
        store.close().await;
        db.cleanup().await;
    }
}
