//! Test helpers shared by the crates' integration tests.
//!
//! Every server test runs on SQLite, and on PostgreSQL when `LOGINREC_TEST_POSTGRES_URL`
//! names a server (for example `postgres://postgres@127.0.0.1:5432/postgres`): each test then
//! gets a database of its own, dropped afterwards. When `LOGINREC_REQUIRE_POSTGRES=1` (as in
//! CI) a missing PostgreSQL fails the tests instead of skipping them.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Once;

use loginrec_server::ServerOptions;
use loginrec_store::Store;
use rand::Rng;
use sqlx::Connection;

pub const POSTGRES_URL_VAR: &str = "LOGINREC_TEST_POSTGRES_URL";
pub const REQUIRE_POSTGRES_VAR: &str = "LOGINREC_REQUIRE_POSTGRES";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The engines this run tests: SQLite always, PostgreSQL when configured.
pub fn engines() -> Vec<Engine> {
    let mut engines = vec![Engine::Sqlite];
    match std::env::var(POSTGRES_URL_VAR).ok().filter(|v| !v.is_empty()) {
        Some(_) => engines.push(Engine::Postgres),
        None if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") => {
            panic!(
                "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: PostgreSQL tests cannot be skipped here"
            )
        }
        None => {
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                eprintln!(
                    "notice: PostgreSQL tests skipped; set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres to run them"
                )
            });
        }
    }
    engines
}

/// A fresh, empty database; dropped (PostgreSQL) or deleted (SQLite) with [`TestDb::cleanup`]
/// or when the process ends.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    _dir: Option<tempfile::TempDir>,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}/loginrec.db", dir.path().display());
                TestDb { url, engine, _dir: Some(dir), admin_url: None, name: String::new() }
            }
            Engine::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VAR).expect("PostgreSQL URL");
                let name = format!("loginrec_test_{}_{:08x}", std::process::id(), rand::rng().random::<u32>());
                let mut conn = sqlx::postgres::PgConnection::connect(&admin_url).await.expect("connect to PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let url = replace_database(&admin_url, &name);
                TestDb { url, engine, _dir: None, admin_url: Some(admin_url), name }
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("open the test database")
    }

    /// Drops a PostgreSQL test database (SQLite files go with the temporary folder).
    pub async fn cleanup(self) {
        if let Some(admin) = &self.admin_url
            && let Ok(mut conn) = sqlx::postgres::PgConnection::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
                .execute(&mut conn)
                .await;
            conn.close().await.ok();
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A server running in this process on `127.0.0.1:0`.
pub struct TestServer {
    pub address: SocketAddr,
    pub base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(store: Store) -> TestServer {
        Self::start_with(store, ServerOptions { secure_cookies: false, behind_proxy: false }).await
    }

    pub async fn start_with(store: Store, options: ServerOptions) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(loginrec_server::serve(listener, store, options, async {
            let _ = rx.await;
        }));
        TestServer { address, base_url: format!("http://{address}"), stop: Some(tx), task: Some(task) }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// One employee of [`seed_company`]: 従業員コード, 姓, 所属コード, and the サービスアカウント
/// linked to it, if any.
pub type SeedEmployee<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);

/// A company `code` with departments 100 本社 (日付変更時間 05:00) and 200 営業所 (00:00), the
/// given employees (名 太郎) and links, and an administrator `admin` when a password is given.
pub async fn seed_company(
    store: &Store,
    code: &str,
    employees: &[SeedEmployee<'_>],
    admin_password: Option<&str>,
) -> loginrec_store::Company {
    use loginrec_rules::DayChangeTime;
    use loginrec_store::{DepartmentInput, EmployeeInput};
    let company = store.create_company(code, &format!("{code} 株式会社"), "Asia/Tokyo").await.expect("company");
    let departments = [
        DepartmentInput { code: "100".into(), name: "本社".into(), day_change: DayChangeTime::LANSCOPE_DEFAULT },
        DepartmentInput { code: "200".into(), name: "営業所".into(), day_change: DayChangeTime::MIDNIGHT },
    ];
    store.upsert_departments(company.id, &departments).await.expect("departments");
    let inputs: Vec<EmployeeInput> = employees
        .iter()
        .map(|(code, last, dept, _)| EmployeeInput {
            code: code.to_string(),
            last_name: last.to_string(),
            first_name: "太郎".into(),
            department_code: dept.to_string(),
        })
        .collect();
    store.upsert_employees(company.id, &inputs).await.expect("employees");
    let links: Vec<(String, Option<String>)> = employees
        .iter()
        .filter_map(|(code, _, _, account)| account.map(|a| (code.to_string(), Some(a.to_string()))))
        .collect();
    if !links.is_empty() {
        store.apply_links(company.id, &links).await.expect("links");
    }
    if let Some(password) = admin_password {
        let hash = loginrec_server::hash_password(password.into()).await.expect("hash");
        store.upsert_admin(company.id, "admin", &hash).await.expect("admin");
    }
    company
}

/// One LanScope log for [`post_logs`]: user name, kind, Tokyo local time
/// (`2024-02-08T09:00:00`) and agent number.
pub type LogLine<'a> = (&'a str, loginrec_rules::LogKind, &'a str, &'a str);

/// Sends logs of company `code` through the ingest API as the connector would, and expects
/// them to be taken.
pub async fn post_logs(base_url: &str, token: &str, code: &str, logs: &[LogLine<'_>]) {
    use ingest_protocol::{ConnectorInfo, INGEST_PATH, IngestBatch, IngestRow};
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").expect("time zone");
    let rows = logs
        .iter()
        .map(|(user, kind, local, agent)| {
            let at = tz.to_ambiguous_timestamp(local.parse().expect("local time")).compatible().expect("instant");
            let agent = Some(agent.to_string());
            IngestRow::new(code, user.to_string(), *kind, at.as_millisecond(), None, Some("1".into()), agent, None)
        })
        .collect();
    let connector =
        ConnectorInfo { version: "1.0.0.5".into(), host: "lsmgr".into(), collection_start: Some("05:00".into()) };
    let batch = IngestBatch { company_code: code.into(), connector, rows };
    let response = reqwest::Client::new()
        .post(format!("{base_url}{INGEST_PATH}"))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .await
        .expect("ingest request");
    assert_eq!(response.status(), 200);
}

/// A browser-like HTTP client for the admin screens: keeps the session cookie, reads the
/// CSRF token from pages, and never follows redirects on its own.
pub struct AdminClient {
    pub base_url: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl AdminClient {
    pub fn new(base_url: &str) -> AdminClient {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        AdminClient { base_url: base_url.to_string(), http, cookie: None }
    }

    /// Logs in; returns the HTTP status of the login answer (303 on success).
    pub async fn login(&mut self, company_code: &str, login_id: &str, password: &str) -> u16 {
        let response = self
            .http
            .post(format!("{}/login", self.base_url))
            .form(&[("company_code", company_code), ("login_id", login_id), ("password", password)])
            .send()
            .await
            .expect("login request");
        if let Some(cookie) = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.cookie = cookie.split(';').next().map(str::to_string);
        }
        response.status().as_u16()
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.with_cookie(self.http.get(format!("{}{path}", self.base_url))).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// The CSRF token embedded in a page's forms.
    pub async fn csrf(&self, path: &str) -> String {
        let (_, page) = self.get_text(path).await;
        let marker = "name=\"csrf\" value=\"";
        let start = page.find(marker).map(|i| i + marker.len()).expect("a form with a CSRF token");
        page[start..].split('"').next().unwrap_or_default().to_string()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.with_cookie(self.http.post(format!("{}{path}", self.base_url))).form(form).send().await.expect("POST")
    }

    pub async fn post_file(&self, path: &str, csrf: &str, file_name: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.post_file_with(path, &[("csrf", csrf)], file_name, bytes).await
    }

    /// A multipart form: the text fields, then the file.
    pub async fn post_file_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string());
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let form = form.part("file", part);
        self.with_cookie(self.http.post(format!("{}{path}", self.base_url)))
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced_keeping_the_rest() {
        assert_eq!(super::replace_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            super::replace_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
