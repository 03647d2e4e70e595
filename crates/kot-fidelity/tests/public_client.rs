//! A published KING OF TIME client (`kingtime` 0.0.3, MIT OR Apache-2.0, written elsewhere
//! against the real service) meets the attendance module's `/api/v1.0`: its employee model reads
//! our employees, its punch request is accepted and read back by its time record model for one
//! employee, and its daily-workings model reads our daily totals. Nothing of the client is
//! changed. Its functions pin `https://api.kingtime.jp`, so each request goes out as the client
//! sends it (the same method, path, query, `Content-Type` and bearer token) through our own
//! HTTP client, and every body it writes or reads is its own type's.
//!
//! Tests inside `engine_tests!` run as `…_sqlite` and `…_postgres`; the PostgreSQL ones are
//! ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`).

use kingtime::daily_workings::timerecord::{self, Code};
use loginrec_rules::LogKind;
use test_support::{SeedEmployee, TestApp};

const EMPLOYEES: [SeedEmployee; 2] = [("0001", "勤怠", "100", Some("tarou")), ("0002", "打刻", "200", Some("hanako"))];

/// The client's requests: JSON content type and the bearer token on every one.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Authorization", format!("Bearer {}", self.token))
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, r: reqwest::RequestBuilder) -> T {
        let response = r.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the client's model does not read {text}: {e}"))
    }
}

test_support::engine_tests! {
    async fn a_published_client_reads_employees_posts_punches_reads_them_back_and_reads_daily_totals(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[("hanako", LogKind::Logon, "2024-02-08T08:30:00"), ("hanako", LogKind::Logoff, "2024-02-08T17:30:00")])
            .await;
        let token = app.store.attendance().issue_api_token(app.company.id).await.unwrap();
        let client = Client { http: reqwest::Client::new(), base: format!("{}/api/v1.0", app.server.base_url), token };

        // Employees: the list and one employee, each read by the client's employee model.
        let list: Vec<serde_json::Value> = client.read(client.request(reqwest::Method::GET, "/employees")).await;
        assert_eq!(list.len(), 2, "{engine:?}");
        let employees: Vec<kingtime::employees::Response> =
            list.into_iter().map(|e| serde_json::from_value(e).unwrap()).collect();
        let one: kingtime::employees::Response = client.read(client.request(reqwest::Method::GET, "/employees/0001")).await;
        assert_eq!((one.last_name.as_str(), one.first_name.as_str()), ("勤怠", "太郎"), "{engine:?}");
        assert!(employees.iter().any(|e| e.key == one.key), "{engine:?}");

        // A 出勤 and a 退勤 as the client writes them.
        for (time, code) in [("2024-02-08T09:00:00+09:00", Code::In), ("2024-02-08T18:15:00+09:00", Code::Out)] {
            let request = timerecord::Request { date: "2024-02-08".parse().unwrap(), time: time.parse().unwrap(), code };
            let body: serde_json::Value = client
                .read(client.request(reqwest::Method::POST, &format!("/daily-workings/timerecord/{}", one.key)).json(&request))
                .await;
            assert!(body.is_object() && body.get("errors").is_none(), "{engine:?}: {body}");
        }

        // Read back for that one employee, by the client's query and model.
        let keys = [one.key.as_str()].join(",");
        let records: timerecord::Response = client
            .read(client.request(reqwest::Method::GET, "/daily-workings/timerecord").query(&[
                ("employeeKeys", keys.as_str()),
                ("start", "2024-02-08"),
                ("end", "2024-02-08"),
            ]))
            .await;
        let timerecord::Response(days) = records;
        assert_eq!(days.len(), 1, "{engine:?}");
        assert_eq!(days[0].daily_workings.len(), 1, "{engine:?}: only the employee asked for");
        let day = &days[0].daily_workings[0];
        assert_eq!(day.employee_key, one.key);
        let punches: Vec<(String, &'static str)> = day
            .time_record
            .iter()
            .map(|r| (r.time.to_rfc3339(), match r.code { Code::In => "in", Code::Out => "out", _ => "break" }))
            .collect();
        assert_eq!(
            punches,
            [("2024-02-08T00:00:00+00:00".to_string(), "in"), ("2024-02-08T09:15:00+00:00".to_string(), "out")],
            "{engine:?}"
        );

        // Daily totals: as the client asks (no parameters: today), and for the day punched.
        let _today: kingtime::daily_workings::Response =
            client.read(client.request(reqwest::Method::GET, "/daily-workings")).await;
        let kingtime::daily_workings::Response(totals) = client
            .read(client.request(reqwest::Method::GET, "/daily-workings?start=2024-02-08&end=2024-02-08"))
            .await;
        assert_eq!(totals.len(), 1, "{engine:?}");
        let mut keys: Vec<&str> = totals[0].daily_workings.iter().map(|w| w.employee_key.as_str()).collect();
        keys.sort();
        let mut expected: Vec<&str> = employees.iter().map(|e| e.key.as_str()).collect();
        expected.sort();
        assert_eq!(keys, expected, "{engine:?}: every employee of the day");
        app.finish().await;
    }
}
