//! The 勤革時 screens over real HTTP: 所属設定, 従業員設定 with delete and restore across
//! 連携実行, manual punches against PC logs, 日別データ with holidays and error markers, the
//! time card and its CSV, and tenant isolation of every new route.
//!
//! Each test starts the real server on a fresh database ([`TestApp`]). Those inside
//! `engine_tests!` run as `…_sqlite` and `…_postgres`; the PostgreSQL ones are ignored unless
//! `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`). The others run on SQLite.

use jiff::civil::date;
use jiff::tz::TimeZone;
use loginrec_rules::LogKind;
use loginrec_store::{Company, Store};
use test_support::{AdminClient, Engine, SeedEmployee, TestApp};

/// Employees 0001 (department 100, 05:00, linked to `tarou`) and 0002 (200, 00:00, linked to
/// `hanako`).
const EMPLOYEES: [SeedEmployee; 2] = [("0001", "勤怠", "100", Some("tarou")), ("0002", "打刻", "200", Some("hanako"))];

/// Another company with the same employees and an administrator.
async fn company(store: &Store, code: &str, password: &str) -> Company {
    test_support::seed_company(store, code, &EMPLOYEES, Some(password)).await
}

/// 連携実行 from ユーザー設定; the page it redirects to.
async fn sync(app: &TestApp) -> String {
    let (status, page) = app.post("/companies/ABC/users/sync", &[]).await;
    assert_eq!(status, 303, "{page}");
    app.page("/companies/ABC/users").await
}

/// The サービスアカウント of employee `code` in 連携設定: `None` when it is not listed.
fn account_of(links: &[loginrec_store::LinkRow], code: &str) -> Option<Option<String>> {
    links.iter().find(|l| l.employee_code == code).map(|l| l.service_account.clone())
}

fn department_form<'a>(code: &'a str, name: &'a str, hour: &'a str, minute: &'a str) -> [(&'a str, &'a str); 4] {
    [("code", code), ("name", name), ("hour", hour), ("minute", minute)]
}

fn employee_form<'a>(code: &'a str, last: &'a str, dept: &'a str, kind: &'a str) -> [(&'a str, &'a str); 5] {
    [("code", code), ("last_name", last), ("first_name", "花子"), ("department_code", dept), ("employment_type", kind)]
}

test_support::engine_tests! {
    async fn departments_are_created_and_edited_and_a_day_change_of_25_00_is_refused(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let list = app.page("/companies/ABC/settings/departments").await;
        assert!(list.contains("本社") && list.contains("05:00") && list.contains("00:00"), "{list}");
        assert!(list.contains("変更後に反映するログから適用"), "the page says when a change applies");
        let form = app.page("/companies/ABC/settings/departments/new").await;
        assert!(form.contains("<option value=\"0\" selected>00</option>"), "00:00 by default: {form}");

        let (status, _) =
            app.post("/companies/ABC/settings/departments", &department_form("300", "工場", "5", "30")).await;
        assert_eq!(status, 303);
        let list = app.page("/companies/ABC/settings/departments?done=created").await;
        assert!(list.contains("工場") && list.contains("05:30") && list.contains("所属を登録しました"), "{list}");

        let (status, page) =
            app.post("/companies/ABC/settings/departments", &department_form("400", "倉庫", "25", "0")).await;
        assert_eq!(status, 400);
        assert!(page.contains("日付変更時間は 00:00〜23:59 の範囲で指定してください"), "{page}");
        assert!(page.contains("value=\"倉庫\""), "what was typed stays in the form");
        let (status, page) = app.post("/companies/ABC/settings/departments", &department_form("", " ", "0", "0")).await;
        assert_eq!(status, 400);
        assert!(page.contains("所属コードを入力してください") && page.contains("所属名を入力してください"), "{page}");
        let (status, page) =
            app.post("/companies/ABC/settings/departments", &department_form("100", "重複", "0", "0")).await;
        assert_eq!(status, 400);
        assert!(page.contains("所属コード 100 はすでに使われています"), "{page}");
        let codes: Vec<String> =
            app.store.attendance().department_list(app.company.id).await.unwrap().into_iter().map(|d| d.code).collect();
        assert_eq!(codes, ["100", "200", "300"]);

        // 営業所 moves its day change from 00:00 to 05:00: logs derived from then on follow it.
        let id = app.department_id("200").await;
        let form = app.page(&format!("/companies/ABC/settings/departments/{id}")).await;
        assert!(form.contains("value=\"営業所\""), "{form}");
        app.send_logs(&[("hanako", LogKind::Logoff, "2024-02-08T01:00:00")]).await;
        let path = format!("/companies/ABC/settings/departments/{id}");
        let (status, page) = app.post(&path, &department_form("200", "営業所", "5", "60")).await;
        assert_eq!(status, 400, "{page}");
        let mut from_2_9 = department_form("200", "営業所", "5", "0").to_vec();
        from_2_9.push(("effective_from", "2024-02-09"));
        let (status, _) = app.post(&path, &from_2_9).await;
        assert_eq!(status, 303);
        app.send_logs(&[("hanako", LogKind::Logoff, "2024-02-10T01:00:00")]).await;
        assert_eq!(
            app.timecard().await,
            ["0002,2024-02-08,2024/02/08 01:00,,PC", "0002,2024-02-09,2024/02/10 01:00,,PC"],
            "days before 適用開始 keep 00:00; from 2/9 a 01:00 log lands on the previous day"
        );
        let (_, logs) = app.admin.get_text("/companies/ABC/logs").await;
        assert!(logs.contains("所属設定 (変更)") && logs.contains("日付変更時間 00:00 → 05:00"), "{logs}");
        assert!(logs.contains("所属設定 (登録)"));
        app.finish().await;
    }

    async fn employees_are_created_edited_deleted_and_restored_and_reach_login_records_on_sync(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let (status, _) =
            app.post("/companies/ABC/settings/employees", &employee_form("0003", "山田", "100", "パート")).await;
        assert_eq!(status, 303);
        let list = app.page("/companies/ABC/settings/employees").await;
        assert!(list.contains("0003") && list.contains("山田 花子") && list.contains("パート"), "{list}");
        assert_eq!(account_of(&app.links().await, "0003"), None, "not in ログイン記録 before 連携実行");
        let page = sync(&app).await;
        assert!(page.contains("追加 1 件"), "{page}");
        assert_eq!(account_of(&app.links().await, "0003"), Some(None));

        for (form, message) in [
            (
                employee_form("0004", "山田", "100", "役員"),
                "雇用区分は 正社員、契約社員、パート、アルバイト から選択してください",
            ),
            (employee_form("", "山田", "100", "正社員"), "従業員コードを入力してください"),
            (employee_form("00 4", "山田", "100", "正社員"), "従業員コードは空白を含まない"),
            (employee_form("0004", "", "100", "正社員"), "姓を入力してください"),
            (employee_form("0004", "山田", "999", "正社員"), "所属を選択してください"),
            (employee_form("0001", "山田", "100", "正社員"), "従業員コード 0001 はほかの従業員が使用しています"),
        ] {
            let (status, page) = app.post("/companies/ABC/settings/employees", &form).await;
            assert_eq!(status, 400, "{form:?}");
            assert!(page.contains(message), "{message}: {page}");
        }

        let id = app.employee_id("0003").await;
        let form = app.page(&format!("/companies/ABC/settings/employees/{id}")).await;
        assert!(form.contains("value=\"山田\"") && form.contains("<option value=\"パート\" selected>"), "{form}");
        let path = format!("/companies/ABC/settings/employees/{id}");
        let (status, _) = app.post(&path, &employee_form("0033", "田中", "200", "契約社員")).await;
        assert_eq!(status, 303);
        let e = app.store.attendance().employee(app.company.id, id).await.unwrap().unwrap();
        assert_eq!((e.code.as_str(), e.last_name.as_str(), e.department_code.as_str()), ("0033", "田中", "200"));
        assert_eq!(e.employment_type, "契約社員");

        let (status, _) = app.post(&format!("{path}/delete"), &[]).await;
        assert_eq!(status, 303);
        let list = app.page("/companies/ABC/settings/employees").await;
        assert!(!list.contains("田中"), "deleted employees are hidden by default");
        let list = app.page("/companies/ABC/settings/employees?deleted=1").await;
        assert!(list.contains("田中") && list.contains("削除済み") && list.contains("削除済み従業員の復帰"), "{list}");
        let daily = app.page("/companies/ABC/daily?date=2024-02-08").await;
        assert!(!daily.contains("田中"));
        let (status, _) = app.post(&format!("{path}/restore"), &[]).await;
        assert_eq!(status, 303);
        let list = app.page("/companies/ABC/settings/employees?done=restored").await;
        assert!(list.contains("田中") && list.contains("従業員を復帰しました"), "{list}");
        let (_, logs) = app.admin.get_text("/companies/ABC/logs").await;
        for action in ["従業員設定 (登録)", "従業員設定 (変更)", "従業員設定 (削除)", "従業員設定 (復帰)"]
        {
            assert!(logs.contains(action), "{action}");
        }
        app.finish().await;
    }

    async fn a_deleted_and_restored_employee_keeps_its_service_account_and_punches_again(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-05T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-05T18:00:00"),
        ])
        .await;
        let id = app.employee_id("0001").await;
        let (status, _) = app.post(&format!("/companies/ABC/settings/employees/{id}/delete"), &[]).await;
        assert_eq!(status, 303);
        assert!(sync(&app).await.contains("削除 1 件"));
        assert_eq!(account_of(&app.links().await, "0001"), None, "連携設定 no longer lists the user");
        let page = sync(&app).await;
        assert!(page.contains("連携しました: 追加 0 件 / 更新 0 件 / 削除 0 件"), "a removed user is not removed twice: {page}");

        // While deleted, tarou's logs are kept; the employee is hidden from 日別データ.
        app.send_logs(&[("tarou", LogKind::Logon, "2024-02-06T09:00:00")]).await;
        let daily = app.page("/companies/ABC/daily?date=2024-02-06").await;
        assert!(!daily.contains("0001"), "a deleted employee is not listed: {daily}");

        let (status, _) = app.post(&format!("/companies/ABC/settings/employees/{id}/restore"), &[]).await;
        assert_eq!(status, 303);
        assert!(sync(&app).await.contains("追加 1 件"));
        assert_eq!(account_of(&app.links().await, "0001"), Some(Some("tarou".into())), "the link is back");
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-07T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-07T18:30:00"),
        ])
        .await;
        assert_eq!(
            app.timecard().await,
            [
                "0001,2024-02-05,2024/02/05 09:00,2024/02/05 18:00,PC",
                "0001,2024-02-06,2024/02/06 09:00,,PC",
                "0001,2024-02-07,2024/02/07 09:00,2024/02/07 18:30,PC",
            ],
            "the logs of the gap count: the account stayed linked to the employee"
        );
        app.finish().await;
    }

    async fn a_link_import_takes_the_account_of_a_removed_user(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let id = app.employee_id("0001").await;
        app.post(&format!("/companies/ABC/settings/employees/{id}/delete"), &[]).await;
        sync(&app).await;
        app.store.apply_links(app.company.id, &[("0002".into(), Some("tarou".into()))]).await.unwrap();
        let err = app.store.apply_links(app.company.id, &[("0001".into(), Some("x".into()))]).await.unwrap_err();
        assert!(err.to_string().contains("0001"), "a removed user cannot be linked: {err}");
        app.post(&format!("/companies/ABC/settings/employees/{id}/restore"), &[]).await;
        sync(&app).await;
        let links = app.links().await;
        assert_eq!(account_of(&links, "0001"), Some(None), "the account went to 0002");
        assert_eq!(account_of(&links, "0002"), Some(Some("tarou".into())));
        app.finish().await;
    }

    async fn a_restore_is_refused_while_a_live_employee_uses_the_code(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let old = app.employee_id("0002").await;
        app.post(&format!("/companies/ABC/settings/employees/{old}/delete"), &[]).await;
        let (status, _) =
            app.post("/companies/ABC/settings/employees", &employee_form("0002", "後任", "200", "正社員")).await;
        assert_eq!(status, 303, "a deleted employee's code can be given to a new one");
        let (status, page) = app.post(&format!("/companies/ABC/settings/employees/{old}/restore"), &[]).await;
        assert_eq!(status, 409);
        assert!(page.contains("復帰できません") && page.contains("後任 花子"), "{page}");
        let e = app.store.attendance().employee(app.company.id, old).await.unwrap().unwrap();
        assert!(e.deleted_at_ms.is_some(), "still deleted");
        app.finish().await;
    }

    async fn with_a_manual_clock_in_pc_logs_give_only_clock_out_and_never_overwrite_it(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[("tarou", LogKind::Logon, "2024-02-08T09:03:00")]).await;
        assert_eq!(app.timecard().await, ["0001,2024-02-08,2024/02/08 09:03,,PC"]);

        let punch = "/companies/ABC/timecard/0001/punch";
        let (status, _) = app.post(punch, &[("date", "2024-02-08"), ("kind", "in"), ("at", "2024-02-08T08:30")]).await;
        assert_eq!(status, 303);
        assert_eq!(
            app.timecard().await,
            ["0001,2024-02-08,2024/02/08 08:30,2024/02/08 09:03,手入力/PC"],
            "the day's PC log now gives only 退勤"
        );
        let card = app.page("/companies/ABC/timecard/0001?month=2024-02&done=punched").await;
        assert!(card.contains("手入力 02/08 08:30") && card.contains("打刻方法混在"), "{card}");
        assert!(card.contains("打刻を保存しました"));

        // Earlier and later PC logs: 出勤 stays manual, 退勤 follows the last log.
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-08T07:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-08T18:22:00"),
        ])
        .await;
        assert_eq!(app.timecard().await, ["0001,2024-02-08,2024/02/08 08:30,2024/02/08 18:22,手入力/PC"]);

        // A 退勤 after midnight is entered with its own calendar date; a later PC log leaves it.
        let (status, _) = app.post(punch, &[("date", "2024-02-08"), ("kind", "out"), ("at", "2024-02-09T01:30")]).await;
        assert_eq!(status, 303);
        app.send_logs(&[("tarou", LogKind::Logoff, "2024-02-09T02:00:00")]).await;
        assert_eq!(app.timecard().await, ["0001,2024-02-08,2024/02/08 08:30,2024/02/09 01:30,手入力"]);
        let card = app.page("/companies/ABC/timecard/0001?month=2024-02").await;
        assert!(card.contains("手入力 02/09 01:30") && !card.contains("打刻方法混在"), "{card}");

        for (form, message) in [
            (
                [("date", "2024-02-08"), ("kind", "out"), ("at", "2024-02-08T08:00")],
                "退勤は出勤より後の時刻にしてください",
            ),
            ([("date", "2024-02-08"), ("kind", "in"), ("at", "2024-02-12T08:00")], "当日か翌日"),
            ([("date", "2024-02-08"), ("kind", "x"), ("at", "2024-02-08T08:00")], "出勤か退勤"),
            ([("date", "2024-02-30"), ("kind", "in"), ("at", "2024-02-08T08:00")], "勤務日が不正です"),
            ([("date", "2024-02-08"), ("kind", "in"), ("at", "8:00")], "日時は YYYY-MM-DD HH:MM"),
        ] {
            let (status, page) = app.post(punch, &form).await;
            assert_eq!(status, 400, "{form:?}");
            assert!(page.contains(message), "{message}: {page}");
        }
        let (status, _) = app.post("/companies/ABC/timecard/9999/punch", &[("date", "2024-02-08")]).await;
        assert_eq!(status, 404);
        let (_, logs) = app.admin.get_text("/companies/ABC/logs").await;
        assert!(logs.contains("打刻の手入力") && logs.contains("0001 2024/02/08 退勤 2024/02/09 01:30"), "{logs}");
        app.finish().await;
    }

    async fn the_daily_page_shows_holidays_error_markers_and_links_to_time_cards(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        for (day, expected) in [
            ("2024-02-12", "祝日 (振替休日)"),
            ("2024-02-23", "祝日 (天皇誕生日)"),
            ("2024-02-10", "休日"),
            ("2024-02-13", "平日"),
        ] {
            let page = app.page(&format!("/companies/ABC/daily?date={day}")).await;
            assert!(page.contains(&format!("<td class=\"day-type\">{expected}</td>")), "{day}: {page}");
        }
        // tarou logs on only once; hanako's 出勤 is manual and her 退勤 comes from the PC.
        app.send_logs(&[("tarou", LogKind::Logon, "2024-02-13T09:00:00")]).await;
        let punch = "/companies/ABC/timecard/0002/punch";
        app.post(punch, &[("date", "2024-02-13"), ("kind", "in"), ("at", "2024-02-13T08:00")]).await;
        app.send_logs(&[("hanako", LogKind::Logoff, "2024-02-13T18:00:00")]).await;
        let page = app.page("/companies/ABC/daily?date=2024-02-13").await;
        let row = |code: &str| page.split("<tr>").find(|r| r.contains(&format!(">{code}</a>"))).unwrap().to_string();
        assert!(row("0001").contains("打刻漏れ"), "{page}");
        assert!(row("0002").contains("打刻方法混在") && row("0002").contains("手入力 02/13 08:00"), "{page}");
        assert!(page.contains("href=\"/companies/ABC/timecard/0001?month=2024-02\""), "{page}");
        app.finish().await;
    }

    async fn the_time_card_lists_every_day_of_the_month_with_the_months_total(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-08T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-08T18:00:00"),
            ("tarou", LogKind::Logon, "2024-02-09T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-10T02:30:00"),
            ("tarou", LogKind::Logon, "2024-02-15T09:00:00"),
            ("tarou", LogKind::Logon, "2024-03-01T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-03-01T10:00:00"),
        ])
        .await;
        let card = app.page("/companies/ABC/timecard/0001?month=2024-02").await;
        assert_eq!(card.matches("<tr id=\"day-").count(), 29, "every day of February 2024");
        assert!(card.contains("2024年02月") && card.contains("0001 勤怠 太郎"), "{card}");
        assert!(card.contains("PC 02/08 09:00") && card.contains("PC 02/10 02:30"), "{card}");
        // 9:00–18:00 is 8 hours of work after the hour of break the law asks for; 09:00 to
        // 02:30 the next day is 16:30 of work, 8:30 of it 時間外 and 22:00–02:30 late-night.
        assert!(card.contains("<td class=\"breaks\">1:00</td><td class=\"worked\">8:00</td>"), "{card}");
        assert!(card.contains("<td class=\"worked\">16:30</td><td class=\"overtime\">8:30</td><td class=\"late-night\">4:30</td>"), "{card}");
        // 出勤日数 counts 02/15, whose 退勤 is missing, as 月別データ does.
        assert!(
            card.contains("合計 (3 日)</th><th id=\"total-breaks\">2:00</th><th id=\"total-worked\">24:30</th>"),
            "March does not count: {card}"
        );
        assert!(card.contains("02/12(月)</td><td>祝日 (振替休日)"), "{card}");
        assert!(card.contains("打刻漏れ"), "02/15 has only 出勤");
        assert!(card.contains("href=\"?month=2024-01\"") && card.contains("href=\"?month=2024-03\""));
        let march = app.page("/companies/ABC/timecard/0001?month=2024-03").await;
        assert_eq!(march.matches("<tr id=\"day-").count(), 31);
        assert!(march.contains("合計 (1 日)</th><th id=\"total-breaks\">0:00</th><th id=\"total-worked\">1:00</th>"), "{march}");
        assert_eq!(app.admin.get("/companies/ABC/timecard/0001?month=2024-13").await.status(), 400);
        assert_eq!(app.admin.get("/companies/ABC/timecard/9999").await.status(), 404);
        assert_eq!(app.admin.get("/companies/ABC/timecard/0001").await.status(), 200, "this month by default");
        app.finish().await;
    }

    async fn the_time_card_csv_of_a_period_is_the_commands_csv_with_a_bom(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-08T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-08T18:00:00"),
            ("hanako", LogKind::Logon, "2024-02-09T10:00:00"),
            ("hanako", LogKind::Logon, "2024-03-01T10:00:00"),
        ])
        .await;
        let r = app.admin.get("/companies/ABC/timecard.csv?from=2024-02-01&to=2024-02-29").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(r.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
        let bytes = r.bytes().await.unwrap();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let rows = app.store.attendance().timecard(app.company.id, date(2024, 2, 1), date(2024, 2, 29)).await.unwrap();
        assert_eq!(text, loginrec_server::timecard::render(&rows, &TimeZone::get("Asia/Tokyo").unwrap()));
        assert_eq!(
            text,
            "従業員コード,日付,出勤,退勤,打刻方法\r\n\
             0001,2024-02-08,2024/02/08 09:00,2024/02/08 18:00,PC\r\n\
             0002,2024-02-09,2024/02/09 10:00,,PC\r\n"
        );
        for bad in ["?from=2024-02-29&to=2024-02-01", "?from=2024-02-01", "?from=2023-01-01&to=2024-02-01"] {
            assert_eq!(app.admin.get(&format!("/companies/ABC/timecard.csv{bad}")).await.status(), 400, "{bad}");
        }
        app.finish().await;
    }

    async fn an_administrator_of_another_company_gets_404_on_every_attendance_route(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        company(&app.store, "XYZ", "xyz password").await;
        let mut b = AdminClient::new(&app.server.base_url);
        assert_eq!(b.login("XYZ", "admin", "xyz password").await, 303);
        let csrf = b.csrf("/companies/XYZ/settings/employees").await;
        let dept = app.department_id("100").await;
        let emp = app.employee_id("0001").await;
        // ABC's URLs, and ABC's ids under XYZ's own code.
        for base in ["/companies/ABC", "/companies/XYZ"] {
            let gets = [format!("{base}/settings/departments/{dept}"), format!("{base}/settings/employees/{emp}")];
            let posts = [
                format!("{base}/settings/departments/{dept}"),
                format!("{base}/settings/employees/{emp}"),
                format!("{base}/settings/employees/{emp}/delete"),
                format!("{base}/settings/employees/{emp}/restore"),
            ];
            for path in gets {
                assert_eq!(b.get(&path).await.status(), 404, "GET {path}");
            }
            for path in posts {
                // Fields of both forms, each once.
                let form = [
                    ("csrf", csrf.as_str()),
                    ("code", "0001"),
                    ("name", "乗っ取り"),
                    ("hour", "1"),
                    ("minute", "0"),
                    ("last_name", "乗っ取り"),
                    ("first_name", "花子"),
                    ("department_code", "100"),
                    ("employment_type", "正社員"),
                ];
                assert_eq!(b.post_form(&path, &form).await.status(), 404, "POST {path}");
            }
        }
        for path in [
            "/settings/departments",
            "/settings/departments/new",
            "/settings/employees",
            "/settings/employees?deleted=1",
            "/settings/employees/new",
            "/timecard/0001",
            "/timecard/0001?month=2024-02",
            "/timecard.csv?from=2024-02-01&to=2024-02-29",
        ] {
            assert_eq!(b.get(&format!("/companies/ABC{path}")).await.status(), 404, "GET {path}");
        }
        let punch = [("csrf", csrf.as_str()), ("date", "2024-02-08"), ("kind", "in"), ("at", "2024-02-08T08:00")];
        assert_eq!(b.post_form("/companies/ABC/timecard/0001/punch", &punch).await.status(), 404);
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(department_form("900", "乗っ取り", "1", "0"));
        assert_eq!(b.post_form("/companies/ABC/settings/departments", &form).await.status(), 404);
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(employee_form("9000", "乗っ取り", "100", "正社員"));
        assert_eq!(b.post_form("/companies/ABC/settings/employees", &form).await.status(), 404);
        // Nothing of ABC changed.
        let depts = app.store.attendance().department_list(app.company.id).await.unwrap();
        assert_eq!(depts.len(), 2);
        assert!(depts.iter().all(|d| d.name != "乗っ取り"));
        let employees = app.store.attendance().employee_list(app.company.id, true).await.unwrap();
        assert_eq!(employees.len(), 2);
        assert!(employees.iter().all(|e| e.deleted_at_ms.is_none() && e.last_name != "乗っ取り"));
        assert!(app.timecard().await.is_empty());
        app.finish().await;
    }

    async fn a_refused_punch_keeps_what_was_typed_and_the_card_switches_employees(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let punch = "/companies/ABC/timecard/0001/punch";
        let (status, card) = app.post(punch, &[("date", "2024-02-08"), ("kind", "out"), ("at", "2024-02-12T08:00")]).await;
        assert_eq!(status, 400);
        assert!(card.contains("id=\"punch-error\"") && card.contains("勤務日 2024/02/08 の当日か翌日"), "{card}");
        assert!(card.contains("value=\"2024-02-12T08:00\"") && card.contains("value=\"2024-02-08\""), "kept: {card}");
        assert!(card.contains("<option value=\"out\" selected>退勤</option>"), "the kind is kept: {card}");
        assert!(card.contains("id=\"month-heading\">2024年02月"), "the card of the typed day's month: {card}");
        assert!(card.contains("id=\"logout\""), "the whole screen, not a bare error page");
        let (status, card) = app.post(&format!("{punch}/clear"), &[("date", "2024-02-08"), ("kind", "in")]).await;
        assert_eq!(status, 400);
        assert!(card.contains("id=\"clear-error\"") && card.contains("0001 2024/02/08 の手入力の出勤はありません"), "{card}");

        let card = app.page("/companies/ABC/timecard/0001?month=2024-02").await;
        assert!(card.contains("href=\"/companies/ABC/timecard/0002?month=2024-02\">次の従業員"), "{card}");
        assert!(!card.contains("id=\"prev-employee\""), "0001 is the first");
        assert!(card.contains("aria-current=\"page\">日別データ"), "the card belongs to 日別データ: {card}");
        let r = app.admin.get("/companies/ABC/timecard?employee=0002&month=2024-02&from=0001").await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/companies/ABC/timecard/0002?month=2024-02");
        let r = app.admin.get("/companies/ABC/timecard?employee=9999&month=2024-02&from=0001").await;
        let back = r.headers()["location"].to_str().unwrap().to_string();
        let card = app.page(&back).await;
        assert!(card.contains("従業員コード「9999」の従業員はいません") && card.contains("2024年02月"), "{card}");
        let (status, card) =
            app.admin.get_text("/companies/ABC/timecard.csv?from=2024-02-29&to=2024-02-01&employee=0001").await;
        assert_eq!(status, 400);
        assert!(card.contains("id=\"csv-error\"") && card.contains("終了日 2024/02/01 が開始日 2024/02/29 より前"), "{card}");
        assert!(card.contains("value=\"2024-02-29\"") && card.contains("value=\"2024-02-01\""), "the period is kept");
        app.finish().await;
    }

    async fn the_daily_page_is_paged_and_sorted_by_any_heading(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        for n in 3..=150 {
            let details = loginrec_store::EmployeeDetails {
                code: format!("{n:04}"),
                last_name: format!("姓{:03}", 200 - n),
                first_name: "名".into(),
                department_code: if n % 2 == 0 { "100" } else { "200" }.into(),
                employment_type: "正社員".into(),
            };
            app.store.attendance().create_employee(app.company.id, &details).await.unwrap();
        }
        // hanako (0002) comes in before tarou (0001); nobody else has punched.
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-08T09:30:00"),
            ("hanako", LogKind::Logon, "2024-02-08T08:15:00"),
        ])
        .await;
        let codes = |page: &str| -> Vec<String> {
            page.split("<tr>\n<td><a href=\"/companies/ABC/timecard/")
                .skip(1)
                .map(|row| row.split('?').next().unwrap().to_string())
                .collect()
        };
        let first = app.page("/companies/ABC/daily?date=2024-02-08").await;
        assert!(first.contains("1–100 / 150 名"), "{first}");
        assert_eq!(codes(&first).len(), 100);
        assert_eq!(codes(&first)[0], "0001");
        let next = "/companies/ABC/daily?date=2024-02-08&#38;department=&#38;sort=code&#38;page=2&#38;after=";
        assert!(first.contains(next) && !first.contains("prev-page"), "{first}");
        let next = first.split("class=\"next-page\" href=\"").nth(1).unwrap().split('"').next().unwrap();
        let second = app.page(&next.replace("&#38;", "&")).await;
        assert!(second.contains("101–150 / 150 名") && !second.contains("next-page"), "{second}");
        assert_eq!((codes(&second).len(), codes(&second)[49].as_str()), (50, "0150"));

        let by_in = app.page("/companies/ABC/daily?date=2024-02-08&sort=in").await;
        assert_eq!(codes(&by_in)[..3], ["0002", "0001", "0003"], "earliest 出勤 first, days without one last");
        assert!(by_in.contains("出勤▲"), "the sorted heading is marked");
        assert!(by_in.contains("sort=-in"), "clicking it again reverses it");
        let by_in_desc = app.page("/companies/ABC/daily?date=2024-02-08&sort=-in").await;
        assert_eq!(codes(&by_in_desc)[..3], ["0001", "0002", "0003"], "still last without one: {by_in_desc}");
        let by_name = app.page("/companies/ABC/daily?date=2024-02-08&sort=name").await;
        assert_eq!(codes(&by_name)[..3], ["0001", "0150", "0149"], "勤怠, then 姓050, 姓051 …");
        let by_name_desc = app.page("/companies/ABC/daily?date=2024-02-08&sort=-name&page=2").await;
        let mut reversed = codes(&by_name)[..50].to_vec();
        reversed.reverse();
        assert_eq!(codes(&by_name_desc), reversed, "descending is the same order reversed");
        let office = app.page("/companies/ABC/daily?date=2024-02-08&department=200&sort=-code").await;
        assert!(office.contains("1–75 / 75 名"), "{office}");
        assert_eq!(codes(&office)[0], "0149");
        let (status, page) = app.admin.get_text("/companies/ABC/daily?date=2024-02-08&page=9223372036854775807").await;
        assert_eq!(status, 400, "{page}");
        app.finish().await;
    }

    async fn every_order_of_the_daily_page_walks_to_its_end_and_back_by_its_links(engine: Engine) {
        use loginrec_rules::PunchKind;
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let day = date(2024, 2, 8);
        let tz = app.company.tz().unwrap();
        let at = |hour: i8, minute: i8| tz.to_timestamp(day.at(hour, minute, 0, 0)).unwrap().as_millisecond();
        // (code, last name, first name, department, 出勤, 退勤): names and times with ties, some
        // days without one punch or the other, so that every tie-break and both parts of the
        // 出勤 / 退勤 orders show.
        type Person = (String, String, String, String, Option<i64>, Option<i64>);
        let mut people: Vec<Person> = vec![
            ("0001".into(), "勤怠".into(), "太郎".into(), "100".into(), None, None),
            ("0002".into(), "打刻".into(), "花子".into(), "200".into(), None, None),
        ];
        for n in 3..=230 {
            let person = (
                format!("{n:04}"),
                format!("姓{:02}", n % 17),
                format!("名{:02}", n % 5),
                if n % 3 == 0 { "100" } else { "200" }.to_string(),
                (n % 4 != 0).then(|| at(8, (n % 7) as i8)),
                (n % 5 != 0).then(|| at(17, (n % 11) as i8)),
            );
            let details = loginrec_store::EmployeeDetails {
                code: person.0.clone(),
                last_name: person.1.clone(),
                first_name: person.2.clone(),
                department_code: person.3.clone(),
                employment_type: "正社員".into(),
            };
            app.store.attendance().create_employee(app.company.id, &details).await.unwrap();
            for (kind, punch) in [(PunchKind::ClockIn, person.4), (PunchKind::ClockOut, person.5)] {
                if let Some(at_ms) = punch {
                    app.store.attendance().set_manual_punch(app.company.id, &person.0, day, kind, at_ms, "test").await.unwrap();
                }
            }
            people.push(person);
        }
        let codes = |page: &str| -> Vec<String> {
            page.split("<tr>\n<td><a href=\"/companies/ABC/timecard/")
                .skip(1)
                .map(|row| row.split('?').next().unwrap().to_string())
                .collect()
        };
        let link = |page: &str, class: &str| -> Option<String> {
            let (_, rest) = page.split_once(&format!("class=\"{class}\" href=\""))?;
            Some(rest.split('"').next().unwrap().replace("&#38;", "&"))
        };
        for (sort, department) in
            [("code", ""), ("-code", ""), ("name", ""), ("-name", "200"), ("department", ""), ("-department", ""),
             ("in", ""), ("-in", ""), ("out", "100"), ("-out", "")]
        {
            // The expected order, worked out here from the data: by the column, then by code;
            // without the punch last, by code, whichever the direction.
            let mut expected: Vec<_> = people.iter().filter(|p| department.is_empty() || p.3 == department).collect();
            let descending = sort.starts_with('-');
            expected.sort_by(|a, b| {
                let by_code = a.0.cmp(&b.0);
                let column = |reverse: bool, o: std::cmp::Ordering| if reverse { o.reverse() } else { o };
                match sort.trim_start_matches('-') {
                    "code" => column(descending, by_code),
                    "name" => column(descending, (&a.1, &a.2, &a.0).cmp(&(&b.1, &b.2, &b.0))),
                    "department" => column(descending, (&a.3, &a.0).cmp(&(&b.3, &b.0))),
                    column_name => {
                        let (x, y) = if column_name == "in" { (a.4, b.4) } else { (a.5, b.5) };
                        match (x, y) {
                            (Some(x), Some(y)) => column(descending, x.cmp(&y)).then(by_code),
                            (Some(_), None) => std::cmp::Ordering::Less,
                            (None, Some(_)) => std::cmp::Ordering::Greater,
                            (None, None) => by_code,
                        }
                    }
                }
            });
            let expected: Vec<String> = expected.iter().map(|p| p.0.clone()).collect();
            let mut path = format!("/companies/ABC/daily?date=2024-02-08&department={department}&sort={sort}");
            let mut pages = Vec::new();
            loop {
                let page = app.page(&path).await;
                let first = pages.len() * 100 + 1;
                let shown = format!("{first}–{} / {} 名", first + codes(&page).len() - 1, expected.len());
                assert!(page.contains(&shown), "{sort}: {shown} on {path}");
                pages.push(codes(&page));
                match link(&page, "next-page") {
                    Some(next) => path = next,
                    None => break,
                }
            }
            assert_eq!(pages.concat(), expected, "{sort} {department}, forwards");
            let mut back = vec![pages.pop().unwrap()];
            let mut page = app.page(&path).await;
            while let Some(prev) = link(&page, "prev-page") {
                page = app.page(&prev).await;
                back.push(codes(&page));
            }
            back.reverse();
            assert_eq!(back.concat(), expected, "{sort} {department}, backwards");
            assert_eq!(back.len(), expected.len().div_ceil(100));
        }
        let (status, page) = app.admin.get_text("/companies/ABC/daily?date=2024-02-08&sort=in&after=%7B").await;
        assert_eq!(status, 400, "{page}");
        app.finish().await;
    }

    async fn the_current_tab_is_marked_and_the_operator_has_a_way_back(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        for (path, tab) in [
            ("/companies/ABC", "ABC 株式会社 (ABC)"),
            ("/companies/ABC/daily", "日別データ"),
            ("/companies/ABC/logs", "ログ表示"),
            ("/companies/ABC/links", "連携設定"),
            ("/companies/ABC/users", "ユーザー設定"),
            ("/companies/ABC/diagnostics", "診断"),
            ("/companies/ABC/settings/departments", "所属設定"),
            ("/companies/ABC/settings/employees/new", "従業員設定"),
        ] {
            let page = app.page(path).await;
            let current: Vec<&str> = page.match_indices("aria-current=\"page\">").map(|(i, m)| &page[i + m.len()..]).collect();
            assert_eq!(current.len(), 1, "{path}: one current tab");
            assert!(current[0].starts_with(tab), "{path}: {}", &current[0][..40.min(current[0].len())]);
            assert!(!page.contains("サポートセンター"), "{path}: a company administrator has no way to サポートセンター");
        }
        let hash = loginrec_server::hash_password("operator password".into()).await.unwrap();
        app.store.admins().upsert_admin(loginrec_store::admins::OPERATOR, "support", &hash).await.unwrap();
        let mut operator = AdminClient::new(&app.server.base_url);
        assert_eq!(operator.login("", "support", "operator password").await, 303);
        let (_, page) = operator.get_text("/companies/ABC/daily").await;
        assert!(page.contains("<a href=\"/operator\" id=\"nav-operator\">サポートセンター</a>"), "{page}");
        app.finish().await;
    }
}

#[tokio::test]
async fn attendance_forms_without_the_csrf_token_are_refused_and_pages_ask_for_login() {
    let app = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let dept = app.department_id("100").await;
    let emp = app.employee_id("0001").await;
    for path in [
        "/companies/ABC/settings/departments".to_string(),
        format!("/companies/ABC/settings/departments/{dept}"),
        "/companies/ABC/settings/employees".to_string(),
        format!("/companies/ABC/settings/employees/{emp}"),
        format!("/companies/ABC/settings/employees/{emp}/delete"),
        format!("/companies/ABC/settings/employees/{emp}/restore"),
        "/companies/ABC/timecard/0001/punch".to_string(),
    ] {
        assert_eq!(app.admin.post_form(&path, &[("csrf", "forged")]).await.status(), 403, "POST {path}");
    }
    let anonymous = AdminClient::new(&app.server.base_url);
    for path in
        ["/companies/ABC/settings/departments", "/companies/ABC/settings/employees", "/companies/ABC/timecard/0001"]
    {
        let r = anonymous.get(path).await;
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/login");
    }
    let nav = app.page("/companies/ABC").await;
    assert!(nav.contains("/settings/departments\">所属設定") && nav.contains("/settings/employees\">従業員設定"));
    assert!(app.store.attendance().employee(app.company.id, emp).await.unwrap().unwrap().deleted_at_ms.is_none());
    app.finish().await;
}

test_support::engine_tests! {
    async fn the_diagnostics_fix_of_a_day_change_time_previews_and_then_recomputes_the_past_days(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        // 営業所 (200) is at 00:00: hanako's night shift is cut in two.
        app.send_logs(&[
            ("hanako", LogKind::Logon, "2024-02-08T21:00:00"),
            ("hanako", LogKind::Logoff, "2024-02-09T02:00:00"),
        ])
        .await;
        assert_eq!(
            app.timecard().await,
            ["0002,2024-02-08,2024/02/08 21:00,,PC", "0002,2024-02-09,2024/02/09 02:00,,PC"]
        );
        let diagnostics = app.page("/companies/ABC/diagnostics").await;
        assert!(diagnostics.contains("2024-02-08"), "the first affected day is named: {diagnostics}");
        let id = app.department_id("200").await;
        let fix = format!("/companies/ABC/settings/departments/{id}?hour=5&#38;minute=0&#38;effective_from=2024-02-08");
        assert!(diagnostics.contains(&fix), "{diagnostics}");
        let form = app.page(&fix.replace("&#38;", "&")).await;
        assert!(form.contains("value=\"2024-02-08\""), "the form is filled in: {form}");

        let path = format!("/companies/ABC/settings/departments/{id}");
        let fields =
            [("code", "200"), ("name", "営業所"), ("hour", "5"), ("minute", "0"), ("effective_from", "2024-02-08")];
        let (status, preview) = app.post(&path, &fields).await;
        assert_eq!(status, 200, "{preview}");
        assert!(preview.contains("id=\"confirm\"") && preview.contains("PC 2024/02/09 02:00"), "{preview}");
        assert_eq!(app.timecard().await.len(), 2, "{engine:?}: nothing saved before [保存する]");
        let mut confirmed = fields.to_vec();
        confirmed.push(("confirm", "1"));
        let (status, _) = app.post(&path, &confirmed).await;
        assert_eq!(status, 303);
        assert_eq!(app.timecard().await, ["0002,2024-02-08,2024/02/08 21:00,2024/02/09 02:00,PC"]);
        let form = app.page(&path).await;
        assert!(form.contains("2024/02/08 から") && form.contains("最初から"), "the history is shown: {form}");
        let diagnostics = app.page("/companies/ABC/diagnostics").await;
        assert!(!diagnostics.contains(&format!("/settings/departments/{id}?")), "fixed: {diagnostics}");
        app.finish().await;
    }

    async fn a_manual_punch_cleared_on_the_timecard_gives_the_day_back_its_pc_punch(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-08T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-08T18:00:00"),
        ])
        .await;
        let path = "/companies/ABC/timecard/0001/punch";
        let (status, _) = app.post(path, &[("date", "2024-02-08"), ("kind", "out"), ("at", "2024-02-08T19:30")]).await;
        assert_eq!(status, 303);
        assert_eq!(app.timecard().await, ["0001,2024-02-08,2024/02/08 09:00,2024/02/08 19:30,PC/手入力"]);
        let (status, _) = app.post(&format!("{path}/clear"), &[("date", "2024-02-08"), ("kind", "out")]).await;
        assert_eq!(status, 303);
        assert_eq!(app.timecard().await, ["0001,2024-02-08,2024/02/08 09:00,2024/02/08 18:00,PC"], "{engine:?}");
        let (status, page) = app.post(&format!("{path}/clear"), &[("date", "2024-02-08"), ("kind", "out")]).await;
        assert_eq!(status, 400);
        assert!(page.contains("手入力の退勤はありません"), "{page}");
        app.finish().await;
    }
}
