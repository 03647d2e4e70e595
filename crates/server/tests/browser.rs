//! The manual's §3 and §4 steps in a real headless Chromium, driven through ChromeDriver:
//! log in, download the 連携設定 CSV, edit it, upload it and review it before saving, run
//! 連携実行, sort 日別データ, switch time cards and have a 手入力 refused, filter ログ表示, see a
//! diagnostic and link from it, fail to reach another company, and as the operator reissue a
//! token, have a company registration refused and come back from a company's screens.
//!
//! The test is reported as ignored when Debian's Chromium (`/usr/bin/chromium`) or ChromeDriver
//! (`/usr/bin/chromedriver`) is missing: `build.rs` sets `--cfg loginrec_browser` only when both
//! are installed, or when `LOGINREC_REQUIRE_BROWSER=1` (as in CI) makes the test run, and fail,
//! without them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use loginrec_rules::LogKind;
use test_support::{ADMIN_PASSWORD, Engine, TestApp};

// The programs `build.rs` looks for.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
#[cfg_attr(not(loginrec_browser), ignore = "install Debian's chromium and chromium-driver")]
async fn an_administrator_follows_the_manual_in_a_real_browser() {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(Path::new(program).exists(), "{program} is missing (apt install chromium chromium-driver)");
    }
    let app = TestApp::start(Engine::Sqlite, &[("0012", "勤怠", "100", None), ("1000", "ABC社員", "100", None)]).await;
    let xyz = [("0012", "勤怠", "100", None), ("1000", "XYZ社員", "100", None)];
    test_support::seed_company(&app.store, "XYZ", &xyz, Some("xyz password")).await;
    let hash = loginrec_server::hash_password("operator password".into()).await.unwrap();
    app.store.admins().upsert_admin(loginrec_store::admins::OPERATOR, "support", &hash).await.unwrap();
    let base = app.server.base_url.clone();
    app.send_logs(&[
        ("tarouk", LogKind::Logon, "2024-02-08T09:03:00"),
        ("tarouk", LogKind::Logoff, "2024-02-08T18:22:00"),
        ("kiosk", LogKind::Logon, "2024-02-08T10:00:00"),
    ])
    .await;

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
    // The company code in either case (codes are unique regardless of case).
    c.find(Locator::Css("input[name=company_code]")).await.unwrap().send_keys("abc").await.unwrap();
    c.find(Locator::Css("input[name=login_id]")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(ADMIN_PASSWORD).await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/companies/ABC")).unwrap()).await.unwrap();

    // 連携設定 → [CSV データ保存], edit サービスアカウント in a text editor, [CSV データ入力].
    c.goto(&format!("{base}/companies/ABC/links")).await.unwrap();
    c.find(Locator::Id("download-cp932")).await.unwrap().click().await.unwrap();
    let downloaded = wait_for_file(downloads.path(), ".csv").await;
    let bytes = std::fs::read(&downloaded).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad && text.contains("\"0012\",\"勤怠 太郎\",\"\""), "{text}");
    let edited = text
        .replace("\"0012\",\"勤怠 太郎\",\"\"", "\"0012\",\"勤怠 太郎\",\"tarouk\"")
        .replace("\"1000\",\"ABC社員 太郎\",\"\"", "\"1000\",\"ABC社員 次郎\",\"\"");
    let upload = downloads.path().join("edited.csv");
    std::fs::write(&upload, encoding_rs::SHIFT_JIS.encode(&edited).0).unwrap();
    c.find(Locator::Id("upload")).await.unwrap().send_keys(&upload.to_string_lossy()).await.unwrap();
    c.find(Locator::Id("send")).await.unwrap().click().await.unwrap();
    // Every changed row before → after, what looks wrong, and the days tarouk's earlier logs
    // will punch; nothing is saved before [保存する].
    let review = c.wait().for_element(Locator::Id("import-rows")).await.unwrap().text().await.unwrap();
    assert!(review.contains("0012") && review.contains("tarouk") && review.contains("(なし)"), "{review}");
    let warnings = c.find(Locator::Id("warnings")).await.unwrap().text().await.unwrap();
    assert!(warnings.contains("3行目") && warnings.contains("「ABC社員 次郎」が打刻先アカウント 1000"), "{warnings}");
    let preview = c.find(Locator::Id("confirm")).await.unwrap().text().await.unwrap();
    assert!(preview.contains("PC 2024/02/08 09:03") && preview.contains("PC 2024/02/08 18:22"), "{preview}");
    assert!(app.links().await.iter().all(|l| l.service_account.is_none()), "nothing saved yet");
    c.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let message = c.wait().for_element(Locator::Id("message")).await.unwrap().text().await.unwrap();
    assert!(message.starts_with("2件のアカウントを更新"), "every row of the file counts: {message}");
    assert_eq!(c.current_url().await.unwrap().path(), "/companies/ABC/links");
    let table = c.find(Locator::Id("links")).await.unwrap().text().await.unwrap();
    assert!(table.contains("tarouk"), "{table}");
    // A reload shows the list, imports nothing again and says nothing again.
    let audits = app.page("/companies/ABC/logs").await.matches("連携設定 CSV データ入力").count();
    c.refresh().await.unwrap();
    c.wait().for_element(Locator::Id("links")).await.unwrap();
    assert!(c.find(Locator::Id("message")).await.is_err(), "the result is said once");
    assert_eq!(app.page("/companies/ABC/logs").await.matches("連携設定 CSV データ入力").count(), audits);

    // ユーザー設定 → 勤革時連携 → 連携実行.
    c.goto(&format!("{base}/companies/ABC/users")).await.unwrap();
    c.find(Locator::Id("sync")).await.unwrap().click().await.unwrap();
    let message = c.wait().for_element(Locator::Id("message")).await.unwrap().text().await.unwrap();
    assert!(message.starts_with("連携しました: 追加 "), "{message}");
    let runs = c.find(Locator::Id("runs")).await.unwrap().text().await.unwrap();
    assert!(runs.contains("手動 ") && runs.contains("完了") && runs.contains("件 / 更新 "), "{runs}");
    let tab = c.find(Locator::Css("header a[aria-current=page]")).await.unwrap().text().await.unwrap();
    assert_eq!(tab, "ユーザー設定");

    // 日別データ sorted by 出勤, then a time card: switch employees, and a refused 手入力
    // comes back with what was typed.
    c.goto(&format!("{base}/companies/ABC/daily?date=2024-02-08")).await.unwrap();
    c.find(Locator::Id("sort-in")).await.unwrap().click().await.unwrap();
    c.wait()
        .for_url(&url::Url::parse(&format!("{base}/companies/ABC/daily?date=2024-02-08&department=&sort=in")).unwrap())
        .await
        .unwrap();
    let heading = c.find(Locator::Id("sort-in")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "出勤▲");
    let shown = c.find(Locator::Id("shown")).await.unwrap().text().await.unwrap();
    assert_eq!(shown, "1–2 / 2 名");
    c.find(Locator::Css("#daily a[href^='/companies/ABC/timecard/0012']")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("next-employee")).await.unwrap().click().await.unwrap();
    let employee = c.wait().for_element(Locator::Id("employee")).await.unwrap().text().await.unwrap();
    assert!(employee.starts_with("1000 "), "{employee}");
    c.find(Locator::Id("switch-employee")).await.unwrap().send_keys("0012").await.unwrap();
    c.find(Locator::Id("switch")).await.unwrap().click().await.unwrap();
    c.wait()
        .for_url(&url::Url::parse(&format!("{base}/companies/ABC/timecard/0012?month=2024-02")).unwrap())
        .await
        .unwrap();
    c.execute(
        "document.querySelector('#punch input[name=date]').value = '2024-02-08';\
         document.querySelector('#punch input[name=at]').value = '2024-02-12T08:00';\
         document.querySelector('#punch select[name=kind]').value = 'out';",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("save-punch")).await.unwrap().click().await.unwrap();
    let error = c.wait().for_element(Locator::Id("punch-error")).await.unwrap().text().await.unwrap();
    assert!(error.contains("勤務日 2024/02/08 の当日か翌日"), "{error}");
    let at = c.find(Locator::Css("#punch input[name=at]")).await.unwrap().prop("value").await.unwrap();
    let kind = c.find(Locator::Css("#punch select[name=kind]")).await.unwrap().prop("value").await.unwrap();
    assert_eq!((at.as_deref(), kind.as_deref()), (Some("2024-02-12T08:00"), Some("out")), "kept as typed");
    let tab = c.find(Locator::Css("header a[aria-current=page]")).await.unwrap().text().await.unwrap();
    assert_eq!(tab, "日別データ", "the time card is part of 日別データ");
    // This month's card offers today for a 手入力.
    let today = || jiff::Timestamp::now().in_tz("Asia/Tokyo").unwrap().date().to_string();
    let before = today();
    c.goto(&format!("{base}/companies/ABC/timecard/0012")).await.unwrap();
    let offered = c.find(Locator::Css("#punch input[name=date]")).await.unwrap().prop("value").await.unwrap();
    let offered = offered.unwrap_or_default();
    assert!(offered == before || offered == today(), "{offered}: today, even across midnight");

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
    let count = c.find(Locator::Id("count")).await.unwrap().text().await.unwrap();
    assert_eq!(count, "該当するログ: 1 件 (受信したログ: 3 件)", "the count follows the filters");
    // Part of a name finds it, and each log says in words what it became.
    c.goto(&format!("{base}/companies/ABC/logs?account=arou")).await.unwrap();
    let logs = c.find(Locator::Id("logs")).await.unwrap().text().await.unwrap();
    assert!(logs.contains("出勤として打刻") && logs.contains("退勤として打刻 (その日の最後のログ)"), "{logs}");
    c.goto(&format!("{base}/companies/ABC/logs?account=nobody")).await.unwrap();
    let empty = c.find(Locator::Id("empty")).await.unwrap().text().await.unwrap();
    assert_eq!(empty, "該当するログはありません。");

    // 診断 lists the user name linked to nobody.
    c.goto(&format!("{base}/companies/ABC/diagnostics")).await.unwrap();
    let unlinked = c.find(Locator::Id("unlinked")).await.unwrap().text().await.unwrap();
    assert!(unlinked.contains("kiosk"), "{unlinked}");
    // 紐づける… previews first; 取消 leaves everything as it was.
    c.find(Locator::Css("button.link-account")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("apply")).await.unwrap();
    c.find(Locator::Id("cancel")).await.unwrap().click().await.unwrap();
    let unlinked = c.wait().for_element(Locator::Id("unlinked")).await.unwrap().text().await.unwrap();
    assert!(unlinked.contains("kiosk"), "取消 links nothing: {unlinked}");
    let title = c.title().await.unwrap();
    assert_eq!(title.split(" - ").next().unwrap().trim(), "診断", "{title}");
    // … and 反映する links, says so, and the list no longer has the user.
    c.find(Locator::Css("button.link-account")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("apply")).await.unwrap().click().await.unwrap();
    let message = c.wait().for_element(Locator::Id("message")).await.unwrap().text().await.unwrap();
    assert!(message.starts_with("kiosk を ") && message.contains("日の打刻が変わりました"), "{message}");
    c.find(Locator::Id("no-unlinked")).await.unwrap();

    // Another company's pages cannot be reached by editing the URL.
    c.goto(&format!("{base}/companies/XYZ/daily")).await.unwrap();
    let body = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(body, "ページが見つかりません");

    // サポートセンター: reissuing a token asks first, then shows the new token once.
    c.goto(&format!("{base}/companies/ABC")).await.unwrap();
    c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/login")).unwrap()).await.unwrap();
    c.find(Locator::Css("input[name=login_id]")).await.unwrap().send_keys("support").await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("operator password").await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/operator")).unwrap()).await.unwrap();
    let reissue = Locator::Css("a.issue-token[href='/operator/companies/ABC/token']");
    c.find(reissue).await.unwrap().click().await.unwrap();
    let warning = c.wait().for_element(Locator::Id("replaces")).await.unwrap().text().await.unwrap();
    assert!(warning.contains("ログを送れなくなります"), "{warning}");
    c.find(Locator::Id("cancel-issue")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/operator")).unwrap()).await.unwrap();
    assert!(app.store.company_for_token("ABC", &app.token).await.unwrap().is_some(), "取消 revokes nothing");
    c.find(reissue).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("confirm-issue")).await.unwrap().click().await.unwrap();
    let token = c.wait().for_element(Locator::Id("token")).await.unwrap().text().await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/operator/companies/ABC/token/issued");
    assert!(app.store.company_for_token("ABC", &token).await.unwrap().is_some(), "{token}");
    c.refresh().await.unwrap();
    c.wait().for_element(Locator::Id("already-shown")).await.unwrap();
    assert!(!c.source().await.unwrap().contains(&token), "a reload shows the token no more");
    assert!(app.store.company_for_token("ABC", &token).await.unwrap().is_some(), "and issues none");

    // A refused 企業の登録 says why on the form, in Japanese, and keeps what was typed.
    c.goto(&format!("{base}/operator")).await.unwrap();
    c.find(Locator::Css("input[name=code]")).await.unwrap().send_keys("NEW002").await.unwrap();
    c.find(Locator::Css("input[name=name]")).await.unwrap().send_keys("新規株式会社").await.unwrap();
    let zone = c.find(Locator::Css("input[name=time_zone]")).await.unwrap();
    zone.clear().await.unwrap();
    zone.send_keys("Tokyo").await.unwrap();
    c.find(Locator::Css("input[name=admin_password]")).await.unwrap().send_keys("new admin pw").await.unwrap();
    c.find(Locator::Id("create-company")).await.unwrap().click().await.unwrap();
    let error = c.wait().for_element(Locator::Id("form-error")).await.unwrap().text().await.unwrap();
    assert!(error.contains("Tokyo") && !error.is_ascii(), "{error}");
    let kept = c.find(Locator::Css("input[name=name]")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("新規株式会社"));
    c.find(Locator::Id("companies")).await.unwrap();

    // The operator on a company's screens has a way back to サポートセンター.
    c.goto(&format!("{base}/companies/ABC/daily")).await.unwrap();
    c.find(Locator::Id("nav-operator")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/operator")).unwrap()).await.unwrap();

    c.close().await.unwrap();
    app.finish().await;
}
