//! The manual's §3 and §4 steps in a real headless Chromium, driven through ChromeDriver:
//! log in, download the 連携設定 CSV, edit and upload it, run 連携実行, filter ログ表示, see a
//! diagnostic, and fail to reach another company. Skipped with a notice when Chromium or
//! ChromeDriver is missing, unless `LOGINREC_REQUIRE_BROWSER=1` (as in CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use ingest_protocol::{ConnectorInfo, INGEST_PATH, IngestBatch, IngestRow};
use loginrec_rules::{DayChangeTime, LogKind};
use loginrec_store::{DepartmentInput, EmployeeInput};
use test_support::{Engine, TestDb, TestServer};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        if std::env::var("LOGINREC_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!(
                "LOGINREC_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing (apt install chromium chromium-driver)"
            );
        }
        eprintln!("notice: browser tests skipped; install Debian's chromium and chromium-driver to run them");
    }
    present
}

async fn wait_for_file(dir: &Path, suffix: &str) -> PathBuf {
    for _ in 0..100 {
        if let Some(path) = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(suffix))
        {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {suffix} file was downloaded into {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_follows_the_manual_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let db = TestDb::new(Engine::Sqlite).await;
    let store = db.store().await;
    for (code, password) in [("ABC", "abc password"), ("XYZ", "xyz password")] {
        let company = store.create_company(code, &format!("{code} 株式会社"), "Asia/Tokyo").await.unwrap();
        store
            .upsert_departments(
                company.id,
                &[DepartmentInput {
                    code: "100".into(),
                    name: "本社".into(),
                    day_change: DayChangeTime::LANSCOPE_DEFAULT,
                }],
            )
            .await
            .unwrap();
        let e = |code: &str, last: &str| EmployeeInput {
            code: code.into(),
            last_name: last.into(),
            first_name: "太郎".into(),
            department_code: "100".into(),
        };
        store.upsert_employees(company.id, &[e("0012", "勤怠"), e("1000", &format!("{code}社員"))]).await.unwrap();
        let hash = loginrec_server::hash_password(password.into()).await.unwrap();
        store.upsert_admin(company.id, "admin", &hash).await.unwrap();
    }
    let abc = store.company_by_code("ABC").await.unwrap().unwrap();
    let token = store.issue_token(abc.id).await.unwrap();
    let server = TestServer::start(store.clone()).await;
    let base = server.base_url.clone();
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let rows = [
        ("tarouk", LogKind::Logon, "2024-02-08T09:03:00"),
        ("tarouk", LogKind::Logoff, "2024-02-08T18:22:00"),
        ("kiosk", LogKind::Logon, "2024-02-08T10:00:00"),
    ]
    .iter()
    .map(|(u, k, t)| {
        let at = tz.to_ambiguous_timestamp(t.parse().unwrap()).compatible().unwrap();
        IngestRow::new("ABC", u.to_string(), *k, at.as_millisecond(), None, None, Some("7".into()), None)
    })
    .collect();
    let batch = IngestBatch {
        company_code: "ABC".into(),
        connector: ConnectorInfo {
            version: "1.0.0.5".into(),
            host: "lsmgr".into(),
            collection_start: Some("05:00".into()),
        },
        rows,
    };
    let r = reqwest::Client::new()
        .post(format!("{base}{INGEST_PATH}"))
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let downloads = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", format!("--user-data-dir={}", profile.path().display())],
            "prefs": {"download.default_directory": downloads.path().to_string_lossy(), "download.prompt_for_download": false}
        }),
    );
    let mut client = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("ChromeDriver started a browser");

    // Log in (seed §3.1 starts at the management screen).
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=company_code]")).await.unwrap().send_keys("ABC").await.unwrap();
    c.find(Locator::Css("input[name=login_id]")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("abc password").await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/companies/ABC")).unwrap()).await.unwrap();

    // 連携設定 → [CSV データ保存], edit サービスアカウント in a text editor, [CSV データ入力].
    c.goto(&format!("{base}/companies/ABC/links")).await.unwrap();
    c.find(Locator::Id("download-cp932")).await.unwrap().click().await.unwrap();
    let downloaded = wait_for_file(downloads.path(), ".csv").await;
    let bytes = std::fs::read(&downloaded).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad && text.contains("\"0012\",\"勤怠 太郎\",\"\""), "{text}");
    let edited = text.replace("\"0012\",\"勤怠 太郎\",\"\"", "\"0012\",\"勤怠 太郎\",\"tarouk\"");
    let upload = downloads.path().join("edited.csv");
    std::fs::write(&upload, encoding_rs::SHIFT_JIS.encode(&edited).0).unwrap();
    c.find(Locator::Id("upload")).await.unwrap().send_keys(&upload.to_string_lossy()).await.unwrap();
    c.find(Locator::Id("send")).await.unwrap().click().await.unwrap();
    // tarouk's logs came before the link: the page shows the days they will punch, then saves.
    let preview = c.wait().for_element(Locator::Id("confirm")).await.unwrap().text().await.unwrap();
    assert!(preview.contains("PC 2024/02/08 09:03") && preview.contains("PC 2024/02/08 18:22"), "{preview}");
    c.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let message = c.wait().for_element(Locator::Id("message")).await.unwrap().text().await.unwrap();
    assert_eq!(message, "2件のアカウントを更新");
    let table = c.find(Locator::Id("links")).await.unwrap().text().await.unwrap();
    assert!(table.contains("tarouk"), "{table}");

    // ユーザー設定 → 勤革時連携 → 連携実行.
    c.goto(&format!("{base}/companies/ABC/users")).await.unwrap();
    c.find(Locator::Id("sync")).await.unwrap().click().await.unwrap();
    let message = c.wait().for_element(Locator::Id("message")).await.unwrap().text().await.unwrap();
    assert!(message.starts_with("連携しました"), "{message}");

    // ログ表示, filtered to the unlinked kiosk user.
    c.goto(&format!("{base}/companies/ABC/logs")).await.unwrap();
    c.find(Locator::Css("input[name=account]")).await.unwrap().send_keys("kiosk").await.unwrap();
    c.find(Locator::Id("filter")).await.unwrap().click().await.unwrap();
    c.wait()
        .for_url(
            &url::Url::parse(&format!("{base}/companies/ABC/logs?from=&to=&account=kiosk&kind=&outcome=")).unwrap(),
        )
        .await
        .unwrap();
    let logs = c.find(Locator::Id("logs")).await.unwrap().text().await.unwrap();
    assert!(logs.contains("kiosk") && logs.contains("未連携") && !logs.contains("tarouk"), "{logs}");

    // 診断 lists the user name linked to nobody.
    c.goto(&format!("{base}/companies/ABC/diagnostics")).await.unwrap();
    let unlinked = c.find(Locator::Id("unlinked")).await.unwrap().text().await.unwrap();
    assert!(unlinked.contains("kiosk"), "{unlinked}");

    // Another company's pages cannot be reached by editing the URL.
    c.goto(&format!("{base}/companies/XYZ/daily")).await.unwrap();
    let body = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(body, "ページが見つかりません");

    c.close().await.unwrap();
    server.stop().await;
    store.close().await;
}
