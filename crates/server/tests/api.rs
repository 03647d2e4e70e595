//! The ingest API and the pages, against a real server on a fresh database ([`TestApp`]).
//!
//! Tests inside `engine_tests!` run as `…_sqlite` and `…_postgres`; the PostgreSQL ones are
//! ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`). The others
//! run on SQLite.

use ingest_protocol::{INGEST_PATH, IngestRow};
use jiff::tz::TimeZone;
use loginrec_rules::LogKind;
use loginrec_server::ServerOptions;
use loginrec_store::{Company, EmployeeInput, Store};
use test_support::{AdminClient, Engine, SeedEmployee, TestApp, TestDb, TestServer};

/// Employees 0001 (department 100, 05:00, linked to `tarou`) and 0002 (200, 00:00, linked to
/// `hanako`).
const EMPLOYEES: [SeedEmployee; 2] = [("0001", "勤怠", "100", Some("tarou")), ("0002", "打刻", "200", Some("hanako"))];

/// Another company with the same employees, without an administrator.
async fn seed_company(store: &Store, code: &str) -> Company {
    test_support::seed_company(store, code, &EMPLOYEES, None).await
}

/// A row of company `code` at a Tokyo local time.
fn row(code: &str, user: &str, kind: LogKind, local: &str) -> IngestRow {
    let tz = TimeZone::get("Asia/Tokyo").unwrap();
    let at = tz.to_ambiguous_timestamp(local.parse().unwrap()).compatible().unwrap();
    IngestRow::new(
        code,
        user.into(),
        kind,
        at.as_millisecond(),
        None,
        Some("1".into()),
        Some("7".into()),
        Some("PC-1".into()),
    )
}

test_support::engine_tests! {
    async fn a_token_of_company_a_cannot_write_logs_for_company_b(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let other = seed_company(&app.store, "XYZ").await;
        let other_token = app.store.issue_token(other.id).await.unwrap();
        // A's token presented with B's code, and B's token with A's code: both refused.
        let r =
            app.post_batch("XYZ", &app.token, vec![row("XYZ", "tarou", LogKind::Logon, "2024-02-08T09:00:00")]).await;
        assert_eq!(r.status(), 401, "{engine:?}");
        let r =
            app.post_batch("ABC", &other_token, vec![row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:00:00")]).await;
        assert_eq!(r.status(), 401, "{engine:?}");
        assert_eq!(app.store.log_count(app.company.id).await.unwrap(), 0);
        assert_eq!(app.store.log_count(other.id).await.unwrap(), 0);
        app.finish().await;
    }

    async fn a_missing_or_unknown_token_gets_a_json_error(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let url = format!("{}{INGEST_PATH}", app.server.base_url);
        let r = reqwest::Client::new().post(url).body("{}").send().await.unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "token_missing");
        let r = app.post_batch("ABC", &"A".repeat(32), vec![]).await;
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "token_rejected");
        app.finish().await;
    }

    async fn reissuing_a_token_revokes_the_old_one(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let new_token = app.store.issue_token(app.company.id).await.unwrap();
        let rows = vec![row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:00:00")];
        assert_eq!(app.post_batch("ABC", &app.token, rows.clone()).await.status(), 401);
        assert_eq!(app.post_batch("ABC", &new_token, rows).await.status(), 200);
        app.finish().await;
    }

    async fn a_resent_batch_is_counted_as_duplicates_and_stores_nothing_twice(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let rows = vec![
            row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:03:00"),
            row("ABC", "tarou", LogKind::Logoff, "2024-02-08T18:22:00"),
        ];
        let first = app.send_batch(rows.clone()).await;
        assert_eq!((first.accepted, first.duplicate), (2, 0));
        let again = app.send_batch(rows).await;
        assert_eq!((again.accepted, again.duplicate), (0, 2));
        assert_eq!(app.store.log_count(app.company.id).await.unwrap(), 2);
        assert_eq!(app.timecard().await, vec!["0001,2024-02-08,2024/02/08 09:03,2024/02/08 18:22,PC"]);
        app.finish().await;
    }

    async fn every_field_of_a_log_is_stored_as_it_was_sent(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let at = |local: &str| tz.to_ambiguous_timestamp(local.parse().unwrap()).compatible().unwrap().as_millisecond();
        let odd = "営業部,PC;\"1\" 'x'\\y";
        let rows = vec![
            IngestRow::new(
                "ABC",
                "CORP\\tarou".into(),
                LogKind::Logon,
                at("2024-02-08T09:03:00"),
                None,
                None,
                Some(String::new()),
                Some(odd.into()),
            ),
            IngestRow::new("ABC", "hanako".into(), LogKind::Logoff, at("2024-02-08T18:22:00"), None, None, None, None),
        ];
        assert_eq!(app.send_batch(rows).await.accepted, 2);
        let filter = loginrec_store::LogFilter { limit: 10, ..Default::default() };
        let mut logs = app.store.logs(app.company.id, &filter).await.unwrap();
        logs.sort_by_key(|l| l.event_at_ms);
        let fields: Vec<_> = logs
            .iter()
            .map(|l| (l.user_name.as_str(), l.account.as_str(), l.kind.as_str(), l.computer_name.as_deref(), l.agent_no.as_deref()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("CORP\\tarou", "tarou", "logon", Some(odd), Some("")),
                ("hanako", "hanako", "logoff", None, None),
            ]
        );
        assert_eq!(
            app.timecard().await,
            vec!["0001,2024-02-08,2024/02/08 09:03,,PC", "0002,2024-02-08,2024/02/08 18:22,,PC"]
        );
        app.finish().await;
    }

    async fn a_batch_partly_stored_before_derives_the_days_of_its_new_rows(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let morning = row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:03:00");
        let first = app.send_batch(vec![morning.clone()]).await;
        assert_eq!((first.accepted, first.duplicate), (1, 0));
        // The connector sends the morning's row again with the evening's, and hanako's day.
        let again = app
            .send_batch(vec![
                morning,
                row("ABC", "tarou", LogKind::Logoff, "2024-02-08T18:22:00"),
                row("ABC", "hanako", LogKind::Logon, "2024-02-09T08:30:00"),
            ])
            .await;
        assert_eq!((again.accepted, again.duplicate), (2, 1));
        assert_eq!(
            app.timecard().await,
            vec!["0001,2024-02-08,2024/02/08 09:03,2024/02/08 18:22,PC", "0002,2024-02-09,2024/02/09 08:30,,PC"]
        );
        app.finish().await;
    }

    async fn punches_follow_the_departments_day_change_time(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        // The same night for both: 0001's department changes days at 05:00, 0002's at 00:00.
        let mut rows = Vec::new();
        for user in ["tarou", "hanako"] {
            rows.push(row("ABC", user, LogKind::Logon, "2024-02-08T09:00:00"));
            rows.push(row("ABC", user, LogKind::Logoff, "2024-02-09T01:00:00"));
            rows.push(row("ABC", user, LogKind::Logon, "2024-02-09T04:59:59"));
            rows.push(row("ABC", user, LogKind::Logoff, "2024-02-09T05:00:00"));
        }
        app.send_batch(rows).await;
        assert_eq!(
            app.timecard().await,
            vec![
                "0001,2024-02-08,2024/02/08 09:00,2024/02/09 04:59,PC",
                "0001,2024-02-09,2024/02/09 05:00,,PC",
                "0002,2024-02-08,2024/02/08 09:00,,PC",
                "0002,2024-02-09,2024/02/09 01:00,2024/02/09 05:00,PC",
            ]
        );
        app.finish().await;
    }

    async fn logs_arriving_in_any_order_give_the_same_punches(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let rows = [
            row("ABC", "tarou", LogKind::Logon, "2024-02-08T12:55:00"),
            row("ABC", "tarou", LogKind::Logoff, "2024-02-08T18:22:00"),
            row("ABC", "tarou", LogKind::Logoff, "2024-02-08T12:00:00"),
            row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:03:00"),
        ];
        // Latest first, one per batch: the day widens as earlier logs arrive.
        for r in rows.iter().rev() {
            app.send_batch(vec![r.clone()]).await;
        }
        assert_eq!(app.timecard().await, vec!["0001,2024-02-08,2024/02/08 09:03,2024/02/08 18:22,PC"]);
        app.finish().await;
    }

    async fn a_bad_row_is_rejected_with_its_reason_and_the_rest_are_stored(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let good = row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:03:00");
        let mut tampered = row("ABC", "tarou", LogKind::Logoff, "2024-02-08T18:22:00");
        tampered.event_at_ms += 1;
        let answer = app.send_batch(vec![good, tampered.clone()]).await;
        assert_eq!((answer.accepted, answer.rejected), (1, 1));
        assert_eq!(answer.rejections[0].key, tampered.key);
        assert!(answer.rejections[0].reason.contains("idempotency key"), "{}", answer.rejections[0].reason);
        assert_eq!(app.store.log_count(app.company.id).await.unwrap(), 1);
        app.finish().await;
    }
}

/// A batch of `rows` sent with what the sender says of itself in `connector`, as raw JSON.
async fn post_with_connector(app: &TestApp, connector: serde_json::Value, rows: Vec<IngestRow>) -> reqwest::Response {
    let body = serde_json::json!({ "company_code": "ABC", "connector": connector, "rows": rows });
    reqwest::Client::new()
        .post(format!("{}{INGEST_PATH}", app.server.base_url))
        .bearer_auth(&app.token)
        .header(ingest_protocol::COMPANY_CODE_HEADER, "ABC")
        .json(&body)
        .send()
        .await
        .unwrap()
}

test_support::engine_tests! {
    async fn a_batch_with_an_over_long_or_forged_connector_is_refused_and_stores_nothing(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let rows: Vec<IngestRow> = (0..50)
            .map(|i| {
                let mut r = row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:00:00");
                r.event_at_ms += i;
                IngestRow::new("ABC", r.user_name, r.kind, r.event_at_ms, None, Some("1".into()), None, None)
            })
            .collect();
        let huge = serde_json::json!({ "version": "9".repeat(20_000), "host": "lsmgr" });
        let response = post_with_connector(&app, huge, rows.clone()).await;
        assert_eq!(response.status(), 400, "{engine:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("connector.version longer than 64"), "{body}");
        let forged = serde_json::json!({ "version": "1.0", "host": "lsmgr\nINFO forged line" });
        assert_eq!(post_with_connector(&app, forged, rows.clone()).await.status(), 400);
        assert_eq!(app.store.log_count(app.company.id).await.unwrap(), 0, "nothing stored");
        assert!(app.store.connectors_seen(app.company.id).await.unwrap().is_empty());
        app.finish().await;
    }

    async fn a_connector_is_stored_once_however_many_logs_it_sends(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let connector = serde_json::json!({ "version": "1.2.3", "host": "lsmgr" });
        let first = vec![row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:00:00")];
        let second = vec![row("ABC", "tarou", LogKind::Logoff, "2024-02-08T18:00:00")];
        assert_eq!(post_with_connector(&app, connector.clone(), first).await.status(), 200);
        assert_eq!(post_with_connector(&app, connector, second).await.status(), 200);
        assert_eq!(app.store.log_count(app.company.id).await.unwrap(), 2);
        assert_eq!(app.store.connectors_seen(app.company.id).await.unwrap(), vec![("1.2.3".into(), "lsmgr".into())]);
        let page = app.page("/companies/ABC/logs").await;
        assert_eq!(page.matches("1.2.3").count(), 2, "ログ表示 shows the version beside each log: {page}");
        app.finish().await;
    }
}

#[tokio::test]
async fn a_batch_over_the_row_limit_is_refused_whole() {
    let app = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let rows: Vec<IngestRow> = (0..=ingest_protocol::MAX_BATCH_ROWS)
        .map(|i| {
            let mut r = row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:00:00");
            r.event_at_ms += i as i64;
            r
        })
        .collect();
    let response = app.post_batch("ABC", &app.token, rows).await;
    assert_eq!(response.status(), 413);
    assert_eq!(app.store.log_count(app.company.id).await.unwrap(), 0);
    app.finish().await;
}

test_support::engine_tests! {
    async fn an_unlinked_users_logs_are_kept_but_make_no_punch(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let answer = app
            .send_batch(vec![
                row("ABC", "kiosk", LogKind::Logon, "2024-02-08T09:00:00"),
                row("ABC", "kiosk", LogKind::Logoff, "2024-02-08T18:00:00"),
            ])
            .await;
        assert_eq!(answer.accepted, 2);
        assert!(app.timecard().await.is_empty());
        let page = app.admin.get("/companies/ABC/logs").await.text().await.unwrap();
        assert!(page.contains("未連携"), "the log page says the user is linked to nobody");
        app.finish().await;
    }

    async fn a_domain_user_is_matched_by_the_name_after_the_backslash_case_included(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_batch(vec![
            row("ABC", "CORP\\tarou", LogKind::Logon, "2024-02-08T09:00:00"),
            row("ABC", "CORP\\tarou", LogKind::Logoff, "2024-02-08T18:00:00"),
            row("ABC", "Hanako", LogKind::Logon, "2024-02-08T09:00:00"),
        ])
        .await;
        assert_eq!(app.timecard().await, vec!["0001,2024-02-08,2024/02/08 09:00,2024/02/08 18:00,PC"]);
        app.finish().await;
    }

    async fn a_yen_sign_or_full_width_backslash_separates_the_domain_as_the_backslash_does(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_batch(vec![
            row("ABC", "CORP¥tarou", LogKind::Logon, "2024-02-08T09:00:00"),
            row("ABC", "CORP＼tarou", LogKind::Logoff, "2024-02-08T18:00:00"),
        ])
        .await;
        assert_eq!(app.timecard().await, vec!["0001,2024-02-08,2024/02/08 09:00,2024/02/08 18:00,PC"]);
        app.finish().await;
    }

    async fn the_daily_page_shows_punches_as_method_then_date_and_time(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_batch(vec![
            row("ABC", "tarou", LogKind::Logon, "2019-12-17T09:03:00"),
            row("ABC", "tarou", LogKind::Logoff, "2019-12-17T18:22:00"),
        ])
        .await;
        let response = app.admin.get("/companies/ABC/daily?date=2019-12-17").await;
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        assert!(page.contains("PC 12/17 09:03"), "{page}");
        assert!(page.contains("PC 12/17 18:22"));
        assert!(
            page.contains("<td class=\"breaks\">1:00</td><td class=\"worked\">8:19</td><td class=\"overtime\">0:19</td>"),
            "9:19 at the PC less the hour of break the law asks for: {page}"
        );
        assert!(page.contains("2019/12/17(火)"));
        app.finish().await;
    }
}

#[tokio::test]
async fn a_page_of_one_company_never_shows_another_companys_data() {
    let app = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let other = seed_company(&app.store, "XYZ").await;
    app.store
        .attendance()
        .upsert_employees(
            other.id,
            &[EmployeeInput {
                code: "9999".into(),
                last_name: "他社".into(),
                first_name: "花子".into(),
                department_code: "100".into(),
            }],
        )
        .await
        .unwrap();
    app.send_batch(vec![row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:00:00")]).await;
    // ABC's administrator reaches nothing of XYZ, whatever the URL says.
    assert_eq!(app.admin.get("/companies/XYZ/daily?date=2024-02-08").await.status(), 404);
    assert_eq!(app.admin.get("/companies/XYZ/logs").await.status(), 404);
    assert_eq!(app.admin.get("/companies/NOPE/daily").await.status(), 404);
    // XYZ's own administrator sees its employee and not ABC's punch or logs.
    let hash = loginrec_server::hash_password("other password".into()).await.unwrap();
    app.store.admins().upsert_admin(other.id, "admin", &hash).await.unwrap();
    let mut xyz = AdminClient::new(&app.server.base_url);
    assert_eq!(xyz.login("XYZ", "admin", "other password").await, 303);
    let (_, daily) = xyz.get_text("/companies/XYZ/daily?date=2024-02-08").await;
    assert!(daily.contains("他社") && !daily.contains("PC 02/08"), "{daily}");
    let (_, logs) = xyz.get_text("/companies/XYZ/logs").await;
    assert!(!logs.contains("tarou"));
    app.finish().await;
}

#[tokio::test]
async fn pages_ask_for_login_and_health_does_not() {
    let db = TestDb::new(Engine::Sqlite).await;
    let store = db.store().await;
    seed_company(&store, "ABC").await;
    let server = TestServer::start_with(
        store,
        ServerOptions { secure_cookies: true, behind_proxy: false, ..Default::default() },
    )
    .await;
    let anonymous = AdminClient::new(&server.base_url);
    let response = anonymous.get("/companies/ABC/daily").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    let health = reqwest::get(format!("{}/healthz", server.base_url)).await.unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_what_the_ingest_did() {
    let app = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let rows = vec![
        row("ABC", "tarou", LogKind::Logon, "2024-02-08T09:03:00"),
        row("ABC", "tarou", LogKind::Logoff, "2024-02-08T18:22:00"),
    ];
    app.send_batch(rows.clone()).await;
    app.send_batch(rows).await;
    let text = app.admin.get("/metrics").await.text().await.unwrap();
    assert!(text.contains("loginrec_ingest_rows_accepted_total 2"), "{text}");
    assert!(text.contains("loginrec_ingest_rows_duplicate_total 2"), "{text}");
    assert!(text.contains("loginrec_punches_written_total 2"), "{text}");
    assert!(text.contains("# TYPE loginrec_jobs_open gauge"), "{text}");
    app.finish().await;
}
