//! The manual's §3 and §4 steps in a real headless Chromium, driven through ChromeDriver:
//! log in, download the 連携設定 CSV, edit it, upload it and review it before saving, run
//! 連携実行, sort 日別データ, switch time cards and have a 手入力 refused, filter ログ表示, see a
//! diagnostic and link from it, fail to reach another company, and as the operator reissue a
//! token, have a company registration refused and come back from a company's screens; and the
//! two pictures of a month (月別データ's overtime chart, the time card's timeline) as Chromium
//! draws them.
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

/// ChromeDriver and a headless Chromium driven by it, downloading into `downloads`.
async fn browser(downloads: &Path, profile: &Path) -> (Driver, fantoccini::Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", format!("--user-data-dir={}", profile.display())],
            "prefs": {"download.default_directory": downloads.to_string_lossy(), "download.prompt_for_download": false}
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
    (driver, client.expect("ChromeDriver started a browser"))
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

    let downloads = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(downloads.path(), profile.path()).await;

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

/// The colours of a PNG as the browser decodes it: how many pixels are near each of `colors`
/// (`#rrggbb`), and the image's size.
async fn colors_in(c: &fantoccini::Client, png: &[u8], colors: &[&str]) -> (u64, u64, Vec<u64>) {
    const SCRIPT: &str = r#"
        const [bytes, colors, done] = arguments;
        const blob = new Blob([new Uint8Array(bytes)], {type: 'image/png'});
        const img = new Image();
        img.onload = () => {
            const canvas = document.createElement('canvas');
            canvas.width = img.width; canvas.height = img.height;
            const ctx = canvas.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const data = ctx.getImageData(0, 0, img.width, img.height).data;
            const wanted = colors.map(h => [1, 3, 5].map(i => parseInt(h.substr(i, 2), 16)));
            const counts = wanted.map(() => 0);
            for (let p = 0; p < data.length; p += 4) {
                wanted.forEach((w, k) => {
                    if (Math.abs(data[p] - w[0]) < 12 && Math.abs(data[p + 1] - w[1]) < 12 && Math.abs(data[p + 2] - w[2]) < 12) counts[k]++;
                });
            }
            done([img.width, img.height, counts]);
        };
        img.onerror = () => done(null);
        img.src = URL.createObjectURL(blob);
    "#;
    let answer = c.execute_async(SCRIPT, vec![serde_json::json!(png), serde_json::json!(colors)]).await.unwrap();
    let answer = answer.as_array().expect("the screenshot decodes as PNG");
    let counts = answer[2].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    (answer[0].as_u64().unwrap(), answer[1].as_u64().unwrap(), counts)
}

/// 月別データ's overtime chart and the time card's month timeline, rendered by Chromium: each
/// is captured as a screenshot, kept in `LOGINREC_SCREENSHOTS` when set, and its pixels are
/// checked for what it must show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(loginrec_browser), ignore = "install Debian's chromium and chromium-driver")]
async fn the_month_pictures_render_in_a_real_browser() {
    let app = TestApp::start(Engine::Sqlite, &[("0012", "勤怠", "100", None), ("1000", "ABC社員", "100", None)]).await;
    app.store.apply_links(app.company.id, &[("0012".into(), Some("tarouk".into()))]).await.unwrap();
    // Every weekday of February 2024 from 08:00 to 21:00 (4:00 of 時間外 a day), and a 手入力
    // 出勤 at 10:00 on the 8th that the PC's 08:00 passes by two hours: 82 hours of 時間外.
    let mut logs: Vec<(String, LogKind)> = Vec::new();
    let mut day = jiff::civil::date(2024, 2, 1);
    while day.month() == 2 {
        if !matches!(day.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
            logs.push((format!("{day}T08:00:00"), LogKind::Logon));
            logs.push((format!("{day}T21:00:00"), LogKind::Logoff));
        }
        day = day.tomorrow().unwrap();
    }
    let rows: Vec<(&str, LogKind, &str)> = logs.iter().map(|(at, k)| ("tarouk", *k, at.as_str())).collect();
    app.send_logs(&rows).await;
    let ten = loginrec_rules::local_instant(
        jiff::civil::date(2024, 2, 8).at(10, 0, 0, 0),
        &jiff::tz::TimeZone::get("Asia/Tokyo").unwrap(),
    )
    .unwrap();
    let clock_in = loginrec_rules::PunchKind::ClockIn;
    let feb8 = jiff::civil::date(2024, 2, 8);
    app.store
        .attendance()
        .set_manual_punch(app.company.id, "0012", feb8, clock_in, ten.as_millisecond(), "hr")
        .await
        .unwrap();

    let downloads = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(downloads.path(), profile.path()).await;
    let base = app.server.base_url.clone();
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=company_code]")).await.unwrap().send_keys("ABC").await.unwrap();
    c.find(Locator::Css("input[name=login_id]")).await.unwrap().send_keys("admin").await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(ADMIN_PASSWORD).await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    c.wait().for_url(&url::Url::parse(&format!("{base}/companies/ABC")).unwrap()).await.unwrap();
    let keep = |name: &str, png: &[u8]| {
        if let Some(dir) = std::env::var_os("LOGINREC_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(Path::new(&dir).join(name), png).unwrap();
        }
    };

    // 月別データ: 0012's bar is red (an alert) and reaches past the 80-hour line.
    c.goto(&format!("{base}/companies/ABC/monthly?month=2024-02")).await.unwrap();
    let chart = c.wait().for_element(Locator::Id("overtime-chart")).await.unwrap();
    let png = chart.screenshot().await.unwrap();
    keep("monthly-overtime.png", &png);
    let (width, height, counts) = colors_in(&c, &png, &["#c0392b", "#1b4f8a"]).await;
    assert!(width >= 600 && height >= 60, "{width}×{height}");
    assert!(counts[0] > 500, "the alerted bar is drawn red: {counts:?}");
    let bar_end: f64 = c
        .execute(
            "const r = document.querySelector('#overtime-chart g[data-code=\"0012\"] rect.overtime').getBoundingClientRect(); return r.right;",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    let line_80: f64 = c
        .execute("return document.getElementById('line-80').getBoundingClientRect().left;", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(bar_end > line_80, "82 hours reach past the 80-hour line: {bar_end} / {line_80}");
    let alert = c.find(Locator::Css("#employee-0012 .alert")).await.unwrap().text().await.unwrap();
    assert!(alert.contains("45時間超"), "{alert}");

    // The time card's timeline: PC bars on the weekdays, the 8th shaded for 乖離, punch markers.
    c.goto(&format!("{base}/companies/ABC/timecard/0012?month=2024-02")).await.unwrap();
    let timeline = c.wait().for_element(Locator::Id("timeline")).await.unwrap();
    let png = timeline.screenshot().await.unwrap();
    keep("timecard-timeline.png", &png);
    let (width, height, counts) = colors_in(&c, &png, &["#5dade2", "#fde2e0", "#1e8449", "#7d3c98"]).await;
    assert!(width >= 600 && height >= 400, "{width}×{height}");
    assert!(counts.iter().all(|n| *n > 20), "PC bars, the 乖離 row, 出勤 and 退勤 markers: {counts:?}");
    let diverged = c.find_all(Locator::Css("#timeline g.day.diverged")).await.unwrap();
    assert_eq!(diverged.len(), 1);
    assert_eq!(diverged[0].attr("data-date").await.unwrap().as_deref(), Some("2024-02-08"));
    let bars = c.find_all(Locator::Css("#timeline rect.pc")).await.unwrap();
    assert_eq!(bars.len(), 21, "one bar a weekday");

    c.close().await.unwrap();
    app.finish().await;
}
