//! One company's running server on a fresh database, as the server tests start it.

use ingest_protocol::{IngestResponse, IngestRow};
use jiff::civil::date;
use loginrec_rules::LogKind;
use loginrec_store::{Company, LinkRow, Store};

use crate::{AdminClient, Engine, LogLine, SeedEmployee, TestDb, TestServer};

/// The company code of every [`TestApp`].
pub const COMPANY: &str = "ABC";
/// The password of the [`TestApp`] company's administrator `admin`.
pub const ADMIN_PASSWORD: &str = "abc password";

/// The real server on a fresh database of one engine, with company [`COMPANY`] seeded by
/// [`seed_company`](crate::seed_company) (departments 100 and 200, the given employees and
/// links, administrator `admin`), its ingest token, and that administrator logged in.
///
/// Fields drop in order, the database last: dropping a `TestApp`, however the test ends,
/// removes its database. [`TestApp::finish`] first stops the server and closes the store.
pub struct TestApp {
    pub engine: Engine,
    pub store: Store,
    pub server: TestServer,
    pub company: Company,
    /// The company's access token for the ingest API.
    pub token: String,
    /// The company's administrator, logged in.
    pub admin: AdminClient,
    /// The CSRF token of the administrator's session, good for every form.
    pub csrf: String,
    pub db: TestDb,
}

impl TestApp {
    pub async fn start(engine: Engine, employees: &[SeedEmployee<'_>]) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        let company = crate::seed_company(&store, COMPANY, employees, Some(ADMIN_PASSWORD)).await;
        let token = store.issue_token(company.id).await.expect("ingest token");
        let server = TestServer::start(store.clone()).await;
        let mut admin = AdminClient::new(&server.base_url);
        assert_eq!(admin.login(COMPANY, "admin", ADMIN_PASSWORD).await, 303, "the administrator logs in");
        let csrf = admin.csrf(&format!("/companies/{COMPANY}")).await;
        TestApp { engine, store, server, company, token, admin, csrf, db }
    }

    /// Stops the server, closes the store and removes the database.
    pub async fn finish(self) {
        self.server.stop().await;
        self.store.close().await;
        self.db.cleanup().await;
    }

    /// Posts a form as the administrator, with the session's CSRF token; returns status and body.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self.admin.post_form(path, &form).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// A page the administrator can open: its body, after checking the answer is 200.
    pub async fn page(&self, path: &str) -> String {
        let (status, page) = self.admin.get_text(path).await;
        assert_eq!(status, 200, "GET {path}: {page}");
        page
    }

    /// LanScope logs of agent 7 at Tokyo local times, through the ingest API; expects 200.
    pub async fn send_logs(&self, logs: &[(&str, LogKind, &str)]) {
        let logs: Vec<LogLine> = logs.iter().map(|(user, kind, local)| (*user, *kind, *local, "7")).collect();
        self.send_log_lines(&logs).await;
    }

    /// LanScope logs, each with its agent, through the ingest API; expects 200.
    pub async fn send_log_lines(&self, logs: &[LogLine<'_>]) {
        crate::post_logs(&self.server.base_url, &self.token, COMPANY, logs).await;
    }

    /// One batch for company `code` with `token`, through the ingest API; any answer.
    pub async fn post_batch(&self, code: &str, token: &str, rows: Vec<IngestRow>) -> reqwest::Response {
        crate::post_batch(&self.server.base_url, code, token, rows).await
    }

    /// One batch of this company with its token, expecting 200; the ingest API's answer.
    pub async fn send_batch(&self, rows: Vec<IngestRow>) -> IngestResponse {
        let response = self.post_batch(COMPANY, &self.token, rows).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("an ingest answer")
    }

    /// Every stored day of the company as `従業員コード,日付,出勤,退勤,打刻方法` lines of the
    /// time card CSV, header excluded.
    pub async fn timecard(&self) -> Vec<String> {
        let rows = self
            .store
            .attendance()
            .timecard(self.company.id, date(2000, 1, 1), date(2100, 1, 1))
            .await
            .expect("timecard");
        let tz = jiff::tz::TimeZone::get("Asia/Tokyo").expect("time zone");
        let text = loginrec_server::timecard::render(&rows, &tz);
        text.lines().skip(1).map(str::to_string).collect()
    }

    /// The 連携設定 table: each employee and its サービスアカウント.
    pub async fn links(&self) -> Vec<LinkRow> {
        self.store.link_rows(self.company.id).await.expect("links")
    }

    /// The id of the department with 所属コード `code`.
    pub async fn department_id(&self, code: &str) -> i64 {
        let list = self.store.attendance().department_list(self.company.id).await.expect("departments");
        list.into_iter().find(|d| d.code == code).expect("the department").id
    }

    /// The id of the employee with 従業員コード `code`.
    pub async fn employee_id(&self, code: &str) -> i64 {
        self.store
            .attendance()
            .employee_by_code(self.company.id, code)
            .await
            .expect("employee")
            .expect("the employee")
            .id
    }
}
