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
        (reqwest::Method::GET, format!("{base}/daily-schedules"), 404),
        (reqwest::Method::POST, format!("{base}/daily-workings"), 405),
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

test_support::engine_tests! {
    async fn employees_answer_for_a_date_with_or_without_resigners_and_the_company_itself(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let (http, base, token) = api(&app).await;
        let get = |path: String| {
            let (http, token, base) = (http.clone(), token.clone(), base.clone());
            async move {
                let r = http.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
            }
        };
        let codes = |list: &serde_json::Value| -> Vec<String> {
            list.as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_string()).collect()
        };

        let (status, company) = get("/company".into()).await;
        assert_eq!(status, 200);
        assert_eq!((company["code"].as_str(), company["name"].as_str()), (Some("ABC"), Some("ABC 株式会社")));

        // 0001 moves from 100 to 200 on 2024-03-01: a date before shows the old division.
        let attendance = app.store.attendance();
        let id = app.employee_id("0001").await;
        let details = loginrec_store::EmployeeDetails {
            code: "0001".into(),
            last_name: "勤怠".into(),
            first_name: "太郎".into(),
            department_code: "200".into(),
            employment_type: "正社員".into(),
        };
        let from = Some(jiff::civil::date(2024, 3, 1));
        attendance.update_employee_from(app.company.id, id, &details, from, loginrec_store::Apply::Commit).await.unwrap();
        let division = |list: &serde_json::Value| list[0]["divisionCode"].as_str().unwrap().to_string();
        assert_eq!(division(&get("/employees?date=2024-02-15".into()).await.1), "100", "{engine:?}");
        assert_eq!(division(&get("/employees?date=2024-03-15".into()).await.1), "200", "{engine:?}");
        assert_eq!(get("/employees/0001?date=2024-02-15".into()).await.1["divisionCode"], "100", "{engine:?}");

        // 0002 is deleted today: a resigner from today, an employee on any earlier date.
        let hanako = app.employee_id("0002").await;
        attendance.delete_employee(app.company.id, hanako).await.unwrap();
        assert_eq!(codes(&get("/employees".into()).await.1), vec!["0001"], "{engine:?}");
        assert_eq!(codes(&get("/employees?includeResigner=true".into()).await.1), vec!["0001", "0002"], "{engine:?}");
        assert_eq!(codes(&get("/employees?date=2024-02-15".into()).await.1), vec!["0001", "0002"], "{engine:?}");
        assert_eq!(get("/employees/0002".into()).await.0, 404, "{engine:?}");
        assert_eq!(get("/employees/0002?includeResigner=true".into()).await.0, 200, "{engine:?}");
        assert_eq!(get("/employees?date=2024-13-01".into()).await.0, 400, "{engine:?}");
        assert_eq!(get("/employees?includeResigner=yes".into()).await.0, 400, "{engine:?}");
        app.finish().await;
    }
}

test_support::engine_tests! {
    async fn daily_totals_add_up_as_the_daily_page_shows_them(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        app.send_logs(&[
            // 100 本社 changes the day at 05:00: 15:00 to 02:00 is one business day of 11 hours.
            ("tarou", LogKind::Logon, "2024-02-08T15:00:00"),
            ("tarou", LogKind::Logoff, "2024-02-09T02:00:00"),
            // A past day with only a 出勤 misses a punch.
            ("hanako", LogKind::Logon, "2024-02-08T08:30:00"),
        ])
        .await;
        let (http, base, token) = api(&app).await;
        let get = |url: String| {
            let http = http.clone();
            let token = token.clone();
            async move {
                let r = http.get(url).bearer_auth(token).send().await.unwrap();
                assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
                let status = r.status().as_u16();
                (status, r.json::<serde_json::Value>().await.unwrap())
            }
        };
        let employees = get(format!("{base}/employees")).await.1;
        let (tarou, hanako) = (key_of(&employees, "0001"), key_of(&employees, "0002"));
        let (status, days) = get(format!("{base}/daily-workings?start=2024-02-08&end=2024-02-09")).await;
        assert_eq!(status, 200, "{engine:?}: {days}");
        assert_eq!(days.as_array().unwrap().len(), 2, "{engine:?}: one entry per day: {days}");
        assert_eq!(days[0]["date"], "2024-02-08");
        let of = |day: &serde_json::Value, key: &str| -> serde_json::Value {
            day["dailyWorkings"].as_array().unwrap().iter().find(|w| w["employeeKey"] == key).unwrap().clone()
        };
        let t = of(&days[0], &tarou);
        // 11 hours from 出勤 to 退勤 less the hour of break the law asks for: 10 hours of work,
        // the last two (00:00–02:00) past the eighth; the night is 22:00–02:00.
        assert_eq!(t["breakTime"], 60, "{engine:?}: {t}");
        assert_eq!(t["totalWork"], 600, "{engine:?}: {t}");
        assert_eq!(t["assigned"], 480, "{engine:?}: {t}");
        assert_eq!(t["overtime"], 120, "{engine:?}: {t}");
        assert_eq!(t["lateNight"], 120, "{engine:?}: 22:00–24:00 is within the first eight hours: {t}");
        assert_eq!(t["lateNightOvertime"], 120, "{engine:?}: {t}");
        assert_eq!(t["isError"], false);
        assert_eq!(t["workdayTypeName"], "平日");
        assert_eq!(t["workPlaceDivisionCode"], "100");
        assert!(t.get("currentDateEmployee").is_none(), "{engine:?}: only when asked for: {t}");
        let h = of(&days[0], &hanako);
        assert_eq!((h["isError"].clone(), h["totalWork"].clone()), (serde_json::json!(true), serde_json::json!(0)));
        // The 9th is the next business day: nobody worked, both are listed.
        assert_eq!(of(&days[1], &tarou)["totalWork"], 0);
        // The same figures on 日別データ.
        let daily = app.page("/companies/ABC/daily?date=2024-02-08").await;
        let cells = "<td class=\"breaks\">1:00</td><td class=\"worked\">10:00</td><td class=\"overtime\">2:00</td><td class=\"late-night\">4:00</td>";
        assert!(daily.contains(cells) && daily.contains("打刻漏れ"), "{engine:?}: {daily}");
        let card = app.page("/companies/ABC/timecard/0001?month=2024-02").await;
        let row = card.split("<tr id=\"day-2024-02-08\">").nth(1).unwrap().split("</tr>").next().unwrap();
        assert!(row.contains(cells), "{engine:?}: the time card shows the day as 日別データ: {row}");
        let monthly = app.page("/companies/ABC/monthly?month=2024-02").await;
        let row = monthly.split("<tr id=\"employee-0001\"").nth(1).unwrap().split("</tr>").next().unwrap();
        assert!(row.contains("<td>1</td>\n<td>10:00</td><td>1:00</td><td>2:00</td><td>4:00</td>"), "{engine:?}: {row}");
        // And the month: by path or by query, the same sums; 出勤日数 counts hanako's day.
        for url in [format!("{base}/monthly-workings/2024-02"), format!("{base}/monthly-workings?date=2024-02")] {
            let (status, month) = get(url).await;
            assert_eq!(status, 200, "{engine:?}: {month}");
            let m = month.as_array().unwrap().iter().find(|m| m["employeeKey"] == tarou.as_str()).unwrap().clone();
            assert_eq!((m["year"].clone(), m["month"].clone()), (serde_json::json!(2024), serde_json::json!(2)));
            assert_eq!((m["startDate"].as_str(), m["endDate"].as_str()), (Some("2024-02-01"), Some("2024-02-29")));
            let figures = ["workingdayCount", "assigned", "overtime", "night", "nightOvertime", "breakSum"].map(|f| m[f].clone());
            assert_eq!(figures, [1, 480, 120, 120, 120, 60].map(|n| serde_json::json!(n)), "{engine:?}: {m}");
            let h = month.as_array().unwrap().iter().find(|m| m["employeeKey"] == hanako.as_str()).unwrap().clone();
            assert_eq!((h["workingdayCount"].clone(), h["assigned"].clone()), (serde_json::json!(1), serde_json::json!(0)));
        }
        let (_, ours) = get(format!("{base}/monthly-workings/2024-02?division=200&additionalFields=currentDateEmployee")).await;
        assert_eq!(ours.as_array().unwrap().len(), 1, "{engine:?}: {ours}");
        assert_eq!(ours[0]["currentDateEmployee"]["code"], "0002");
        for month in ["2024-02-01", "2024-13", "02-2024"] {
            let (status, body) = get(format!("{base}/monthly-workings/{month}")).await;
            assert_eq!(status, 400, "{engine:?}: {month}: {body}");
        }

        let (_, one) = get(format!("{base}/daily-workings?date=2024-02-08&division=200&additionalFields=currentDateEmployee")).await;
        let workings = one[0]["dailyWorkings"].as_array().unwrap();
        assert_eq!(workings.len(), 1, "{engine:?}: only division 200: {one}");
        assert_eq!(workings[0]["employeeKey"], hanako.as_str());
        assert_eq!(workings[0]["currentDateEmployee"]["code"], "0002");
        assert_eq!(workings[0]["currentDateEmployee"]["divisionCode"], "200");

        // No parameters: today. A bad or too long period answers in the API's error shape.
        let (status, today) = get(format!("{base}/daily-workings")).await;
        assert_eq!((status, today.as_array().unwrap().len()), (200, 1), "{engine:?}: {today}");
        for query in ["start=2024-02-08", "start=2024-02-08&end=2024-05-01", "date=08/02/2024", "date=2024-02-08&start=2024-02-08&end=2024-02-09"] {
            let (status, body) = get(format!("{base}/daily-workings?{query}")).await;
            assert_eq!(status, 400, "{engine:?}: {query}: {body}");
            assert!(body["errors"][0]["message"].is_string(), "{engine:?}: {query}: {body}");
        }
        app.finish().await;
    }
}

test_support::engine_tests! {
    async fn a_posted_punch_must_fall_on_its_date_or_the_night_after_as_a_manual_punch_must(engine: Engine) {
        let app = TestApp::start(engine, &EMPLOYEES).await;
        let (http, base, token) = api(&app).await;
        let employees: serde_json::Value =
            http.get(format!("{base}/employees")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let tarou = key_of(&employees, "0001");
        let post = |date: &str, time: &str| {
            let body = serde_json::json!({ "date": date, "time": time, "code": "1" });
            http.post(format!("{base}/daily-workings/timerecord/{tarou}")).bearer_auth(&token).json(&body).send()
        };
        for (date, time) in [("2024-02-09", "1999-02-09T09:00:00+09:00"), ("9999-12-31", "9999-12-30T09:00:00+09:00"), ("2024-02-09", "2024-02-08T23:00:00+09:00"), ("20240209", "2024-02-09T09:00:00+09:00"), ("2024-02-09T00:00", "2024-02-09T09:00:00+09:00")] {
            let r = post(date, time).await.unwrap();
            assert_eq!(r.status(), 400, "{engine:?}: {date} {time}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], 300, "{body}");
        }
        assert!(app.timecard().await.is_empty(), "{engine:?}: nothing recorded");
        let r = post("2024-02-09", "2024-02-10T01:30:00+09:00").await.unwrap();
        assert_eq!(r.status(), 201, "{engine:?}: a clock-in after midnight of its day is fine");
        app.finish().await;
    }
}
