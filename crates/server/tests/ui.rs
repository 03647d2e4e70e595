//! The administrator screens over real HTTP: login, CSRF, the manual's §3 and §4 steps,
//! diagnostics, the operator, and the tenant-isolation matrix.
//!
//! Each test starts the real server on a fresh database ([`TestApp`]). Those inside
//! `engine_tests!` run as `…_sqlite` and `…_postgres`; the PostgreSQL ones are ignored unless
//! `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`). The others run on SQLite.

use jiff::tz::TimeZone;
use loginrec_rules::LogKind;
use loginrec_store::admins::OPERATOR;
use loginrec_store::{Company, EmployeeInput, Store};
use test_support::{ADMIN_PASSWORD, AdminClient, Engine, SeedEmployee, TestApp};

/// Employees 0012, 1000 (髙橋) and 3000, none linked yet.
const EMPLOYEES: [SeedEmployee; 3] =
    [("0012", "勤怠", "100", None), ("1000", "髙橋", "100", None), ("3000", "打刻", "100", None)];

/// Another company with the same employees and an administrator.
async fn company(store: &Store, code: &str, password: &str) -> Company {
    test_support::seed_company(store, code, &EMPLOYEES, Some(password)).await
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_repeated_failures_lock_the_login() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let mut client = AdminClient::new(&ui.server.base_url);
    assert_eq!(client.login("ABC", "admin", "wrong").await, 401);
    assert_eq!(client.login("XYZ", "admin", ADMIN_PASSWORD).await, 401, "an unknown company is just a failed login");
    for _ in 0..4 {
        client.login("ABC", "admin", "wrong").await;
    }
    assert_eq!(client.login("ABC", "admin", ADMIN_PASSWORD).await, 429, "locked even with the right password");
    ui.finish().await;
}

/// A login through a trusted reverse proxy that says the client is `address`; the status.
async fn login_from(base_url: &str, address: &str, company: &str, login_id: &str, password: &str) -> u16 {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    http.post(format!("{base_url}/login"))
        .header("x-forwarded-for", address)
        .form(&[("company_code", company), ("login_id", login_id), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

test_support::engine_tests! {
    async fn parallel_guesses_from_one_address_get_five_password_checks_at_most(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        let guesses: Vec<_> = (0..40)
            .map(|_| {
                let base = ui.server.base_url.clone();
                tokio::spawn(async move { AdminClient::new(&base).login("ABC", "admin", "wrong").await })
            })
            .collect();
        let mut statuses = Vec::new();
        for guess in guesses {
            statuses.push(guess.await.unwrap());
        }
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert_eq!(checked, 5, "{engine:?}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
        ui.finish().await;
    }
}

#[tokio::test]
async fn guesses_from_other_addresses_do_not_lock_the_real_user_out() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let proxy = test_support::TestServer::start_with(
        ui.store.clone(),
        loginrec_server::ServerOptions { secure_cookies: false, behind_proxy: true, ..Default::default() },
    )
    .await;
    for i in 1..=5 {
        assert_eq!(login_from(&proxy.base_url, &format!("203.0.113.{i}"), "ABC", "admin", "wrong").await, 401);
    }
    assert_eq!(login_from(&proxy.base_url, "198.51.100.7", "ABC", "admin", ADMIN_PASSWORD).await, 303);
    // The guessing address itself now waits, with growing delays.
    for _ in 0..4 {
        assert_eq!(login_from(&proxy.base_url, "203.0.113.9", "ABC", "admin", "wrong").await, 401);
    }
    assert_eq!(login_from(&proxy.base_url, "203.0.113.9", "ABC", "admin", "wrong").await, 401);
    assert_eq!(login_from(&proxy.base_url, "203.0.113.9", "ABC", "admin", ADMIN_PASSWORD).await, 429);
    proxy.stop().await;
    ui.finish().await;
}

#[tokio::test]
async fn a_good_login_does_not_reopen_an_address_that_sprays_other_accounts() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let proxy = test_support::TestServer::start_with(
        ui.store.clone(),
        loginrec_server::ServerOptions { secure_cookies: false, behind_proxy: true, ..Default::default() },
    )
    .await;
    let sprayer = "203.0.113.50";
    for i in 0..29 {
        assert_eq!(login_from(&proxy.base_url, sprayer, "ABC", &format!("user{i}"), "guess").await, 401, "{i}");
    }
    assert_eq!(login_from(&proxy.base_url, sprayer, "ABC", "admin", ADMIN_PASSWORD).await, 303);
    assert_eq!(login_from(&proxy.base_url, sprayer, "ABC", "user99", "guess").await, 429, "the address's count stays");
    proxy.stop().await;
    ui.finish().await;
}

#[tokio::test]
async fn an_over_long_login_id_is_refused_before_anything_is_stored() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let before = ui.store.admins().login_failure_rows().await.unwrap();
    let huge = "x".repeat(1_900_000);
    for _ in 0..12 {
        assert_eq!(AdminClient::new(&ui.server.base_url).login("ABC", &huge, "wrong").await, 401);
    }
    assert_eq!(ui.store.admins().login_failure_rows().await.unwrap(), before, "nothing recorded");
    ui.finish().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/login", ui.server.base_url))
        .form(&[("company_code", "ABC"), ("login_id", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    ui.finish().await;
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let r = ui.admin.post_form("/companies/ABC/users/sync", &[("csrf", "forged")]).await;
    assert_eq!(r.status(), 403);
    let r = ui.admin.post_form("/logout", &[("csrf", "")]).await;
    assert_eq!(r.status(), 403);
    let r = ui.admin.post_file("/companies/ABC/links/import", "forged", "links.csv", b"x".to_vec()).await;
    assert_eq!(r.status(), 403, "an upload without the session's token is refused");
    ui.finish().await;
}

test_support::engine_tests! {
    async fn links_are_downloaded_edited_and_uploaded_as_the_manual_describes(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        let response = ui.admin.get("/companies/ABC/links.csv").await;
        assert_eq!(response.status(), 200);
        let bytes = response.bytes().await.unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad, "the download is CP932");
        assert!(text.contains("LanScope連携,\"2\",\"1000\",\"髙橋 太郎\",\"\""), "{text}");
        // Edit two rows in a text editor and drop the third: only those two change.
        let edited: String = text
            .lines()
            .filter(|l| !l.contains("\"3000\""))
            .map(|l| {
                l.replace("\"0012\",\"勤怠 太郎\",\"\"", "\"0012\",\"勤怠 太郎\",\"tarouk\"")
                    .replace("\"1000\",\"髙橋 太郎\",\"\"", "\"1000\",\"髙橋 太郎\",\"TakahashiK\"")
            })
            .map(|l| format!("{l}\r\n"))
            .collect();
        let (upload, _, _) = encoding_rs::SHIFT_JIS.encode(&edited);
        let csrf = ui.admin.csrf("/companies/ABC/links").await;
        let page = ui.admin.post_file("/companies/ABC/links/import", &csrf, "links.csv", upload.into_owned()).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        // Each changed row before → after, asked before anything is saved.
        assert!(page.contains("<td class=\"before\">(なし)</td><td class=\"after\">tarouk</td>"), "{page}");
        assert!(page.contains("<td>1000</td><td>髙橋 太郎</td><td class=\"before\">(なし)</td><td class=\"after\">TakahashiK</td>"));
        assert!(page.contains("id=\"save\"") && !page.contains("id=\"warnings\""), "{page}");
        assert!(ui.store.link_rows(ui.company.id).await.unwrap().iter().all(|l| l.service_account.is_none()), "not yet");
        let plan = page.split("name=\"plan\" value=\"").nth(1).unwrap().split('"').next().unwrap();
        let plan = plan.replace("&quot;", "\"").replace("&#34;", "\"").replace("&#x22;", "\"");
        let saved = ui.admin.post_form("/companies/ABC/links/save", &[("csrf", &csrf), ("plan", &plan)]).await;
        assert_eq!(saved.status(), 303, "the result is a page of its own: a reload does not import again");
        let (_, page) = ui.admin.get_text("/companies/ABC/links").await;
        assert!(page.contains("2件のアカウントを更新"), "{page}");
        let (_, again) = ui.admin.get_text("/companies/ABC/links").await;
        assert!(!again.contains("2件のアカウントを更新"), "said once: {again}");
        let links = ui.store.link_rows(ui.company.id).await.unwrap();
        let accounts: Vec<Option<&str>> = links.iter().map(|l| l.service_account.as_deref()).collect();
        assert_eq!(accounts, vec![Some("tarouk"), Some("TakahashiK"), None]);
        ui.finish().await;
    }

    async fn an_import_that_moves_punches_shows_them_before_saving_from_its_effective_moment(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        ui.store.apply_links(ui.company.id, &[("0012".into(), Some("tarou".into()))]).await.unwrap();
        ui.send_log_lines(&[
            ("tarou", LogKind::Logon, "2024-02-08T09:00:00", "7"),
            ("tarou", LogKind::Logoff, "2024-02-08T18:00:00", "7"),
        ])
        .await;
        // From 2/8 12:00 tarou is 1000's: 0012 keeps the morning, 1000 gets the evening.
        let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\n\
                    LanScope連携,\"2\",\"0012\",\"勤怠 太郎\",\"\"\r\n\
                    LanScope連携,\"2\",\"1000\",\"髙橋 太郎\",\"tarou\"\r\n";
        let csrf = ui.admin.csrf("/companies/ABC/links").await;
        let fields = [("csrf", csrf.as_str()), ("effective_from", "2024-02-08T12:00")];
        let page =
            ui.admin.post_file_with("/companies/ABC/links/import", &fields, "l.csv", text.as_bytes().to_vec()).await;
        let page = page.text().await.unwrap();
        assert!(page.contains("id=\"confirm\"") && page.contains("PC 2024/02/08 18:00"), "{page}");
        assert_eq!(
            ui.store.link_rows(ui.company.id).await.unwrap()[0].service_account.as_deref(),
            Some("tarou"),
            "{engine:?}: the preview saved nothing"
        );
        let plan = page.split("name=\"plan\" value=\"").nth(1).unwrap().split('"').next().unwrap();
        let plan = plan.replace("&quot;", "\"").replace("&#34;", "\"").replace("&#x22;", "\"");
        let saved = ui
            .admin
            .post_form(
                "/companies/ABC/links/save",
                &[("csrf", &csrf), ("plan", &plan), ("effective_from", "2024-02-08T12:00")],
            )
            .await;
        assert_eq!(saved.status(), 303);
        let (_, saved) = ui.admin.get_text("/companies/ABC/links").await;
        assert!(saved.contains("2件のアカウントを更新 (適用開始 2024/02/08 12:00、2 日の打刻が変わりました)"), "{saved}");
        let day = jiff::civil::date(2024, 2, 8);
        let rows = ui.store.attendance().timecard(ui.company.id, day, day).await.unwrap();
        let text = loginrec_server::timecard::render(&rows, &TimeZone::get("Asia/Tokyo").unwrap());
        assert!(
            text.contains("0012,2024-02-08,2024/02/08 09:00,,PC")
                && text.contains("1000,2024-02-08,2024/02/08 18:00,,PC"),
            "{text}"
        );
        ui.finish().await;
    }
}

#[tokio::test]
async fn an_invalid_upload_changes_nothing_and_names_the_lines() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let csrf = ui.admin.csrf("/companies/ABC/links").await;
    let text = "連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\n\
                LanScope連携,\"2\",\"1000\",\"髙橋 太郎\",\"ok\"\r\n\
                LanScope連携,\"2\",\"12\",\"勤怠 太郎\",\"tarouk\"\r\n";
    let fields = [("csrf", csrf.as_str()), ("effective_from", "2024-02-08T12:00")];
    let page =
        ui.admin.post_file_with("/companies/ABC/links/import", &fields, "links.csv", text.as_bytes().to_vec()).await;
    assert_eq!(page.status(), 400);
    let page = page.text().await.unwrap();
    assert!(page.contains("3行目") && page.contains("Excel"), "{page}");
    assert!(page.contains("id=\"effective_from\" value=\"2024-02-08T12:00\""), "適用開始 is kept: {page}");
    assert!(ui.store.link_rows(ui.company.id).await.unwrap().iter().all(|l| l.service_account.is_none()));
    ui.finish().await;
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_refused() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let csrf = ui.admin.csrf("/companies/ABC/links").await;
    let big = vec![b'a'; 3 * 1024 * 1024];
    let r = ui.admin.post_file("/companies/ABC/links/import", &csrf, "big.csv", big).await;
    assert!(r.status() == 400 || r.status() == 413, "{}", r.status());
    let page = r.text().await.unwrap();
    assert!(page.contains("2 MB までの CSV ファイル") && !page.contains("length limit"), "in Japanese only: {page}");
    ui.finish().await;
}

#[tokio::test]
async fn sync_runs_are_recorded_and_shown_with_settings_changes_in_the_log() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    ui.store
        .attendance()
        .upsert_employees(
            ui.company.id,
            &[EmployeeInput {
                code: "4000".into(),
                last_name: "新人".into(),
                first_name: "花子".into(),
                department_code: "200".into(),
            }],
        )
        .await
        .unwrap();
    let csrf = ui.admin.csrf("/companies/ABC/users").await;
    let r = ui.admin.post_form("/companies/ABC/users/sync", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303, "the result is a page of its own, so a reload does not sync again");
    let (_, page) = ui.admin.get_text("/companies/ABC/users").await;
    assert!(page.contains("連携しました"), "{page}");
    assert!(page.contains("4000") && page.contains("新人 花子"));
    assert!(page.contains("追加 0 件 / 更新 0 件 / 削除 0 件") && page.contains("手動 "), "the run is listed: {page}");
    let (_, again) = ui.admin.get_text("/companies/ABC/users").await;
    assert!(!again.contains("連携しました"), "the result is shown once: {again}");
    let (_, logs) = ui.admin.get_text("/companies/ABC/logs").await;
    assert!(logs.contains("勤革時連携 (連携実行)"), "{logs}");
    ui.finish().await;
}

#[tokio::test]
async fn the_log_page_filters_pages_and_exports() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    ui.store.apply_links(ui.company.id, &[("0012".into(), Some("tarou".into()))]).await.unwrap();
    ui.send_log_lines(&[
        ("tarou", LogKind::Logon, "2024-02-08T09:03:00", "7"),
        ("tarou", LogKind::Logoff, "2024-02-08T18:22:00", "7"),
        ("kiosk", LogKind::Logon, "2024-02-09T10:00:00", "9"),
    ])
    .await;
    let (_, page) = ui.admin.get_text("/companies/ABC/logs?kind=logoff").await;
    assert!(page.contains("2024/02/08 18:22:00") && !page.contains("09:03:00"), "{page}");
    assert!(page.contains("1.0.0.5"), "the connector version is shown");
    let (_, page) = ui.admin.get_text("/companies/ABC/logs?outcome=unlinked").await;
    assert!(page.contains("kiosk") && !page.contains("2024/02/08"), "{page}");
    let (_, page) = ui.admin.get_text("/companies/ABC/logs?from=2024-02-09&to=2024-02-09").await;
    assert!(page.contains("kiosk") && !page.contains("tarou"));
    let (status, page) = ui.admin.get_text("/companies/ABC/logs?kind=bogus").await;
    assert_eq!(status, 400, "{page}");
    let csv = ui.admin.get("/companies/ABC/logs.csv?account=tarou").await.bytes().await.unwrap();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("日時,サービスアカウント"));
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains("出勤として打刻 (その日の最初のログ)") && text.contains("退勤として打刻 (その日の最後のログ)"),
        "{text}"
    );
    ui.finish().await;
}

/// The users of ログ表示's rows named `pagerNNN`, in the page's order.
fn pager_users(page: &str) -> Vec<String> {
    page.split("<td>pager").skip(1).map(|rest| format!("pager{}", &rest[..3])).collect()
}

/// The address a pager link (`id="next"` / `id="previous"`) leads to, if the page has it.
fn pager_link(page: &str, id: &str) -> Option<String> {
    let rest = page.split(&format!("id=\"{id}\" href=\"")).nth(1)?;
    Some(format!("/companies/ABC/logs{}", rest.split('"').next()?.replace("&amp;", "&")))
}

test_support::engine_tests! {
    async fn the_log_pages_show_every_log_once_forward_and_the_same_pages_backward(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        // 250 logs, five to a second: the pages must break ties the same way each time.
        let lines: Vec<(String, String)> = (0..250)
            .map(|i| (format!("pager{i:03}"), format!("2024-02-08T09:{:02}:{:02}", i / 5 / 60, (i / 5) % 60)))
            .collect();
        let logs: Vec<_> = lines.iter().map(|(user, at)| (user.as_str(), LogKind::Logon, at.as_str(), "7")).collect();
        ui.send_log_lines(&logs).await;
        let mut pages = Vec::new();
        let mut address = Some("/companies/ABC/logs?account=pager".to_string());
        while let Some(next) = address {
            let (status, page) = ui.admin.get_text(&next).await;
            assert_eq!(status, 200, "{next}: {page}");
            address = pager_link(&page, "next");
            pages.push((next, page));
        }
        assert_eq!(pages.len(), 3, "{engine:?}: 100 + 100 + 50");
        let shown: Vec<String> = pages.iter().flat_map(|(_, page)| pager_users(page)).collect();
        let mut newest_first: Vec<String> = (0..250).map(|i| format!("pager{i:03}")).collect();
        newest_first.reverse();
        let mut sorted = shown.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 250, "{engine:?}: every log once");
        // Newest first; logs of one second newest received first, the same on every page.
        assert_eq!(shown, newest_first, "{engine:?}");
        assert!(pages[0].1.contains("該当するログ: 250 件"), "{engine:?}");
        assert!(pager_link(&pages[0].1, "previous").is_none(), "{engine:?}: the first page has no 前へ");
        // 前へ from the last page shows the middle page again, then the first.
        let back = pager_link(&pages[2].1, "previous").expect("前へ on the last page");
        let (_, middle) = ui.admin.get_text(&back).await;
        assert_eq!(pager_users(&middle), pager_users(&pages[1].1), "{engine:?}");
        let back = pager_link(&middle, "previous").expect("前へ on the middle page");
        let (_, first) = ui.admin.get_text(&back).await;
        assert_eq!(pager_users(&first), pager_users(&pages[0].1), "{engine:?}");
        assert!(pager_link(&first, "previous").is_none(), "{engine:?}");
        // The same users log off later, after all their logons: by ログオン the walk is the same,
        // read by kind and time past the newer logoffs.
        let logoffs: Vec<(String, String)> =
            (0..120).map(|i| (format!("pager{i:03}"), format!("2024-02-08T18:{:02}:{:02}", i / 60, i % 60))).collect();
        let logoffs: Vec<_> =
            logoffs.iter().map(|(user, at)| (user.as_str(), LogKind::Logoff, at.as_str(), "7")).collect();
        ui.send_log_lines(&logoffs).await;
        let mut by_kind = Vec::new();
        let mut address = Some("/companies/ABC/logs?account=pager&kind=logon".to_string());
        while let Some(next) = address {
            let (status, page) = ui.admin.get_text(&next).await;
            assert_eq!(status, 200, "{next}: {page}");
            address = pager_link(&page, "next");
            by_kind.push(pager_users(&page));
        }
        let pages_before: Vec<Vec<String>> = pages.iter().map(|(_, page)| pager_users(page)).collect();
        assert_eq!(by_kind, pages_before, "{engine:?}");
        let (status, page) = ui.admin.get_text("/companies/ABC/logs?before=12.x").await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("ページの位置が不正です"), "{page}");
        ui.finish().await;
    }

    async fn the_log_count_stops_at_its_cap(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        ui.send_log_lines(&[
            ("kiosk", LogKind::Logon, "2024-02-09T10:00:00", "9"),
            ("kiosk", LogKind::Logoff, "2024-02-09T11:00:00", "9"),
            ("kiosk", LogKind::Logon, "2024-02-09T12:00:00", "9"),
        ])
        .await;
        let all = loginrec_store::LogFilter::default();
        let count = |cap| ui.store.log_count_matching(ui.company.id, &all, cap);
        assert_eq!(count(2).await.unwrap(), 2, "{engine:?}");
        assert_eq!(count(10).await.unwrap(), 3, "{engine:?}");
        ui.finish().await;
    }

}

test_support::engine_tests! {
    async fn the_log_page_counts_what_it_finds_and_matches_what_the_table_shows(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
    ui.store.apply_links(ui.company.id, &[("0012".into(), Some("suzuki0002".into()))]).await.unwrap();
    ui.send_log_lines(&[
        ("CORP\\suzuki0002", LogKind::Logon, "2024-02-08T09:00:00", "7"),
        ("CORP\\suzuki0002", LogKind::Logon, "2024-02-08T13:00:00", "7"),
        ("kiosk", LogKind::Logon, "2024-02-09T10:00:00", "9"),
    ])
    .await;
    let count = |page: &str| page.split("該当するログ: ").nth(1).and_then(|r| r.split(' ').next()).map(str::to_string);
    let (_, page) = ui.admin.get_text("/companies/ABC/logs").await;
    assert_eq!(count(&page).as_deref(), Some("3"), "{page}");
    // The value the table shows, part of it, another case: all find the same two logs.
    for typed in ["CORP%5Csuzuki0002", "suzuki", "SUZUKI0002", "corp%5C"] {
        let (_, page) = ui.admin.get_text(&format!("/companies/ABC/logs?account={typed}")).await;
        assert_eq!(count(&page).as_deref(), Some("2"), "{typed}: {page}");
        assert!(!page.contains("kiosk") && !page.contains("該当するログはありません"), "{typed}");
    }
    // LIKE's own characters are what they are.
    let (_, page) = ui.admin.get_text("/companies/ABC/logs?account=%25").await;
    assert_eq!(count(&page).as_deref(), Some("0"), "{page}");
    assert!(page.contains("該当するログはありません。"), "{page}");
    // The last log of the day was a ログオン: it became the 退勤, and says so.
    let (_, page) = ui.admin.get_text("/companies/ABC/logs?account=suzuki").await;
    assert!(page.contains("退勤として打刻 (その日の最後のログがログオンでした)"), "{page}");
    assert!(page.contains("出勤として打刻 (その日の最初のログ)"), "{page}");
    ui.finish().await;
}
}

test_support::engine_tests! {
    async fn diagnostics_find_the_manuals_problems_and_past_logs_can_be_applied_after_linking(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        // Recent days only count for the shared-user-name check (it looks back 31 days).
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let day = tz.to_datetime(jiff::Timestamp::now()).date().checked_sub(jiff::ToSpan::days(2)).unwrap();
        let (on, off) = (format!("{day}T09:00:00"), format!("{day}T18:00:00"));
        ui.send_log_lines(&[("hanakok", LogKind::Logon, &on, "7"), ("hanakok", LogKind::Logoff, &off, "8")]).await;
        let (_, page) = ui.admin.get_text("/companies/ABC/diagnostics").await;
        assert!(page.contains("hanakok"), "an unlinked user name is listed");
        assert!(page.contains("200 営業所"), "a department at 00:00 differs from LanScope's 05:00: {page}");
        assert!(page.contains("7, 8"), "one user name on two agents the same day");
        let (_, home) = ui.admin.get_text("/companies/ABC").await;
        assert!(home.contains("id=\"banner\""), "the banner points at the diagnostics");
        let csrf = ui.admin.csrf("/companies/ABC/diagnostics").await;
        let link = |code: &'static str| {
            let form = [("csrf", csrf.clone()), ("account", "hanakok".to_string()), ("employee_code", code.to_string())];
            let admin = &ui.admin;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = admin.post_form("/companies/ABC/diagnostics/link", &form).await;
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        for (code, reason) in [("", "紐づける従業員を選んでください"), ("9999", "従業員 9999 は見つかりません")] {
            let (status, page) = link(code).await;
            assert_eq!(status, 400);
            assert!(page.contains("id=\"form-error\"") && page.contains(reason), "on 診断 itself: {page}");
            assert!(page.contains("hanakok") && page.contains("id=\"logout\""), "the whole screen: {page}");
        }
        let preview = ui
            .admin
            .post_form(
                "/companies/ABC/diagnostics/link",
                &[("csrf", &csrf), ("account", "hanakok"), ("employee_code", "3000")],
            )
            .await
            .text()
            .await
            .unwrap();
        let shown = day.strftime("%Y/%m/%d").to_string();
        assert!(
            preview.contains(&format!("PC {shown} 09:00")) && preview.contains(&format!("PC {shown} 18:00")),
            "{preview}"
        );
        assert!(ui.store.attendance().timecard(ui.company.id, day, day).await.unwrap().is_empty(), "a preview writes nothing");
        assert!(ui.store.link_rows(ui.company.id).await.unwrap().iter().all(|l| l.service_account.as_deref() != Some("hanakok")), "nor links");
        assert!(preview.contains("id=\"cancel\" href=\"/companies/ABC/diagnostics\"") || preview.contains("href=\"/companies/ABC/diagnostics\" id=\"cancel\""), "{preview}");
        let (_, before) = ui.admin.get_text("/companies/ABC").await;
        let banner = |page: &str| page.split("id=\"banner\"").nth(1).map(|b| b.split("</").next().unwrap().to_string());
        let banner_before = banner(&before);
        let r = ui
            .admin
            .post_form(
                "/companies/ABC/diagnostics/apply",
                &[("csrf", &csrf), ("account", "hanakok"), ("employee_code", "3000")],
            )
            .await;
        assert_eq!(r.status(), 303);
        let after = r.headers()["location"].to_str().unwrap().to_string();
        assert!(after.starts_with("/companies/ABC/diagnostics?"), "{after}");
        let (_, done) = ui.admin.get_text(&after).await;
        let message = done.split("id=\"message\" role=\"status\">").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(message.contains("hanakok を 3000") && message.contains("1 日の打刻が変わりました"), "{message}");
        assert!(done.contains("id=\"no-unlinked\""), "no longer unlinked: {done}");
        let title = done.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
        assert!(!title.contains("リモート") && !title.contains('<'), "{title}");
        let (_, home) = ui.admin.get_text("/companies/ABC").await;
        assert_ne!(banner(&home), banner_before, "the banner counts the fix at once");
        let rows = ui.store.attendance().timecard(ui.company.id, day, day).await.unwrap();
        let text = loginrec_server::timecard::render(&rows, &tz);
        assert!(text.contains(&format!("3000,{day},{shown} 09:00,{shown} 18:00,PC")), "{text}");
        ui.finish().await;
    }
}

#[tokio::test]
async fn the_operator_creates_a_company_and_issues_a_token_shown_once_that_revokes_the_old_one() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let hash = loginrec_server::hash_password("operator password".into()).await.unwrap();
    ui.store.admins().upsert_admin(OPERATOR, "support", &hash).await.unwrap();
    let mut operator = AdminClient::new(&ui.server.base_url);
    assert_eq!(operator.login("", "support", "operator password").await, 303);
    let csrf = operator.csrf("/operator").await;
    let r = operator
        .post_form(
            "/operator/companies",
            &[
                ("csrf", &csrf),
                ("code", "NEW001"),
                ("name", "新規株式会社"),
                ("time_zone", "Asia/Tokyo"),
                ("admin_login_id", "admin"),
                ("admin_password", "new admin pw"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // Reissuing asks first, and says what happens to the connector that uses the token now.
    let (status, confirm) = operator.get_text("/operator/companies/ABC/token").await;
    assert_eq!(status, 200);
    assert!(confirm.contains("id=\"replaces\"") && confirm.contains("ログを送れなくなります"), "{confirm}");
    assert!(ui.store.company_for_token("ABC", &ui.token).await.unwrap().is_some(), "asking revokes nothing");
    let r = operator.post_form("/operator/companies/ABC/token", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303, "the POST redirects, so a reload cannot issue again");
    let shown_at = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(shown_at, "/operator/companies/ABC/token/issued");
    let (_, page) = operator.get_text(&shown_at).await;
    let start = page.find("<code id=\"token\">").unwrap() + "<code id=\"token\">".len();
    let token = page[start..start + 32].to_string();
    assert!(ui.store.company_for_token("ABC", &token).await.unwrap().is_some());
    assert!(ui.store.company_for_token("ABC", &ui.token).await.unwrap().is_none(), "the old token is revoked");
    // Reloading the result shows the token no more, and issues nothing.
    let (_, reloaded) = operator.get_text(&shown_at).await;
    assert!(!reloaded.contains(&token) && reloaded.contains("id=\"already-shown\""), "{reloaded}");
    assert!(ui.store.company_for_token("ABC", &token).await.unwrap().is_some(), "the token shown stays valid");
    let (_, again) = operator.get_text("/operator").await;
    assert!(!again.contains(&token), "the token is never shown again");

    // A refused registration comes back on the form, in Japanese, with what was typed.
    for (code, time_zone, says) in
        [("NEW001", "Asia/Tokyo", "NEW001"), ("new001", "Asia/Tokyo", "new001"), ("NEW002", "Tokyo", "Tokyo")]
    {
        let r = operator
            .post_form(
                "/operator/companies",
                &[
                    ("csrf", &csrf),
                    ("code", code),
                    ("name", "二重株式会社"),
                    ("time_zone", time_zone),
                    ("admin_login_id", "boss"),
                    ("admin_password", "secret password"),
                ],
            )
            .await;
        assert_eq!(r.status(), 400, "{code} {time_zone}");
        let page = r.text().await.unwrap();
        let error = page.split("id=\"form-error\" role=\"alert\">").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(error.contains(says), "{code} {time_zone}: {error}");
        assert!(!error.is_ascii() && !error.contains("already exists") && !error.contains("unknown"), "{error}");
        for kept in [code, "二重株式会社", time_zone, "boss"] {
            assert!(page.contains(&format!("value=\"{kept}\"")), "{code} {time_zone}: keeps {kept}");
        }
        assert!(!page.contains("secret password"), "the password is never sent back");
        assert!(page.contains("id=\"companies\""), "the whole screen, with its navigation");
    }
    let mut new_admin = AdminClient::new(&ui.server.base_url);
    assert_eq!(new_admin.login("NEW001", "admin", "new admin pw").await, 303);
    // A company administrator cannot use the operator screens.
    assert_eq!(ui.admin.get("/operator").await.status(), 404);
    ui.finish().await;
}

test_support::engine_tests! {
    async fn an_administrator_of_company_b_reaches_nothing_of_company_a(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        company(&ui.store, "XYZ", "xyz password").await;
        let mut b = AdminClient::new(&ui.server.base_url);
        assert_eq!(b.login("XYZ", "admin", "xyz password").await, 303);
        for path in ["", "/daily", "/logs", "/logs.csv", "/links", "/links.csv", "/users", "/diagnostics"] {
            assert_eq!(b.get(&format!("/companies/ABC{path}")).await.status(), 404, "GET {path}");
        }
        let csrf = b.csrf("/companies/XYZ/users").await;
        for path in ["/users/sync", "/diagnostics/link", "/diagnostics/apply", "/links/save"] {
            let r = b
                .post_form(
                    &format!("/companies/ABC{path}"),
                    &[("csrf", &csrf), ("account", "x"), ("employee_code", "0012"), ("plan", "[[\"0012\",\"x\"]]")],
                )
                .await;
            assert_eq!(r.status(), 404, "POST {path}");
        }
        let r = b.post_file("/companies/ABC/links/import", &csrf, "l.csv", b"x".to_vec()).await;
        assert_eq!(r.status(), 404);
        assert_eq!(b.post_form("/operator/companies/ABC/token", &[("csrf", &csrf)]).await.status(), 404);
        assert!(ui.store.link_rows(ui.company.id).await.unwrap().iter().all(|l| l.service_account.is_none()));
        ui.finish().await;
    }
}

test_support::engine_tests! {
    async fn a_company_code_is_one_code_whatever_its_case(engine: Engine) {
        let app = test_support::TestApp::start(engine, &[]).await;
        // The administrator of ABC logs in typing abc.
        let mut admin = AdminClient::new(&app.server.base_url);
        assert_eq!(admin.login("abc", "admin", test_support::ADMIN_PASSWORD).await, 303, "{engine:?}");
        // A second company abc is the same code.
        let err = app.store.create_company("abc", "別の会社", "Asia/Tokyo").await.unwrap_err();
        assert!(matches!(err, loginrec_store::StoreError::Taken(_)), "{engine:?}: {err:?}");
        assert!(err.to_string().contains("はすでに使われています"), "{err}");
        assert_eq!(app.store.companies().await.unwrap().len(), 1, "{engine:?}");
        app.finish().await;
    }
}

test_support::engine_tests! {
    async fn the_diagnostics_link_checks_the_account_as_the_link_import_does(engine: Engine) {
        let ui = TestApp::start(engine, &EMPLOYEES).await;
        let csrf = ui.admin.csrf("/companies/ABC/diagnostics").await;
        let huge = format!("x\ty\r\nz{}", "w".repeat(500_000));
        // 診断 lists LanScope user names as they came (`CORP\hanakok`) and links the part after
        // the domain; what it cannot take is what the import refuses too.
        for account in [huge.as_str(), "hana\tkok", "CORP\\hana\rkok"] {
            for action in ["link", "apply"] {
                let r = ui
                    .admin
                    .post_form(
                        &format!("/companies/ABC/diagnostics/{action}"),
                        &[("csrf", &csrf), ("account", account), ("employee_code", "3000")],
                    )
                    .await;
                assert_eq!(r.status(), 400, "{action} {:?}", &account[..12.min(account.len())]);
                let page = r.text().await.unwrap();
                assert!(page.contains("サービスアカウント"), "the reason is said: {}", &page[..page.len().min(2000)]);
                assert!(page.len() < 200_000, "the refused account is not echoed whole");
            }
        }
        let links = ui.store.link_rows(ui.company.id).await.unwrap();
        assert!(links.iter().all(|l| l.service_account.as_deref().is_none_or(|a| !a.contains('w') && !a.contains("kok"))), "nothing linked");
        ui.finish().await;
    }
}

#[tokio::test]
async fn the_diagnostics_name_the_remote_service_without_its_user_and_password() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let remote = loginrec_store::remote::RemoteConfig {
        base_url: "https://operator:s3cret-pw@kot.example.com/v1.0".into(),
        token: "remote-token-1234".into(),
        settle_minutes: 60,
    };
    ui.store.remote().set_remote(ui.company.id, Some(&remote)).await.unwrap();
    let page = ui.page("/companies/ABC/diagnostics").await;
    assert!(page.contains("送信先: https://***:***@kot.example.com/v1.0"), "{page}");
    assert!(!page.contains("s3cret-pw") && !page.contains("remote-token-1234"), "{page}");
    ui.finish().await;
}

#[tokio::test]
async fn a_log_page_number_past_what_can_be_counted_is_refused_not_wrapped() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    for page in ["9223372036854775807", "92233720368547759", "0", "-3"] {
        let (status, body) = ui.admin.get_text(&format!("/companies/ABC/logs?page={page}")).await;
        assert_eq!(status, 400, "page {page}: {body}");
        assert!(body.contains("ページ番号が不正です"), "{body}");
    }
    let (status, _) = ui.admin.get_text("/companies/ABC/logs?page=2").await;
    assert_eq!(status, 200);
    ui.finish().await;
}

/// 乖離 as an HR administrator meets it: PC use 80 minutes before a 手入力 出勤 is listed, a
/// reason recorded takes it off the unexplained list and shows who recorded it, the CSV (CP932)
/// carries it, an unknown reason is refused in Japanese, and a threshold of 90 minutes drops it.
#[tokio::test]
async fn the_divergence_screen_lists_flagged_days_records_reasons_and_exports_them() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    ui.store.apply_links(ui.company.id, &[("0012".into(), Some("tarou".into()))]).await.unwrap();
    ui.send_logs(&[
        ("tarou", LogKind::Logon, "2024-02-08T07:40:00"),
        ("tarou", LogKind::Logoff, "2024-02-08T18:10:00"),
    ])
    .await;
    let nine = loginrec_rules::local_instant(
        jiff::civil::date(2024, 2, 8).at(9, 0, 0, 0),
        &TimeZone::get("Asia/Tokyo").unwrap(),
    )
    .unwrap();
    ui.store
        .attendance()
        .set_manual_punch(
            ui.company.id,
            "0012",
            jiff::civil::date(2024, 2, 8),
            loginrec_rules::PunchKind::ClockIn,
            nine.as_millisecond(),
            "hr",
        )
        .await
        .unwrap();
    let period = "from=2024-02-01&to=2024-02-29";
    let page = ui.page(&format!("/companies/ABC/divergences?{period}")).await;
    assert!(page.contains("id=\"day-0012-2024-02-08\""), "{page}");
    assert!(page.contains("手入力 02/08 09:00") && page.contains("PC 02/08 07:40"), "{page}");
    assert!(page.contains(">1:20<"), "80 minutes of 早出:\n{page}");
    assert!(page.contains("理由が未記録: 1 日"), "{page}");

    let (status, page) = ui
        .post(
            "/companies/ABC/divergences/reason",
            &[("employee", "0012"), ("date", "2024-02-08"), ("reason", "気分"), ("note", ""), ("back", period)],
        )
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("気分") && page.contains("は選択肢にありません"), "{page}");
    let (status, _) = ui
        .post(
            "/companies/ABC/divergences/reason",
            &[
                ("employee", "0012"),
                ("date", "2024-02-08"),
                ("reason", "業務の準備・片付け"),
                ("note", "朝会の準備"),
                ("back", period),
            ],
        )
        .await;
    assert!(status == 200 || status == 303, "{status}");
    let page = ui.page(&format!("/companies/ABC/divergences?{period}&unexplained=1")).await;
    assert!(page.contains("該当する日はありません"), "{page}");
    let page = ui.page(&format!("/companies/ABC/divergences?{period}")).await;
    assert!(page.contains("業務の準備・片付け: 朝会の準備"), "{page}");
    assert!(page.contains("理由が未記録: 0 日"), "{page}");

    let response = ui.admin.get(&format!("/companies/ABC/divergences.csv?{period}")).await;
    assert!(response.headers()["content-type"].to_str().unwrap().contains("Shift_JIS"));
    let bytes = response.bytes().await.unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad, "CP932");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("勤務日,従業員コード,従業員,所属"), "{text}");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("2024-02-08,0012,") && lines[1].contains("業務の準備・片付け: 朝会の準備"), "{text}");

    let (status, _) = ui
        .post(
            "/companies/ABC/divergences/settings",
            &[("threshold", "90"), ("choices", "私用\n業務\n"), ("back", period)],
        )
        .await;
    assert!(status == 200 || status == 303, "{status}");
    let page = ui.page(&format!("/companies/ABC/divergences?{period}")).await;
    assert!(page.contains("該当する日はありません"), "80 minutes are within 90:\n{page}");
    assert!(page.contains("<option>私用</option><option>業務</option>") || page.contains("私用\n業務"), "{page}");
    let (status, page) = ui.post("/companies/ABC/divergences/settings", &[("threshold", "abc"), ("choices", "")]).await;
    assert_eq!(status, 400, "{page}");
    ui.finish().await;
}

/// A 乖離 day of yesterday without a reason is counted on 診断, on the home screen and in the
/// banner, each linking to the 乖離 screen; recording its reason clears all three.
#[tokio::test]
async fn unexplained_divergences_are_counted_on_diagnostics_and_home_until_a_reason_is_recorded() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    ui.store.apply_links(ui.company.id, &[("0012".into(), Some("tarou".into()))]).await.unwrap();
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    let yesterday = tz.to_datetime(jiff::Timestamp::now()).date().yesterday().unwrap();
    let at = |h: i8| format!("{yesterday}T{h:02}:00:00");
    ui.send_logs(&[("tarou", LogKind::Logon, &at(7)), ("tarou", LogKind::Logoff, &at(19))]).await;
    let nine = loginrec_rules::local_instant(yesterday.at(9, 0, 0, 0), &tz).unwrap().as_millisecond();
    let clock_in = loginrec_rules::PunchKind::ClockIn;
    ui.store.attendance().set_manual_punch(ui.company.id, "0012", yesterday, clock_in, nine, "hr").await.unwrap();

    let home = ui.page("/companies/ABC").await;
    assert!(home.contains("id=\"home-divergences\"") && home.contains("理由が未記録の乖離が 1 日"), "{home}");
    assert!(home.contains("/divergences?from="), "{home}");
    let diagnostics = ui.page("/companies/ABC/diagnostics").await;
    assert!(diagnostics.contains("理由が未記録の日が 1 日"), "{diagnostics}");
    let banner = |page: &str| -> usize {
        let marker = "確認が必要な項目が ";
        page.find(marker).map_or(0, |i| page[i + marker.len()..].split(' ').next().unwrap().parse().unwrap())
    };
    let before = banner(&ui.page("/companies/ABC/logs").await);
    assert!(before >= 1, "the banner counts it on every page");

    let date = yesterday.to_string();
    let (status, _) = ui
        .post(
            "/companies/ABC/divergences/reason",
            &[("employee", "0012"), ("date", &date), ("reason", "私用でのPC利用"), ("note", "")],
        )
        .await;
    assert_eq!(status, 303);
    let home = ui.page("/companies/ABC").await;
    assert!(!home.contains("home-divergences"), "{home}");
    let diagnostics = ui.page("/companies/ABC/diagnostics").await;
    assert!(diagnostics.contains("理由が未記録の乖離はありません"), "{diagnostics}");
    assert_eq!(banner(&ui.page("/companies/ABC/logs").await), before - 1);
    ui.finish().await;
}

/// 月別データ of a month of long days: 時間外 past 45 hours raises the alert on the screen, the
/// chart draws the employee's bar past the 45-hour line, and the CSV (CP932) carries the totals.
#[tokio::test]
async fn the_diagnostics_screen_lists_last_month_s_long_hours_and_forgets_them_once_corrected() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    ui.store.apply_links(ui.company.id, &[("0012".into(), Some("tarou".into()))]).await.unwrap();
    let page = ui.page("/companies/ABC/diagnostics").await;
    assert!(page.contains("超えた従業員はいません"), "{page}");
    // Every weekday of last month 08:00–21:00: 4 hours of 時間外 a day, 80 hours and more.
    let today = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap().to_datetime(jiff::Timestamp::now()).date();
    let first = today.first_of_month().yesterday().unwrap().first_of_month();
    let mut logs: Vec<(String, LogKind)> = Vec::new();
    let mut weekdays = Vec::new();
    let mut day = first;
    while day.month() == first.month() {
        if !matches!(day.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
            logs.push((format!("{day}T08:00:00"), LogKind::Logon));
            logs.push((format!("{day}T21:00:00"), LogKind::Logoff));
            weekdays.push(day);
        }
        day = day.tomorrow().unwrap();
    }
    let rows: Vec<(&str, LogKind, &str)> = logs.iter().map(|(at, k)| ("tarou", *k, at.as_str())).collect();
    ui.send_logs(&rows).await;
    let page = ui.page("/companies/ABC/diagnostics").await;
    let table =
        page.split("<table id=\"long-hours\">").nth(1).expect("the alerts' table").split("</table>").next().unwrap();
    let month = first.strftime("%Y-%m").to_string();
    assert!(table.contains("0012 ") && table.contains(&format!("monthly?month={month}")), "{table}");
    let hours = weekdays.len() * 4;
    assert!(table.contains(&format!("月の時間外 {hours}:00 (45時間超)")), "{table}");
    // Corrected by hand to 18:00 every day: an hour of 時間外 a day, under 45 hours.
    for day in &weekdays {
        let punch = "/companies/ABC/timecard/0012/punch";
        ui.post(punch, &[("date", &day.to_string()), ("kind", "out"), ("at", &format!("{day}T18:00"))]).await;
    }
    let page = ui.page("/companies/ABC/diagnostics").await;
    assert!(page.contains("超えた従業員はいません"), "{page}");
    ui.finish().await;
}

#[tokio::test]
async fn the_monthly_screen_adds_up_the_month_alerts_past_45_hours_and_draws_the_chart() {
    let ui = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    ui.store.apply_links(ui.company.id, &[("0012".into(), Some("tarou".into()))]).await.unwrap();
    // Every weekday of February 2024 from 08:00 to 20:30: 12:30 of span, an hour of break,
    // 11:30 of work, 3:30 of it past eight hours; 21 weekdays make 73:30 of 時間外.
    let mut logs: Vec<(String, LogKind)> = Vec::new();
    let mut day = jiff::civil::date(2024, 2, 1);
    while day.month() == 2 {
        if !matches!(day.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
            logs.push((format!("{day}T08:00:00"), LogKind::Logon));
            logs.push((format!("{day}T20:30:00"), LogKind::Logoff));
        }
        day = day.tomorrow().unwrap();
    }
    let rows: Vec<(&str, LogKind, &str)> = logs.iter().map(|(at, k)| ("tarou", *k, at.as_str())).collect();
    ui.send_logs(&rows).await;

    let page = ui.page("/companies/ABC/monthly?month=2024-02").await;
    assert!(page.contains("月別データ 2024年02月"), "{page}");
    let row = page.split("id=\"employee-0012\"").nth(1).unwrap().split("</tr>").next().unwrap();
    let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap()).collect();
    assert_eq!(cells[2..9], ["21", "241:30", "21:00", "73:30", "0:00", "0:00", "0"], "{row}");
    assert!(row.contains("月の時間外 73:30 (45時間超)"), "{row}");
    assert!(page.contains("長時間労働のアラートがある従業員: 1 名"), "{page}");
    assert!(page.contains("id=\"overtime-chart\"") && page.contains("data-overtime-minutes=\"4410\""), "{page}");
    assert!(page.contains("id=\"line-45\"") && page.contains("id=\"line-80\""), "{page}");

    let response = ui.admin.get("/companies/ABC/monthly.csv?month=2024-02").await;
    assert!(response.headers()["content-type"].to_str().unwrap().contains("Shift_JIS"));
    let bytes = response.bytes().await.unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    let line = text.lines().find(|l| l.contains(",0012,")).expect("0012's line");
    assert!(line.starts_with("2024-02,0012,") && line.contains(",21,241:30,21:00,73:30,"), "{text}");
    let (status, _) = ui.admin.get_text("/companies/ABC/monthly?month=2024-13").await;
    assert_eq!(status, 400);

    // Friday as the 法定休日 and a 36協定 year from January: Fridays' work is 休日労働.
    let (status, _) = ui
        .post(
            "/companies/ABC/monthly/settings",
            &[("legal_day_off", "5"), ("agreement_month", "1"), ("month", "2024-02")],
        )
        .await;
    assert!(status < 400, "{status}");
    let page = ui.page("/companies/ABC/monthly?month=2024-02&done=settings").await;
    assert!(
        page.contains("設定を保存しました") && page.contains("休日労働は金曜日") && page.contains("1月からの累計"),
        "{page}"
    );
    assert!(page.contains("<option value=\"5\" selected>金曜日</option>"), "{page}");
    let row = page.split("id=\"employee-0012\"").nth(1).unwrap().split("</tr>").next().unwrap();
    let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap()).collect();
    // Four Fridays (02-02, 09, 16, 23) of 11:30 are 46:00 of 休日労働; 17 days keep 59:30 of 時間外.
    assert_eq!(cells[5..8], ["59:30", "0:00", "46:00"], "{row}");
    let (status, body) = ui
        .post(
            "/companies/ABC/monthly/settings",
            &[("legal_day_off", "5"), ("agreement_month", "13"), ("month", "2024-02")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("1〜12 月"), "{body}");
    ui.finish().await;
}
