//! The embedded module's KING OF TIME-shaped API as a KOT client meets it: filters the real
//! API has, and every unknown route or method answered in the API's own error shape.
//!
//! Tests inside `engine_tests!` run as `…_sqlite` and `…_postgres`; the PostgreSQL ones are
//! ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`).

use loginrec_rules::LogKind;
use test_support::{Engine, SeedEmployee, TestApp};

const EMPLOYEES: [SeedEmployee; 2] = [("0001", "勤怠", "100", Some("tarou")), ("0002", "打刻", "200", Some("hanako"))];

async fn api(app: &TestApp) -> (reqwest::Client, String, String) {
    let token = app.store.attendance().issue_api_token(app.company.id).await.unwrap();
    (reqwest::Client::new(), format!("{}/api/v1.0", app.server.base_url), token)
}

fn key_of(employees: &serde_json::Value, code: &str) -> String {
    employees.as_array().unwrap().iter().find(|e| e["code"] == code).unwrap()["key"].as_str().unwrap().to_string()
}

test_support::engine_tests! {
    async fn time_records_of_the_employees_asked_for_only(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[
            ("tarou", LogKind::Logon, "2024-02-08T09:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-08T18:00:00"),
            ("hanako", LogKind::Logon, "2024-02-08T08:30:00"),
            ("hanako", LogKind::Logoff, "2024-02-08T17:30:00"),
        ])
        .await;
        let (http, base, token) = api(&app).await;
        let employees: serde_json::Value =
            http.get(format!("{base}/employees")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let tarou = key_of(&employees, "0001");
        let hanako = key_of(&employees, "0002");
        let url = format!("{base}/daily-workings/timerecord?start=2024-02-08&end=2024-02-08");
        let get = |url: String| {
            let http = http.clone();
            let token = token.clone();
            async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        let keys = |days: &serde_json::Value| -> Vec<String> {
            days[0]["dailyWorkings"].as_array().unwrap().iter().map(|w| w["employeeKey"].as_str().unwrap().to_string()).collect()
        };
        let all = get(url.clone()).await;
        let mut both = vec![tarou.clone(), hanako.clone()];
        both.sort();
        let mut seen = keys(&all);
        seen.sort();
        assert_eq!(seen, both, "{engine:?}: {all}");
        let one = get(format!("{url}&employeeKeys={tarou}")).await;
        assert_eq!(keys(&one), vec![tarou.clone()], "{engine:?}: {one}");
        let records = one[0]["dailyWorkings"][0]["timeRecord"].as_array().unwrap();
        assert_eq!(records.len(), 2, "{engine:?}: both of the employee's punches: {one}");
        let two = get(format!("{url}&employeeKeys={tarou},{hanako}")).await;
        assert_eq!(keys(&two).len(), 2, "{engine:?}: {two}");
        let none = get(format!("{url}&employeeKeys=no-such-key")).await;
        assert!(none[0]["dailyWorkings"].as_array().unwrap().is_empty(), "{engine:?}: {none}");
        app.finish().await;
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_apis_own_error_shape() {
    let app = TestApp::start(Engine::Sqlite, &EMPLOYEES).await;
    let (http, base, token) = api(&app).await;
    let root = app.server.base_url.clone();
    for (method, url, status) in [
        (reqwest::Method::GET, format!("{base}/daily-workings"), 404),
        (reqwest::Method::GET, format!("{base}/no-such-thing"), 404),
        (reqwest::Method::GET, format!("{root}/api/v2.0/employees"), 404),
        (reqwest::Method::DELETE, format!("{base}/employees"), 405),
        (reqwest::Method::POST, format!("{base}/employees/0001"), 405),
        (reqwest::Method::GET, format!("{base}/daily-workings/timerecord/some-key"), 405),
    ] {
        let r = http.request(method.clone(), &url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {url}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(content_type, "application/json; charset=utf-8", "{method} {url}");
        let body: kot_protocol::ErrorBody = r.json().await.unwrap();
        assert_eq!(body.errors.len(), 1, "{method} {url}");
        assert!(!body.errors[0].message.is_empty(), "{method} {url}");
    }
    // The LanScope ingest API keeps its own shape for its unknown paths and methods.
    for (method, url, status, code) in [
        (reqwest::Method::GET, format!("{root}{}", ingest_protocol::INGEST_PATH), 405, "method_not_allowed"),
        (reqwest::Method::POST, format!("{root}/api/lanscope/v1/other"), 404, "not_found"),
    ] {
        let r = http.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{method} {url}");
        let body: ingest_protocol::ErrorBody = r.json().await.unwrap();
        assert_eq!(body.error, code, "{method} {url}");
    }
    app.finish().await;
}
