//! Remote mode: ログイン記録 sends its punches to a KING OF TIME-shaped service — a second
//! instance of this very server, or a test double that fails in each documented way — and no
//! punch is ever sent twice.
//!
//! Tests inside `engine_tests!` run on fresh databases as `…_sqlite` and `…_postgres`; the
//! PostgreSQL ones are ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server (see
//! `test-support`). The test doubles' failure cases run on SQLite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use ingest_protocol::{ConnectorInfo, IngestRow};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use loginrec_rules::{DayChangeTime, LogKind};
use loginrec_store::remote::RemoteConfig;
use loginrec_store::{Company, DepartmentInput, EmployeeInput, Store};
use loginrec_worker::remote::{http_client, read_remote_time_records, send_due, sync_remote_employees};
use test_support::{TestDb, TestServer};

/// A moment outside the remote service's blocked windows.
fn noon() -> Timestamp {
    jst("2024-02-08T12:00:00")
}

fn jst(s: &str) -> Timestamp {
    TimeZone::get("Asia/Tokyo").unwrap().to_ambiguous_timestamp(s.parse().unwrap()).compatible().unwrap()
}

/// The remote attendance service: another instance with company KOT001 and two employees.
async fn remote_instance(db: &TestDb) -> (Store, TestServer, Company, String) {
    let store = db.store().await;
    let company = store.create_company("KOT001", "勤怠先", "Asia/Tokyo").await.unwrap();
    store
        .attendance()
        .upsert_departments(
            company.id,
            &[DepartmentInput {
                code: "1000".into(),
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
        department_code: "1000".into(),
    };
    store.attendance().upsert_employees(company.id, &[e("0001", "勤怠"), e("0002", "打刻")]).await.unwrap();
    let token = store.attendance().issue_api_token(company.id).await.unwrap();
    let server = TestServer::start(store.clone()).await;
    (store, server, company, token)
}

/// ログイン記録 with company ABC in remote mode towards `base_url`.
async fn local_instance(db: &TestDb, base_url: &str, token: &str) -> (Store, Company) {
    let store = db.store().await;
    let company = store.create_company("ABC", "連携元", "Asia/Tokyo").await.unwrap();
    store
        .remote()
        .set_remote(
            company.id,
            Some(&RemoteConfig { base_url: base_url.into(), token: token.into(), settle_minutes: 60 }),
        )
        .await
        .unwrap();
    let company = store.company_by_code("ABC").await.unwrap().unwrap();
    (store, company)
}

async fn ingest(store: &Store, company: &Company, rows: &[(&str, LogKind, &str)]) {
    let info = ConnectorInfo { version: "1.0.0.5".into(), host: "lsmgr".into(), collection_start: None };
    let rows: Vec<IngestRow> = rows
        .iter()
        .map(|(user, kind, local)| {
            IngestRow::new("ABC", user.to_string(), *kind, jst(local).as_millisecond(), None, None, None, None)
        })
        .collect();
    store.ingest(company, &info, &rows).await.unwrap();
}

fn state(states: &[(String, i64)], name: &str) -> i64 {
    states.iter().find(|(s, _)| s == name).map(|(_, n)| *n).unwrap_or(0)
}

test_support::engine_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn punches_reach_another_instance_exactly_once_even_with_two_senders_racing(engine: Engine) {
        let (remote_db, local_db) = (TestDb::new(engine).await, TestDb::new(engine).await);
        let (remote, server, remote_company, token) = remote_instance(&remote_db).await;
        let (local, company) = local_instance(&local_db, &format!("{}/api/v1.0", server.base_url), &token).await;
        let http = http_client();

        // 連携実行 in remote mode reads the remote employees; then link them.
        let config = local.remote().remote_config(company.id).await.unwrap().unwrap();
        let sync = sync_remote_employees(&local, &http, &company, &config, noon()).await.unwrap();
        assert_eq!(sync.added, 2);
        // The administrator sets the mirrored department's 日付変更時間 to LanScope's 05:00, from
        // a date before the logs.
        local
            .attendance().import_departments(
                company.id,
                &[DepartmentInput {
                    code: "1000".into(),
                    name: "本社".into(),
                    day_change: DayChangeTime::LANSCOPE_DEFAULT,
                }],
                Some(jiff::civil::date(2024, 1, 1)),
                loginrec_store::Apply::Commit,
            )
            .await
            .unwrap();
        local
            .apply_links(company.id, &[("0001".into(), Some("tarou".into())), ("0002".into(), Some("hanako".into()))])
            .await
            .unwrap();
        ingest(
            &local,
            &company,
            &[
                ("tarou", LogKind::Logon, "2024-02-08T09:03:00"),
                ("tarou", LogKind::Logoff, "2024-02-08T18:22:00"),
                ("hanako", LogKind::Logon, "2024-02-08T08:55:00"),
                ("hanako", LogKind::Logoff, "2024-02-09T01:10:00"),
            ],
        )
        .await;

        // In the morning window nothing goes; at noon only the 出勤 go, the 退勤 wait for the
        // day (05:00 to 05:00) to end plus an hour.
        assert_eq!(send_due(&local, &http, "w1", || jst("2024-02-08T09:30:00")).await.unwrap().sent, 0);
        assert_eq!(send_due(&local, &http, "w1", || jst("2024-02-08T12:00:00")).await.unwrap().sent, 2);
        assert_eq!(remote.attendance().api_timerecord_count(remote_company.id).await.unwrap(), 2);
        // A later log moves a pending 退勤 but cannot touch a 出勤 already sent.
        ingest(
            &local,
            &company,
            &[("tarou", LogKind::Logoff, "2024-02-08T19:00:00"), ("tarou", LogKind::Logon, "2024-02-08T08:00:00")],
        )
        .await;

        // Two senders race once the day is settled.
        let now = jst("2024-02-09T12:00:00");
        let (a, b) = tokio::join!(send_due(&local, &http, "w1", || now), send_due(&local, &http, "w2", || now));
        assert_eq!(a.unwrap().sent + b.unwrap().sent, 2, "{engine:?}");
        assert_eq!(
            send_due(&local, &http, "w1", || jst("2024-02-10T12:00:00")).await.unwrap().sent,
            0,
            "nothing is sent twice"
        );
        assert_eq!(remote.attendance().api_timerecord_count(remote_company.id).await.unwrap(), 4);
        assert_eq!(state(&local.remote().remote_punch_states(company.id).await.unwrap(), "sent"), 4);

        let day = jiff::civil::date(2024, 2, 8);
        let rows = remote.attendance().timecard(remote_company.id, day, day).await.unwrap();
        let text = loginrec_server::timecard::render(&rows, &TimeZone::get("Asia/Tokyo").unwrap());
        assert!(text.contains("0001,2024-02-08,2024/02/08 09:03,2024/02/08 19:00,API"), "{text}");
        assert!(text.contains("0002,2024-02-08,2024/02/08 08:55,2024/02/09 01:10,API"), "{text}");

        server.stop().await;
        remote.close().await;
        local.close().await;
        remote_db.cleanup().await;
        local_db.cleanup().await;
    }
}

test_support::engine_tests! {
    async fn the_remote_service_s_own_punches_are_the_declared_side_of_divergence(engine: Engine) {
        let (remote_db, local_db) = (TestDb::new(engine).await, TestDb::new(engine).await);
        let (remote, server, remote_company, token) = remote_instance(&remote_db).await;
        let (local, company) = local_instance(&local_db, &format!("{}/api/v1.0", server.base_url), &token).await;
        let http = http_client();
        let config = local.remote().remote_config(company.id).await.unwrap().unwrap();
        sync_remote_employees(&local, &http, &company, &config, noon()).await.unwrap();
        local.apply_links(company.id, &[("0001".into(), Some("tarou".into()))]).await.unwrap();
        ingest(
            &local,
            &company,
            &[("tarou", LogKind::Logon, "2024-02-08T08:00:00"), ("tarou", LogKind::Logoff, "2024-02-08T18:00:00")],
        )
        .await;
        // Before anything is sent, tarou clocks in at 09:00 on the service's own recorder and
        // takes a break there.
        let employees = remote.attendance().api_employees_on(&remote_company, None, false).await.unwrap();
        let key = employees.iter().find(|e| e.code == "0001").unwrap().key.clone();
        let day = jiff::civil::date(2024, 2, 8);
        for (at, code) in [("2024-02-08T09:00:00", 1), ("2024-02-08T12:00:00", 3)] {
            remote.attendance().record_api_punch(&remote_company, &key, day, jst(at).as_millisecond(), code).await.unwrap();
        }
        let february = (jiff::civil::date(2024, 2, 1), jiff::civil::date(2024, 2, 29));
        let kept = read_remote_time_records(&local, &http, &company, &config, february.0, february.1, noon()).await;
        assert_eq!(kept.unwrap(), 1, "{engine:?}: the 出勤; a break is no 出勤 or 退勤");
        let filter = loginrec_store::DivergenceFilter::default();
        let days = local.divergences(company.id, &filter).await.unwrap();
        assert_eq!(days.len(), 1, "{engine:?}: {days:?}");
        assert_eq!((days[0].business_date, days[0].employee_code.as_str(), days[0].early_minutes), (day, "0001", 60));
        assert_eq!(days[0].declared_in.as_ref().map(|p| p.at_ms), Some(jst("2024-02-08T09:00:00").as_millisecond()));

        // Once ログイン記録's 出勤 (08:00, earlier) and 退勤 are sent, the service's day is those:
        // the PC's own punches are never read back as declared, and the 乖離 is gone.
        assert_eq!(send_due(&local, &http, "w1", || jst("2024-02-09T12:00:00")).await.unwrap().sent, 2);
        let kept = read_remote_time_records(&local, &http, &company, &config, february.0, february.1, noon()).await;
        assert_eq!(kept.unwrap(), 0, "{engine:?}");
        assert!(local.divergences(company.id, &filter).await.unwrap().is_empty(), "{engine:?}");

        server.stop().await;
        remote.close().await;
        local.close().await;
        remote_db.cleanup().await;
        local_db.cleanup().await;
    }
}

/// A remote service that answers every POST with the given status and body, counting calls.
async fn double(
    status: StatusCode,
    body: &'static str,
    extra: Option<(&'static str, &'static str)>,
) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/api/v1.0/daily-workings/timerecord/{key}",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut response = (status, [("content-type", "application/json")], body).into_response();
                if let Some((name, value)) = extra {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/api/v1.0"), calls)
}

async fn local_with_one_punch(db: &TestDb, base_url: &str) -> (Store, Company) {
    let (store, company) = local_instance(db, base_url, "remote-token").await;
    store
        .attendance()
        .upsert_departments(
            company.id,
            &[DepartmentInput { code: "1".into(), name: "本社".into(), day_change: DayChangeTime::MIDNIGHT }],
        )
        .await
        .unwrap();
    store
        .attendance()
        .upsert_employees(
            company.id,
            &[EmployeeInput {
                code: "0001".into(),
                last_name: "勤怠".into(),
                first_name: "太郎".into(),
                department_code: "1".into(),
            }],
        )
        .await
        .unwrap();
    store.apply_links(company.id, &[("0001".into(), Some("tarou".into()))]).await.unwrap();
    ingest(&store, &company, &[("tarou", LogKind::Logon, "2024-02-08T09:03:00")]).await;
    (store, company)
}

#[tokio::test]
async fn busy_answers_are_retried_later_and_never_lost() {
    for (status, body, header) in [
        (StatusCode::TOO_MANY_REQUESTS, "{}", Some(("retry-after", "120"))),
        (StatusCode::OK, r#"{"code":"303","message":"too many requests"}"#, None),
        (StatusCode::INTERNAL_SERVER_ERROR, r#"{"errors":[{"message":"boom","code":500}]}"#, None),
    ] {
        let db = TestDb::new(test_support::Engine::Sqlite).await;
        let (url, calls) = double(status, body, header).await;
        let (store, company) = local_with_one_punch(&db, &url).await;
        let http = http_client();
        let report = send_due(&store, &http, "w", || jst("2024-02-08T12:00:00")).await.unwrap();
        assert_eq!((report.sent, report.retried), (0, 1), "{status} {body}");
        assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"), 1);
        // Not again at once: the retry waits.
        send_due(&store, &http, "w", || jst("2024-02-08T12:00:30")).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Later it is tried again.
        send_due(&store, &http, "w", || jst("2024-02-08T12:10:00")).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        store.close().await;
    }
}

#[tokio::test]
async fn a_rejected_token_pauses_the_company_and_shows_why() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (url, calls) =
        double(StatusCode::UNAUTHORIZED, r#"{"errors":[{"message":"invalid token","code":102}]}"#, None).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    let http = http_client();
    assert_eq!(send_due(&store, &http, "w", || jst("2024-02-08T12:00:00")).await.unwrap().paused, 1);
    let paused = store.company_by_code("ABC").await.unwrap().unwrap().remote_paused_reason.unwrap();
    assert!(paused.contains("401") && paused.contains("102"), "{paused}");
    assert!(!paused.contains("invalid token"), "the service's words are never repeated: {paused}");
    send_due(&store, &http, "w", || jst("2024-02-08T15:00:00")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a paused company sends nothing");
    assert_eq!(
        state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"),
        1,
        "the punch is kept"
    );
    store.close().await;
}

#[tokio::test]
async fn a_refused_punch_fails_for_good_and_is_not_retried() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (url, calls) =
        double(StatusCode::NOT_FOUND, r#"{"errors":[{"message":"employee not found","code":200}]}"#, None).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    let http = http_client();
    assert_eq!(send_due(&store, &http, "w", || jst("2024-02-08T12:00:00")).await.unwrap().failed, 1);
    send_due(&store, &http, "w", || jst("2024-02-09T12:00:00")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "failed"), 1);
    store.close().await;
}

test_support::engine_tests! {
    async fn a_punch_whose_sender_died_mid_request_is_never_sent_again(engine: Engine) {
        let db = TestDb::new(engine).await;
        let (url, calls) = double(StatusCode::CREATED, "{}", None).await;
        let (store, company) = local_with_one_punch(&db, &url).await;
        let now = jst("2024-02-08T12:00:00").as_millisecond();
        // A sender claims the row and dies before recording the answer.
        let claimed = store.remote().claim_remote_punches("dead", now, 10, 1_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let later = jst("2024-02-08T12:05:00");
        assert_eq!(send_due(&store, &http_client(), "survivor", || later).await.unwrap().sent, 0);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "unknown"), 1);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_kot_api_answers_in_its_own_shape() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (store, server, _company, token) = remote_instance(&db).await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1.0", server.base_url);
    let r = http.get(format!("{base}/employees")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    let employees: serde_json::Value = r.json().await.unwrap();
    assert_eq!(employees[0]["code"], "0001");
    assert_eq!(employees[0]["divisionName"], "本社");
    let key = employees[0]["key"].as_str().unwrap().to_string();
    let one: serde_json::Value =
        http.get(format!("{base}/employees/0002")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(one["lastName"], "打刻");
    let r = http
        .post(format!("{base}/daily-workings/timerecord/{key}"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"date": "2024-02-08", "time": "2024-02-08T09:00:00+09:00", "code": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for code in ["3", "4"] {
        let r = http
            .post(format!("{base}/daily-workings/timerecord/{key}"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"date": "2024-02-08", "time": "2024-02-08T12:00:00+09:00", "code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let days: serde_json::Value = http
        .get(format!("{base}/daily-workings/timerecord?start=2024-02-08&end=2024-02-09"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(days.as_array().unwrap().len(), 2);
    let records = &days[0]["dailyWorkings"][0]["timeRecord"];
    assert_eq!(records[0]["time"], "2024-02-08T09:00:00+09:00");
    assert_eq!(records[0]["name"], "出勤");
    assert_eq!(records.as_array().unwrap().len(), 3, "{records}");
    let bad = http.get(format!("{base}/employees")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(bad.status(), 401);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string() && body["errors"][0]["code"].is_number());
    let r = http
        .post(format!("{base}/daily-workings/timerecord/{key}"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"date": "2024-02-08", "time": "09:00", "code": "9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    server.stop().await;
    store.close().await;
}

#[tokio::test]
async fn past_logs_applied_by_linking_are_queued_for_the_remote_service_too() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (url, _calls) = double(StatusCode::CREATED, "{}", None).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    store
        .attendance()
        .upsert_employees(
            company.id,
            &[EmployeeInput {
                code: "0002".into(),
                last_name: "後藤".into(),
                first_name: "花子".into(),
                department_code: "1".into(),
            }],
        )
        .await
        .unwrap();
    ingest(&store, &company, &[("hanako", LogKind::Logon, "2024-02-08T09:00:00")]).await;
    assert_eq!(
        state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"),
        1,
        "an unlinked user's log queues nothing"
    );
    // Linking applies the logs that came before the first link, in the same transaction.
    store.apply_links(company.id, &[("0002".into(), Some("hanako".into()))]).await.unwrap();
    assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"), 2);
    store.close().await;
}

test_support::engine_tests! {
    async fn two_companies_mirroring_one_service_keep_their_own_employees(engine: Engine) {
        let db = TestDb::new(engine).await;
        let (store, server, source, token) = remote_instance(&db).await;
        let before = store.attendance().api_employees_on(&source, None, false).await.unwrap();
        // Company ABC on the same database reads KOT001's employees as its remote master.
        let (_, mirror) = local_instance(&db, &format!("{}/api/v1.0", server.base_url), &token).await;
        let remote = store.remote().remote_config(mirror.id).await.unwrap().unwrap();
        let sync = sync_remote_employees(&store, &http_client(), &mirror, &remote, noon())
            .await.unwrap();
        assert_eq!(sync.added, 2, "{engine:?}");
        assert_eq!(store.attendance().api_employees_on(&source, None, false).await.unwrap(), before, "the source company is untouched");
        let mirrored = store.attendance().api_employees_on(&mirror, None, false).await.unwrap();
        assert_eq!(
            mirrored.iter().map(|e| &e.key).collect::<Vec<_>>(),
            before.iter().map(|e| &e.key).collect::<Vec<_>>()
        );
        server.stop().await;
        store.close().await;
        db.cleanup().await;
    }

    async fn a_company_with_employees_can_switch_to_remote_mode_and_sync(engine: Engine) {
        let (remote_db, local_db) = (TestDb::new(engine).await, TestDb::new(engine).await);
        let (remote, server, _, token) = remote_instance(&remote_db).await;
        let (local, company) = local_instance(&local_db, &format!("{}/api/v1.0", server.base_url), &token).await;
        // The company already had employees of its own, one with a code the remote also uses.
        local
            .attendance().upsert_departments(
                company.id,
                &[DepartmentInput { code: "9".into(), name: "旧所属".into(), day_change: DayChangeTime::MIDNIGHT }],
            )
            .await
            .unwrap();
        let e = |code: &str| EmployeeInput {
            code: code.into(),
            last_name: "旧".into(),
            first_name: "社員".into(),
            department_code: "9".into(),
        };
        local.attendance().upsert_employees(company.id, &[e("0001"), e("0099")]).await.unwrap();
        let config = local.remote().remote_config(company.id).await.unwrap().unwrap();
        sync_remote_employees(&local, &http_client(), &company, &config, noon())
            .await.unwrap();
        let now: Vec<(String, String)> =
            local.attendance().api_employees_on(&company, None, false).await.unwrap().into_iter().map(|e| (e.code, e.last_name)).collect();
        assert_eq!(
            now,
            vec![("0001".to_string(), "勤怠".to_string()), ("0002".to_string(), "打刻".to_string())],
            "{engine:?}"
        );
        server.stop().await;
        remote.close().await;
        local.close().await;
        remote_db.cleanup().await;
        local_db.cleanup().await;
    }
}

#[tokio::test]
async fn a_run_that_reaches_a_blocked_window_stops_sending_at_once() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (url, calls) = double(StatusCode::CREATED, "{}", None).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    let ticks = AtomicUsize::new(0);
    // The claim happens at 08:29:59; by the time of the request it is 08:30.
    let clock = || {
        if ticks.fetch_add(1, Ordering::SeqCst) == 0 { jst("2024-02-09T08:29:59") } else { jst("2024-02-09T08:30:00") }
    };
    assert_eq!(send_due(&store, &http_client(), "w", clock).await.unwrap().sent, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"), 1);
    assert_eq!(send_due(&store, &http_client(), "w", || jst("2024-02-09T10:00:00")).await.unwrap().sent, 1);
    store.close().await;
}

test_support::engine_tests! {
    async fn a_sent_punch_the_history_later_contradicts_is_reported_and_never_sent_again(engine: Engine) {
        let db = TestDb::new(engine).await;
        let (url, calls) = double(StatusCode::CREATED, "{}", None).await;
        let (store, company) = local_with_one_punch(&db, &url).await;
        let http = http_client();
        assert_eq!(send_due(&store, &http, "w", || jst("2024-02-08T12:00:00")).await.unwrap().sent, 1);
        // An earlier log arrives: the 出勤 already sent at 09:03 is now 08:10.
        ingest(&store, &company, &[("tarou", LogKind::Logon, "2024-02-08T08:10:00")]).await;
        let rebuilt = store.rebuild_punches(company.id, None, None, loginrec_store::Apply::Preview).await.unwrap();
        assert!(rebuilt.changes.is_empty(), "{engine:?}: the ingest already derived the day");
        let sent = &rebuilt.sent_differences;
        assert_eq!(sent.len(), 1, "{engine:?}: {sent:?}");
        assert_eq!(sent[0].sent_at_ms, jst("2024-02-08T09:03:00").as_millisecond());
        assert_eq!(sent[0].now_ms, Some(jst("2024-02-08T08:10:00").as_millisecond()));
        // Once settled, the day's 退勤 (the 09:03 log is now the last) goes; the 出勤 does not go again.
        send_due(&store, &http, "w", || jst("2024-02-10T12:00:00")).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2, "{engine:?}: one 出勤, one 退勤");
        assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "sent"), 2);
        store.close().await;
        db.cleanup().await;
    }
}

test_support::engine_tests! {
    async fn remote_mode_writes_no_embedded_punches_and_the_screens_show_what_goes_out(engine: Engine) {
        let db = TestDb::new(engine).await;
        let (url, _calls) = double(StatusCode::CREATED, "{}", None).await;
        let (store, company) = local_with_one_punch(&db, &url).await;
        ingest(&store, &company, &[("tarou", LogKind::Logoff, "2024-02-08T18:30:00")]).await;
        let day = jiff::civil::date(2024, 2, 8);
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        // 日別データ and the time card show the PC punches queued for the remote service.
        let queued = store.attendance().timecard(company.id, day, day).await.unwrap();
        let text = loginrec_server::timecard::render(&queued, &tz);
        assert!(text.contains("0001,2024-02-08,2024/02/08 09:03,2024/02/08 18:30,PC"), "{engine:?}: {text}");
        assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"), 2);
        // The embedded module never got them: back in embedded mode its time card is empty
        // until the punches are derived into it.
        store.remote().set_remote(company.id, None).await.unwrap();
        assert!(store.attendance().timecard(company.id, day, day).await.unwrap().is_empty(), "{engine:?}");
        let rebuilt = store.rebuild_punches(company.id, None, None, loginrec_store::Apply::Commit).await.unwrap();
        assert_eq!(rebuilt.changes.len(), 1, "{engine:?}: the day is derived into the embedded module");
        let text = loginrec_server::timecard::render(&store.attendance().timecard(company.id, day, day).await.unwrap(), &tz);
        assert!(text.contains("0001,2024-02-08,2024/02/08 09:03,2024/02/08 18:30,PC"), "{engine:?}: {text}");
        store.close().await;
        db.cleanup().await;
    }
}

/// The answer the real service gives to any request inside its blocked windows.
const BLOCKED_WINDOW: &str = r#"{"errors":[{"message":"The API is not available at this time.","code":104}]}"#;

#[tokio::test]
async fn a_blocked_window_answer_waits_for_the_window_to_end_and_never_pauses_the_company() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    // The service's clock says it is in a window although ours does not.
    let (url, calls) = double(StatusCode::FORBIDDEN, BLOCKED_WINDOW, None).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    let report = send_due(&store, &http_client(), "w", || jst("2024-02-08T12:00:00")).await.unwrap();
    assert_eq!((report.paused, report.retried, report.sent), (0, 1, 0), "{report:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let company_now = store.company_by_code("ABC").await.unwrap().unwrap();
    assert_eq!(company_now.remote_paused_reason, None, "a blocked window is not a rejected token");
    assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"), 1);
    store.close().await;
}

/// A remote service whose `GET /employees` answers `status` with `body`, counting the calls.
async fn employee_list_double(status: StatusCode, body: &'static str) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/api/v1.0/employees",
        axum::routing::get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                (status, [("content-type", "application/json")], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/api/v1.0"), calls)
}

#[tokio::test]
async fn an_employee_sync_is_not_started_in_a_blocked_window_and_a_window_answer_does_not_pause() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (url, calls) = employee_list_double(StatusCode::FORBIDDEN, BLOCKED_WINDOW).await;
    let (store, company) = local_instance(&db, &url, "remote-token").await;
    let config = store.remote().remote_config(company.id).await.unwrap().unwrap();
    let http = http_client();

    // 連携実行 at 09:00 JST: refused here, before any request, with the time to come back.
    let err = sync_remote_employees(&store, &http, &company, &config, jst("2024-02-08T09:00:00")).await.unwrap_err();
    assert!(matches!(err, loginrec_worker::remote::SyncError::BlockedWindow { .. }), "{err:?}");
    assert!(err.to_string().contains("10:00"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing is asked of the service in its window");

    // At noon by our clock, the service still answers 403 code 104: wait, never pause.
    let err = sync_remote_employees(&store, &http, &company, &config, noon()).await.unwrap_err();
    assert!(matches!(err, loginrec_worker::remote::SyncError::BlockedWindow { .. }), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let company_now = store.company_by_code("ABC").await.unwrap().unwrap();
    assert_eq!(company_now.remote_paused_reason, None, "a blocked window is not a rejected token");
    store.close().await;
}

/// What an internal service would answer, which must never reach an administrator.
const SECRET: &str = "INTERNAL-SECRET-7f3a";
/// Words a remote service writes in its answers, which must never be repeated either.
const MARKER: &str = "REMOTE-WORDS-91c2";

/// Serves `app` on a fresh port of 127.0.0.1 and gives its address.
async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// An internal service: every request, whatever its method and path, is counted and answered
/// 400 with `SECRET` in the KOT error shape, so that a client repeating messages would show it.
async fn internal_service() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = format!(r#"{{"errors":[{{"message":"{SECRET}","code":1}}]}}"#);
            (StatusCode::BAD_REQUEST, [("content-type", "application/json")], body).into_response()
        }
    });
    (format!("http://{}", serve(app).await), calls)
}

/// A remote service that answers every request with `status` and `Location: location`, its
/// body naming `MARKER`, counting the calls.
async fn redirecting_service(status: StatusCode, location: String) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let (counter, location) = (counter.clone(), location.clone());
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (status, [("location", location)], format!("moved: {MARKER}")).into_response()
        }
    });
    (format!("http://{}/api/v1.0", serve(app).await), calls)
}

/// Everything an administrator may read about the company's remote sending: the paused reason
/// (診断) and every outbox row's recorded reason.
async fn shown_to_the_administrator(store: &Store, company: &Company) -> String {
    let paused = store.company_by_code(&company.code).await.unwrap().unwrap().remote_paused_reason.unwrap_or_default();
    let reasons = store.remote().remote_punch_reasons(company.id).await.unwrap();
    format!("{paused}\n{reasons:?}")
}

#[tokio::test]
async fn a_redirected_punch_is_not_followed_pauses_the_company_and_shows_no_body() {
    for status in [StatusCode::FOUND, StatusCode::MOVED_PERMANENTLY, StatusCode::TEMPORARY_REDIRECT] {
        let db = TestDb::new(test_support::Engine::Sqlite).await;
        let (internal, internal_calls) = internal_service().await;
        let (url, calls) = redirecting_service(status, format!("{internal}/latest/meta-data")).await;
        let (store, company) = local_with_one_punch(&db, &url).await;
        let report = send_due(&store, &http_client(), "w", || jst("2024-02-08T12:00:00")).await.unwrap();
        assert_eq!((report.sent, report.paused), (0, 1), "{status}: {report:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(internal_calls.load(Ordering::SeqCst), 0, "{status}: the redirect was followed");
        assert_eq!(
            state(&store.remote().remote_punch_states(company.id).await.unwrap(), "pending"),
            1,
            "the punch is kept"
        );
        let shown = shown_to_the_administrator(&store, &company).await;
        assert!(shown.contains(&format!("HTTP {}", status.as_u16())) && shown.contains("転送"), "{shown}");
        assert!(!shown.contains(SECRET) && !shown.contains(MARKER) && !shown.contains("meta-data"), "{shown}");
        store.close().await;
    }
}

#[tokio::test]
async fn a_punch_answered_see_other_is_unknown_and_never_sent_again() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (internal, internal_calls) = internal_service().await;
    let (url, calls) = redirecting_service(StatusCode::SEE_OTHER, format!("{internal}/done")).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    let http = http_client();
    assert_eq!(send_due(&store, &http, "w", || jst("2024-02-08T12:00:00")).await.unwrap().unknown, 1);
    send_due(&store, &http, "w", || jst("2024-02-09T12:00:00")).await.unwrap();
    assert_eq!((calls.load(Ordering::SeqCst), internal_calls.load(Ordering::SeqCst)), (1, 0));
    assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), "unknown"), 1);
    let shown = shown_to_the_administrator(&store, &company).await;
    assert!(!shown.contains(SECRET) && !shown.contains(MARKER), "{shown}");
    store.close().await;
}

#[tokio::test]
async fn an_employee_sync_answered_with_a_redirect_is_not_followed_and_shows_no_body() {
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (internal, internal_calls) = internal_service().await;
    let (url, calls) = redirecting_service(StatusCode::FOUND, format!("{internal}/internal/employees")).await;
    let (store, company) = local_instance(&db, &url, "remote-token").await;
    let config = store.remote().remote_config(company.id).await.unwrap().unwrap();
    let err = sync_remote_employees(&store, &http_client(), &company, &config, noon()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(internal_calls.load(Ordering::SeqCst), 0, "the redirect was followed");
    assert!(matches!(err, loginrec_worker::remote::SyncError::Redirected { status: 302 }), "{err:?}");
    // What the page and the run history show (Display), and what the log gets (Debug).
    let said = format!("{err} {err:?} {}", shown_to_the_administrator(&store, &company).await);
    assert!(said.contains("302") && said.contains("転送"), "{said}");
    assert!(!said.contains(SECRET) && !said.contains(MARKER), "{said}");
    let paused = store.company_by_code("ABC").await.unwrap().unwrap().remote_paused_reason;
    assert!(paused.is_some(), "the company's sending pauses until the address is set again");
    store.close().await;
}

#[tokio::test]
async fn a_refused_punch_is_recorded_with_its_status_and_code_never_the_services_words() {
    let body = r#"{"errors":[{"message":"REMOTE-WORDS-91c2 <script>","code":200}]}"#;
    for (status, outcome) in [
        (StatusCode::BAD_REQUEST, "failed"),
        (StatusCode::INTERNAL_SERVER_ERROR, "pending"),
        (StatusCode::TOO_MANY_REQUESTS, "pending"),
        (StatusCode::FORBIDDEN, "pending"),
    ] {
        let db = TestDb::new(test_support::Engine::Sqlite).await;
        let (url, _calls) = double(status, body, None).await;
        let (store, company) = local_with_one_punch(&db, &url).await;
        send_due(&store, &http_client(), "w", || jst("2024-02-08T12:00:00")).await.unwrap();
        assert_eq!(state(&store.remote().remote_punch_states(company.id).await.unwrap(), outcome), 1, "{status}");
        let shown = shown_to_the_administrator(&store, &company).await;
        assert!(shown.contains(&format!("HTTP {}", status.as_u16())) && shown.contains("200"), "{status}: {shown}");
        assert!(!shown.contains(MARKER) && !shown.contains("<script>"), "{status}: {shown}");
        store.close().await;
    }
    // Text that is not the API's shape is not repeated either.
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (url, _calls) = double(StatusCode::UNPROCESSABLE_ENTITY, "<html>REMOTE-WORDS-91c2</html>", None).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    assert_eq!(send_due(&store, &http_client(), "w", || jst("2024-02-08T12:00:00")).await.unwrap().failed, 1);
    let shown = shown_to_the_administrator(&store, &company).await;
    assert!(shown.contains("HTTP 422") && !shown.contains(MARKER), "{shown}");
    store.close().await;
}

#[tokio::test]
async fn an_employee_sync_refusal_or_bad_list_never_repeats_the_services_words() {
    for (status, body, expected) in [
        (
            StatusCode::BAD_REQUEST,
            r#"{"errors":[{"message":"REMOTE-WORDS-91c2","code":200}]}"#,
            "HTTP 400 で応答しました (エラーコード 200)",
        ),
        (StatusCode::NOT_FOUND, "<html>REMOTE-WORDS-91c2</html>", "HTTP 404 で応答しました。"),
        // A success whose body is no list: serde_json's message would quote the value.
        (StatusCode::OK, r#""REMOTE-WORDS-91c2""#, "従業員の一覧として読めませんでした"),
    ] {
        let db = TestDb::new(test_support::Engine::Sqlite).await;
        let (url, calls) = employee_list_double(status, body).await;
        let (store, company) = local_instance(&db, &url, "remote-token").await;
        let config = store.remote().remote_config(company.id).await.unwrap().unwrap();
        let err = sync_remote_employees(&store, &http_client(), &company, &config, noon()).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // What the page and the run history show (Display), and what the log gets (Debug).
        let said = format!("{err}\n{err:?}");
        assert!(said.contains(expected), "{status}: {said}");
        assert!(!said.contains(MARKER), "{status}: {said}");
        store.close().await;
    }
}

#[tokio::test]
async fn the_base_urls_user_and_password_are_never_shown_in_a_reason() {
    // A port nothing listens on: taken, then let go.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = format!("http://operator:s3cret-pw@{closed}/api/v1.0");
    let db = TestDb::new(test_support::Engine::Sqlite).await;
    let (store, company) = local_with_one_punch(&db, &url).await;
    let config = store.remote().remote_config(company.id).await.unwrap().unwrap();
    assert!(!format!("{config:?}").contains("s3cret-pw"), "{config:?}");

    let err = sync_remote_employees(&store, &http_client(), &company, &config, noon()).await.unwrap_err();
    assert!(matches!(err, loginrec_worker::remote::SyncError::Unreachable { .. }), "{err:?}");
    let said = format!("{err}\n{err:?}");
    assert!(said.contains(&format!("http://***:***@{closed}/api/v1.0")), "{said}");
    assert!(!said.contains("s3cret-pw") && !said.contains("operator"), "{said}");

    let report = send_due(&store, &http_client(), "w", || jst("2024-02-08T12:00:00")).await.unwrap();
    assert_eq!(report.retried, 1, "{report:?}");
    let shown = shown_to_the_administrator(&store, &company).await;
    assert!(shown.contains("***:***@") && !shown.contains("s3cret-pw") && !shown.contains("operator"), "{shown}");
    store.close().await;
}
