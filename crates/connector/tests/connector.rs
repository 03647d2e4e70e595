//! The connector as an administrator meets it: `register`, `proxy`, `status` and `run --once`
//! through the real binary, against a real ログイン記録 server running in this process on a
//! fresh SQLite database, with LanScope files from the simulator or written by hand.
//!
//! One file, longer than the others, on purpose: every test here drives the same built binary
//! through the same harness (server, folders, proxies, log capture), and each further test
//! binary would link the whole server again; the tests are grouped by command below.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ingest_protocol::INGEST_PATH;
use jiff::civil::date;
use lanscope_connector::config::Config;
use lanscope_connector::delivery::{DeliveryError, RetryPolicy};
use lanscope_connector::outbox::Outbox;
use lanscope_connector::{OnceOutcome, folder, run_once};
use lanscope_simulator::{
    EVENTS_HEADER, OutputEncoding, OutputLayout, SimConfig, Simulation, expected_punches_csv, simulate,
};
use loginrec_rules::DayChangeTime;
use loginrec_server::ServerOptions;
use loginrec_store::{Company, DepartmentInput, EmployeeInput, Store};
use test_support::{Engine, TestDb, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_lanscope-connector");
const COMPANY: &str = "ACME01";
const WRONG_TOKEN: &str = "WrongToken0000000000000000000000";

// ---------------------------------------------------------------------------------------------
// Running the binary

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

async fn connector(config: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    connector_env(config, args, stdin, &[]).await
}

/// The binary with `--config`, no proxy from the environment, and no systemd: the unit folder
/// is `units` beside the configuration and `systemctl` is never called, unless `env` (where
/// `None` removes a variable) says otherwise.
fn connector_command(config: &Path, args: &[&str], env: &[(&str, Option<&str>)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("LANSCOPE_CONNECTOR_CONFIG")
        .env_remove("LANSCOPE_CONNECTOR_SYSTEMCTL")
        .env("LANSCOPE_CONNECTOR_UNIT_DIR", config.parent().expect("config folder").join("units"))
        .env("LANSCOPE_CONNECTOR_NO_SYSTEMCTL", "1")
        .env("RUST_LOG", "info,sqlx=warn")
        .kill_on_drop(true);
    for var in
        ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"]
    {
        command.env_remove(var);
    }
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
}

async fn connector_env(config: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, Option<&str>)]) -> Run {
    let mut command = connector_command(config, args, env);
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start lanscope-connector");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        // A command refused before it reads its input may have closed it already.
        match pipe.write_all(text.as_bytes()).await {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
            _ => {}
        }
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("lanscope-connector finished in time")
        .expect("lanscope-connector output");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `run` (the daemon) in the background; its log is in the log file.
fn spawn_daemon(config: &Path) -> tokio::process::Child {
    connector_command(config, &["run"], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the daemon")
}

async fn register(config: &Path, company: &str, token: &str, log_dir: &Path, server: &str) -> Run {
    let log_dir = log_dir.to_str().expect("UTF-8 path");
    connector(
        config,
        &["register", "--company-code", company, "--access-token", token, "--log-dir", log_dir, "--server", server],
        None,
    )
    .await
}

/// The value of a `status` line, found by its Japanese label.
fn status_value<'a>(status: &'a str, label: &str) -> &'a str {
    let line = status
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("status has no line {label:?}:\n{status}"));
    line.split_once(':').map(|(_, v)| v.trim()).unwrap_or_else(|| panic!("no value in {line:?}"))
}

fn status_count(status: &str, label: &str) -> i64 {
    let value = status_value(status, label);
    value.parse().unwrap_or_else(|_| panic!("{label}: {value:?} is not a number"))
}

fn set_settle_seconds(config_path: &Path, seconds: u64) -> Config {
    let mut config = Config::load(config_path).expect("load the registered configuration");
    config.settle_seconds = seconds;
    config.save(config_path).expect("save the configuration");
    config
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: Some(2), base: Duration::from_millis(10), cap: Duration::from_millis(50) }
}

fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    address
}

// ---------------------------------------------------------------------------------------------
// A ログイン記録 server with one company

struct Fixture {
    _db: TestDb,
    store: Store,
    company: Company,
    token: String,
    server: Option<TestServer>,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A company with a token, its server running, an empty LanScope folder and no connector
    /// configuration yet.
    async fn new() -> Fixture {
        let db = TestDb::new(Engine::Sqlite).await;
        let store = db.store().await;
        let company = store.create_company(COMPANY, "株式会社テスト", "Asia/Tokyo").await.expect("company");
        let token = store.issue_token(company.id).await.expect("token");
        let server = TestServer::start(store.clone()).await;
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir_all(dir.path().join("lanscope")).expect("log folder");
        Fixture { _db: db, store, company, token, server: Some(server), dir }
    }

    /// The same, with the simulation's departments, employees and LanScope links.
    async fn with_masters(sim: &Simulation) -> Fixture {
        let fixture = Fixture::new().await;
        let departments: Vec<DepartmentInput> = sim
            .departments
            .iter()
            .map(|d| DepartmentInput { code: d.code.clone(), name: d.name.clone(), day_change: d.day_change })
            .collect();
        fixture.store.attendance().upsert_departments(fixture.company.id, &departments).await.expect("departments");
        let employees: Vec<EmployeeInput> = sim
            .employees
            .iter()
            .map(|e| EmployeeInput {
                code: e.code.clone(),
                last_name: e.last_name.clone(),
                first_name: e.first_name.clone(),
                department_code: e.department_code.clone(),
            })
            .collect();
        fixture.store.attendance().upsert_employees(fixture.company.id, &employees).await.expect("employees");
        let links: Vec<(String, Option<String>)> =
            sim.employees.iter().map(|e| (e.code.clone(), Some(e.service_account.clone()))).collect();
        fixture.store.apply_links(fixture.company.id, &links).await.expect("links");
        fixture
    }

    /// One department cutting days at 05:00 and one employee `0001` linked to `tarou`.
    async fn with_tarou() -> Fixture {
        let fixture = Fixture::new().await;
        let id = fixture.company.id;
        let department =
            DepartmentInput { code: "100".into(), name: "本社".into(), day_change: DayChangeTime::LANSCOPE_DEFAULT };
        fixture.store.attendance().upsert_departments(id, &[department]).await.expect("department");
        let employee = EmployeeInput {
            code: "0001".into(),
            last_name: "山田".into(),
            first_name: "太郎".into(),
            department_code: "100".into(),
        };
        fixture.store.attendance().upsert_employees(id, &[employee]).await.expect("employee");
        fixture.store.apply_links(id, &[("0001".into(), Some("tarou".into()))]).await.expect("link");
        fixture
    }

    fn url(&self) -> String {
        self.server.as_ref().expect("server running").base_url.clone()
    }

    fn log_dir(&self) -> PathBuf {
        self.dir.path().join("lanscope")
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("connector").join("connector.toml")
    }

    fn write_simulation(&self, sim: &Simulation) {
        for file in &sim.files {
            std::fs::write(self.log_dir().join(&file.name), &file.bytes).expect("write a LanScope file");
        }
    }

    fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.log_dir().join(name), text).expect("write a file");
    }

    /// Registers the connector with this server and `token`, without settle time.
    async fn register_with(&self, company: &str, token: &str, server: &str) {
        let run = register(&self.config_path(), company, token, &self.log_dir(), server).await;
        assert_eq!(run.code, 0, "register: {run:?}");
        set_settle_seconds(&self.config_path(), 0);
    }

    async fn register(&self) {
        self.register_with(COMPANY, &self.token.clone(), &self.url()).await;
    }

    async fn run_once(&self) -> Run {
        connector(&self.config_path(), &["run", "--once"], None).await
    }

    async fn status(&self) -> String {
        let run = connector(&self.config_path(), &["status"], None).await;
        assert_eq!(run.code, 0, "status: {run:?}");
        assert!(!run.all().contains(&self.token), "status printed the whole token: {run:?}");
        run.stdout
    }

    async fn log_count(&self) -> i64 {
        self.store.log_count(self.company.id).await.expect("log count")
    }

    /// The time card as `従業員コード,日付,出勤,退勤` lines, over the simulated period and a
    /// day on either side.
    async fn timecard_lines(&self, sim: &Simulation) -> Vec<String> {
        let first = sim.expected.iter().map(|e| e.business_date).min().expect("expected punches");
        let last = sim.expected.iter().map(|e| e.business_date).max().expect("expected punches");
        self.timecard_between(first.yesterday().unwrap(), last.tomorrow().unwrap()).await
    }

    async fn timecard_between(&self, from: jiff::civil::Date, to: jiff::civil::Date) -> Vec<String> {
        let rows = self.store.attendance().timecard(self.company.id, from, to).await.expect("timecard");
        let tz = self.company.tz().expect("time zone");
        loginrec_server::timecard::render(&rows, &tz)
            .lines()
            .skip(1)
            .map(|line| line.rsplit_once(',').map(|(head, _method)| head).unwrap_or(line).to_string())
            .collect()
    }
}

fn expected_lines(sim: &Simulation) -> Vec<String> {
    expected_punches_csv(sim).lines().skip(1).map(str::to_string).collect()
}

fn small_simulation() -> Simulation {
    let sim = simulate(&SimConfig::new(6, 3, date(2024, 2, 5)));
    assert!(!sim.expected.is_empty() && !sim.events_in_files.is_empty(), "the simulation produced punches");
    sim
}

/// Records in the simulation's files: each is one log on the server.
fn record_count(sim: &Simulation) -> i64 {
    sim.events_in_files.len() as i64
}

fn events_csv(rows: &[&str]) -> String {
    let mut text = format!("{EVENTS_HEADER}\r\n");
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    text
}

const TAROU_IN: &str = "2024/02/09 09:03:10,2024/02/09 09:03:00,tarou,1,1,1,PC-001";
const TAROU_OUT: &str = "2024/02/09 18:04:10,2024/02/09 18:04:00,tarou,2,1,1,PC-001";
const TAROU_DAY: &str = "0001,2024-02-09,2024/02/09 09:03,2024/02/09 18:04";

// ---------------------------------------------------------------------------------------------
// register, proxy, status

#[tokio::test(flavor = "multi_thread")]
async fn register_refuses_bad_input_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    let a_file = dir.path().join("not-a-folder.csv");
    std::fs::write(&a_file, "x").unwrap();
    let token = "abcdEFGH0123456789abcdEFGH012345";
    let server = "http://127.0.0.1:9";

    let cases: [(&str, &str, PathBuf, &str); 5] = [
        ("ABCD", token, log_dir.clone(), "company code"),
        (COMPANY, &token[..31], log_dir.clone(), "access token must be exactly 32"),
        (COMPANY, token, dir.path().join("missing"), "does not exist"),
        (COMPANY, token, a_file.clone(), "is not a folder"),
        (COMPANY, token, PathBuf::from(r"\\server\share"), "network folder"),
    ];
    for (company, token, folder, problem) in cases {
        let run = register(&config, company, token, &folder, server).await;
        assert_ne!(run.code, 0, "{company} / {} accepted: {run:?}", folder.display());
        assert!(run.stderr.contains(problem), "the message should say {problem:?}: {run:?}");
        assert!(!config.exists(), "a refused registration wrote {}", config.display());
    }
    // The 31-character token is counted, not echoed.
    let run = register(&config, COMPANY, &token[..31], &log_dir, server).await;
    assert!(run.stderr.contains("31") && !run.all().contains(&token[..31]), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_keeps_the_token_in_an_owner_only_file_and_status_shows_it_masked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conf").join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    let token = "abcdEFGH0123456789abcdEFGH012345";

    let run = register(&config, COMPANY, token, &log_dir, "http://127.0.0.1:9").await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.all().contains(token), "register echoed the token: {run:?}");
    let text = std::fs::read_to_string(&config).expect("the configuration was written");
    assert!(text.contains(token), "the configuration holds the token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the configuration must be readable by its owner only");
    }
    let saved = Config::load(&config).unwrap();
    assert_eq!(saved.company_code, COMPANY);
    assert_eq!(saved.log_dir, std::fs::canonicalize(&log_dir).unwrap());

    let status = connector(&config, &["status"], None).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(status_value(&status.stdout, "アクセストークン"), format!("abcd{}2345", "*".repeat(24)));
    assert!(!status.all().contains(token), "status printed the whole token: {status:?}");
    assert!(!status.all().contains("EFGH0123456789abcdEFGH01"), "status printed the token's middle: {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_password_with_special_characters_is_stored_exactly_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    let token = "abcdEFGH0123456789abcdEFGH012345";
    let password = "p@ss:w#rd%/";
    // https://: the proxies below are not this machine, and a plain http server is refused through them.
    assert_eq!(register(&config, COMPANY, token, &log_dir, "https://127.0.0.1:9").await.code, 0);

    let args =
        ["proxy", "--enable", "--address", "proxy.example.jp", "--port", "8080", "--user", "alice", "--password-stdin"];
    let run = connector(&config, &args, Some(&format!("{password}\r\n"))).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.all().contains(password), "{run:?}");
    let saved = Config::load(&config).unwrap();
    assert!(saved.proxy.enabled);
    assert_eq!((saved.proxy.address.as_str(), saved.proxy.port), ("proxy.example.jp", 8080));
    assert_eq!(saved.proxy.user.as_deref(), Some("alice"));
    assert_eq!(saved.proxy.password.as_deref(), Some(password), "the password is stored exactly as typed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let status = connector(&config, &["status"], None).await;
    assert_eq!(status.code, 0, "{status:?}");
    let proxy = status_value(&status.stdout, "プロキシ");
    assert!(proxy.contains("proxy.example.jp:8080") && proxy.contains("alice"), "{status:?}");
    assert!(!status.all().contains(password) && !status.all().contains("w#rd"), "status showed the password");

    let run = connector(&config, &["proxy", "--disable"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(Config::load(&config).unwrap().proxy.password, None, "disabling the proxy forgets its password");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_a_character_other_than_letters_and_digits_is_refused_naming_the_character_and_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    let dashed = "abcdEFGH-123456789abcdEFGH012345";
    assert_eq!(dashed.chars().count(), 32);
    let run = register(&config, COMPANY, dashed, &log_dir, "http://127.0.0.1:9").await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("アクセストークンの 9 文字目「-」は使えません"), "{run:?}");
    assert!(run.stderr.contains("the token's character 9 '-' is not allowed: letters and digits only"), "{run:?}");
    assert!(!run.stderr.contains("got 32"), "the length is right and not blamed: {run:?}");
    assert!(!run.all().contains(dashed), "{run:?}");
    // A full-width letter is one character, counted as such.
    let wide = "ａbcdEFGH0123456789abcdEFGH01234";
    let run = register(&config, COMPANY, wide, &log_dir, "http://127.0.0.1:9").await;
    assert!(run.stderr.contains("1 文字目「ａ」"), "{run:?}");
    // A wrong length with only letters and digits still says the length.
    let run = register(&config, COMPANY, &"a".repeat(33), &log_dir, "http://127.0.0.1:9").await;
    assert!(run.stderr.contains("got 33 characters"), "{run:?}");
    assert!(!config.exists());
}

/// A hand-edited configuration whose token (or proxy password) line is broken: every command
/// that reads the file names the file, the line and the key, and never repeats the line.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_token_line_is_reported_by_file_line_and_key_without_showing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let token = "abcdEFGH0123456789abcdEFGH012345";
    let digits = "12345678901234567890123456789012";
    let password = "p@ss:w#rd%/";
    let top = "company_code = \"ACME01\"\n";
    let rest = "log_dir = \"/lanscope\"\nserver_url = \"http://127.0.0.1:9\"\n";
    let cases = [
        // An unterminated string, a token without quotes, a token of digits (read as a number).
        (format!("{top}access_token = \"{token}\n{rest}"), token, "2 行目 (line 2), access_token"),
        (format!("{top}access_token = {token}\n{rest}"), token, "2 行目 (line 2), access_token"),
        (format!("{top}access_token = {digits}\n{rest}"), digits, "2 行目 (line 2), access_token"),
        (
            format!("{top}access_token = \"{token}\"\n{rest}\n[proxy]\nenabled = true\npassword = {password}\n"),
            password,
            "8 行目 (line 8), proxy.password",
        ),
    ];
    for (text, secret, place) in cases {
        std::fs::write(&config, &text).unwrap();
        for command in [&["status"][..], &["run", "--once"], &["proxy", "--disable"], &["register", "--check"]] {
            let run = connector(&config, command, None).await;
            assert_ne!(run.code, 0, "{command:?} read a broken file: {run:?}");
            assert!(!run.all().contains(secret), "{command:?} showed the secret: {run:?}");
            assert!(
                !run.all().contains(&secret[2..secret.len() - 2]),
                "{command:?} showed part of the secret: {run:?}"
            );
            assert!(run.stderr.contains(&config.display().to_string()), "{command:?} names the file: {run:?}");
            assert!(run.stderr.contains(place), "{command:?} names {place:?}: {run:?}");
            assert!(run.stderr.contains("the line is not shown"), "{command:?}: {run:?}");
        }
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "the file is left as it was");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn register_reads_the_token_from_standard_input_and_help_prefers_it_to_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    let log_dir = log_dir.to_str().unwrap();
    let token = "abcdEFGH0123456789abcdEFGH012345";
    let base = ["register", "--company-code", COMPANY, "--log-dir", log_dir, "--server", "http://127.0.0.1:9"];

    let with_stdin = [&base[..], &["--access-token-stdin"]].concat();
    let run = connector(&config, &with_stdin, Some(&format!("  {token} \r\nsecond line\n"))).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.all().contains(token), "{run:?}");
    assert_eq!(Config::load(&config).unwrap().access_token, token, "one line, spaces trimmed");

    // Nothing on standard input: refused, and the saved token stays.
    for stdin in [None, Some(""), Some(" \r\n")] {
        let run = connector(&config, &with_stdin, stdin).await;
        assert_ne!(run.code, 0, "{stdin:?}: {run:?}");
        assert!(run.stderr.contains("アクセストークンが標準入力にありません"), "{run:?}");
        assert!(run.stderr.contains("no access token on standard input"), "{run:?}");
    }
    // A bad token on standard input is described, not echoed.
    let run = connector(&config, &with_stdin, Some("abcdEFGH-123456789abcdEFGH012345\n")).await;
    assert!(run.stderr.contains("9 文字目「-」") && !run.all().contains("EFGH-1234"), "{run:?}");
    assert_eq!(Config::load(&config).unwrap().access_token, token);

    // Both ways at once: refused by the command line itself.
    let both = [&with_stdin[..], &["--access-token", token]].concat();
    let run = connector(&config, &both, Some(token)).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("cannot be used with"), "{run:?}");

    let help = connector(&config, &["register", "--help"], None).await;
    assert_eq!(help.code, 0, "{help:?}");
    for words in [
        "--access-token-stdin",
        "プロセス一覧",
        "visible to other users in the process list",
        "prefer --access-token-stdin",
        "標準入力",
        "read the access token from standard input",
    ] {
        assert!(help.stdout.contains(words), "--help says {words:?}:\n{}", help.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn register_refuses_a_plain_http_server_that_is_not_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    let token = "abcdEFGH0123456789abcdEFGH012345";

    for server in [
        "http://192.0.2.10:8080",
        "http://loginrec.example.jp",
        "http://[2001:db8::1]:80",
        "http://127.0.0.1.example.jp",
    ] {
        let run = register(&config, COMPANY, token, &log_dir, server).await;
        assert_ne!(run.code, 0, "{server} accepted: {run:?}");
        assert!(run.stderr.contains("送信先に http:// は使えません"), "{server}: {run:?}");
        assert!(run.stderr.contains("would carry the access token across the network unencrypted"), "{run:?}");
        assert!(run.stderr.contains("give an https:// server URL"), "{run:?}");
        assert!(!run.all().contains(token), "{run:?}");
        assert!(!config.exists(), "{server} was saved");
    }
    for server in ["https://192.0.2.10:8443", "http://localhost:9", "http://[::1]:9", "http://127.0.0.2:9"] {
        let run = register(&config, COMPANY, token, &log_dir, server).await;
        assert_eq!(run.code, 0, "{server} refused: {run:?}");
        assert_eq!(Config::load(&config).unwrap().server_url, server);
    }

    // A plain http server on this machine, reached through a proxy elsewhere, would put the
    // token on the network as well.
    let run = proxy_enable(&config, "proxy.example.jp", &["--port", "8080"], None).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("proxy.example.jp:8080"), "{run:?}");
    assert!(run.stderr.contains("the access token would reach the proxy unencrypted"), "{run:?}");
    assert!(!Config::load(&config).unwrap().proxy.enabled, "the proxy was not saved");
    assert_eq!(proxy_enable(&config, "127.0.0.1", &["--port", "8080"], None).await.code, 0);
}

/// `proxy --enable` with `args` after the address, on `config`.
async fn proxy_enable(config: &Path, address: &str, more: &[&str], stdin: Option<&str>) -> Run {
    let mut args = vec!["proxy", "--enable", "--address", address];
    args.extend_from_slice(more);
    connector(config, &args, stdin).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_address_given_as_a_url_or_a_host_is_stored_as_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    // https://: the proxies below are not this machine, and a plain http server is refused through them.
    assert_eq!(register(&config, COMPANY, WRONG_TOKEN, &log_dir, "https://127.0.0.1:9").await.code, 0);

    let accepted: [(&str, &[&str], &str, u16); 9] = [
        ("http://proxy.example.jp:8080", &["--port", "8080"], "proxy.example.jp", 8080),
        ("http://proxy.example.jp:8080", &[], "proxy.example.jp", 8080),
        ("HTTP://proxy.example.jp:3128/", &[], "proxy.example.jp", 3128),
        ("http://proxy.example.jp", &["--port", "8080"], "proxy.example.jp", 8080),
        ("proxy.example.jp", &["--port", "8080"], "proxy.example.jp", 8080),
        ("10.0.0.1:3128", &[], "10.0.0.1", 3128),
        ("[2001:db8::1]", &["--port", "8080"], "[2001:db8::1]", 8080),
        ("http://[2001:DB8::1]:3128", &[], "[2001:db8::1]", 3128),
        ("2001:db8::1", &["--port", "8080"], "[2001:db8::1]", 8080),
    ];
    for (address, more, host, port) in accepted {
        let run = proxy_enable(&config, address, more, None).await;
        assert_eq!(run.code, 0, "{address} {more:?}: {run:?}");
        let saved = Config::load(&config).unwrap();
        assert_eq!((saved.proxy.address.as_str(), saved.proxy.port), (host, port), "{address} {more:?}");
        assert_eq!(saved.proxy.url().unwrap(), format!("http://{host}:{port}"));
        let status = connector(&config, &["status"], None).await;
        assert_eq!(status_value(&status.stdout, "プロキシ"), format!("{host}:{port}"), "{status:?}");
    }

    let before = std::fs::read(&config).unwrap();
    let refused: [(&str, &[&str], &[&str]); 10] = [
        ("http://proxy.example.jp:8080", &["--port", "3128"], &["8080", "3128", "--port"]),
        ("socks5://proxy.example.jp:1080", &[], &["http://", "\"socks5\""]),
        ("https://proxy.example.jp:8443", &[], &["https:// のプロキシには対応していません", "http://host:port"]),
        ("http://proxy.example.jp:8080/proxy.pac", &[], &["パス", "path", "/proxy.pac"]),
        ("http://proxy.example.jp:8080?x=1", &[], &["query"]),
        ("http://alice:s3cret@proxy.example.jp:8080", &[], &["--user"]),
        ("http://proxy.example.jp", &[], &["--port"]),
        ("proxy.example.jp", &[], &["--port"]),
        ("proxy example.jp", &["--port", "8080"], &["host name"]),
        ("proxy.example.jp:99999", &[], &["1-65535"]),
    ];
    for (address, more, words) in refused {
        let run = proxy_enable(&config, address, more, None).await;
        assert_ne!(run.code, 0, "{address} {more:?} accepted: {run:?}");
        for word in words {
            assert!(run.stderr.contains(word), "{address} {more:?}: the message should say {word:?}: {run:?}");
        }
        assert!(!run.all().contains("s3cret"), "the password in the URL is not repeated: {run:?}");
        assert_eq!(std::fs::read(&config).unwrap(), before, "{address}: a refused address changed the settings");
    }
    let run = proxy_enable(&config, "proxy.example.jp", &["--port", "0"], None).await;
    assert_ne!(run.code, 0, "{run:?}");

    // A configuration written with the address as a URL is read as host and port.
    edit_config(&config, |c| {
        c.proxy.address = "http://proxy.example.jp:8080".into();
        c.proxy.port = 8080;
    });
    let saved = Config::load(&config).unwrap();
    assert_eq!(saved.proxy.url().unwrap(), "http://proxy.example.jp:8080");
    // One the ports of which disagree can still be put right with `proxy`.
    let text = std::fs::read_to_string(&config).unwrap().replace("port = 8080", "port = 3128");
    std::fs::write(&config, text).unwrap();
    let error = Config::load(&config).unwrap_err().to_string();
    assert!(error.contains("8080") && error.contains("3128"), "{error}");
    let run = proxy_enable(&config, "proxy.example.jp", &["--port", "3128"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(Config::load(&config).unwrap().proxy.url().unwrap(), "http://proxy.example.jp:3128");
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_help_documents_every_flag() {
    let dir = tempfile::tempdir().unwrap();
    let run = connector(&dir.path().join("connector.toml"), &["proxy", "--help"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    for flag in ["--enable", "--disable", "--address", "--port", "--user", "--password-stdin"] {
        let line = run.stdout.lines().find(|l| l.trim_start().starts_with(flag)).unwrap_or_else(|| panic!("{run:?}"));
        let documented = line.split_once("  ").is_some_and(|(_, text)| !text.trim().is_empty())
            || run.stdout.lines().skip_while(|l| *l != line).nth(1).is_some_and(|next| {
                let next = next.trim_start();
                !next.is_empty() && !next.starts_with('-')
            });
        assert!(documented, "{flag} has no description:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("http://proxy.example.jp:8080"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_user_without_a_password_is_refused_and_a_piped_password_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("connector.toml");
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir(&log_dir).unwrap();
    // https://: the proxies below are not this machine, and a plain http server is refused through them.
    assert_eq!(register(&config, COMPANY, WRONG_TOKEN, &log_dir, "https://127.0.0.1:9").await.code, 0);
    let before = std::fs::read(&config).unwrap();
    let user = ["--port", "8080", "--user", "alice"];

    // Standard input is not a terminal and gives nothing: no password, refused.
    for stdin in [None, Some(""), Some("\r\n")] {
        let run = proxy_enable(&config, "proxy.example.jp", &user, stdin).await;
        assert_ne!(run.code, 0, "{stdin:?}: {run:?}");
        assert!(run.stderr.contains("プロキシのパスワードが必要です"), "{run:?}");
        assert!(run.stderr.contains("the proxy password is required"), "{run:?}");
        assert!(!run.all().contains("***"), "{run:?}");
        assert_eq!(std::fs::read(&config).unwrap(), before, "nothing was saved");
    }
    let run = proxy_enable(&config, "proxy.example.jp", &[&user[..], &["--password-stdin"]].concat(), None).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("the proxy password is required"), "{run:?}");

    // Piped in, it is read without --password-stdin, and never shown.
    let password = "p@ss:w#rd%/";
    let run = proxy_enable(&config, "proxy.example.jp", &user, Some(&format!("{password}\n"))).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.all().contains(password) && !run.all().contains("w#rd"), "{run:?}");
    let saved = Config::load(&config).unwrap();
    assert_eq!(saved.proxy.user.as_deref(), Some("alice"));
    assert_eq!(saved.proxy.password.as_deref(), Some(password));

    // A user that cannot be sent in Basic authentication.
    let run = proxy_enable(&config, "proxy.example.jp", &["--port", "8080", "--user", "a:b"], Some(password)).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("':'") && !run.all().contains(password), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_check_proves_the_code_and_token_against_the_server_without_sending_a_log() {
    let fx = Fixture::new().await;
    let config = fx.config_path();
    let log_dir = fx.log_dir();
    let log_dir = log_dir.to_str().unwrap();
    let url = fx.url();
    let registration = ["register", "--company-code", COMPANY, "--access-token", &fx.token, "--log-dir", log_dir];

    // Plain `register` says how to check.
    let run = connector(&config, &[&registration[..], &["--server", url.as_str()]].concat(), None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("register --check"), "{run:?}");
    assert!(!run.stdout.contains("接続を確認しました"), "{run:?}");

    // `--check` with the registration saves, then checks.
    let run = connector(&config, &[&registration[..], &["--server", url.as_str(), "--check"]].concat(), None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("登録しました"), "{run:?}");
    assert!(run.stdout.contains("接続を確認しました (the server accepted the company code and token)"), "{run:?}");
    assert!(!run.all().contains(&fx.token), "{run:?}");

    // `--check` alone checks the saved settings and changes nothing.
    let before = std::fs::read(&config).unwrap();
    let run = connector(&config, &["register", "--check"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("接続を確認しました"), "{run:?}");
    assert!(!run.stdout.contains("登録しました"), "{run:?}");
    assert_eq!(std::fs::read(&config).unwrap(), before);
    assert_eq!(fx.log_count().await, 0, "the check sends no log");

    // A token the server does not know: exit 2.
    edit_config(&config, |c| c.access_token = WRONG_TOKEN.into());
    let before = std::fs::read(&config).unwrap();
    let run = connector(&config, &["register", "--check"], None).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("企業コードまたはアクセストークンが受け付けられませんでした"), "{run:?}");
    assert!(run.stderr.contains("rejected the company code or the access token, HTTP 401"), "{run:?}");
    assert!(!run.all().contains(WRONG_TOKEN), "{run:?}");
    assert_eq!(std::fs::read(&config).unwrap(), before);

    // Through a proxy: the right password gets through, a wrong one exits 4, none there exits 3.
    edit_config(&config, |c| c.access_token = fx.token.clone());
    let proxy = ForwardProxy::start().await;
    let proxy_url = format!("http://{}", proxy.address);
    let run = proxy_enable(&config, &proxy_url, &["--user", PROXY_USER], Some(PROXY_PASSWORD)).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = connector(&config, &["register", "--check"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("接続を確認しました"), "{run:?}");
    let requests = proxy.requests();
    assert!(
        requests.iter().any(|r| r.authorized && r.method == "POST" && r.target.ends_with(INGEST_PATH)),
        "{requests:?}"
    );
    let run = proxy_enable(&config, &proxy_url, &["--user", PROXY_USER], Some("wrong")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = connector(&config, &["register", "--check"], None).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("プロキシの認証に失敗しました") && run.stderr.contains("HTTP 407"), "{run:?}");
    let closed = closed_port();
    let run = proxy_enable(&config, &closed.to_string(), &[], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = connector(&config, &["register", "--check"], None).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("プロキシ経由で接続できませんでした"), "{run:?}");
    assert!(run.stderr.contains(&format!("proxy failure: nothing got through the proxy {closed}")), "{run:?}");
    assert_eq!(connector(&config, &["proxy", "--disable"], None).await.code, 0);

    // No server at the address: exit 3, and the registration is saved all the same.
    let nowhere = format!("http://{}", closed_port());
    let run = connector(&config, &[&registration[..], &["--server", nowhere.as_str(), "--check"]].concat(), None).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("登録しました"), "{run:?}");
    assert!(run.stderr.contains("サーバーに接続できませんでした"), "{run:?}");
    assert!(run.stderr.contains(&format!("the server is unreachable at {nowhere}{INGEST_PATH}")), "{run:?}");
    assert_eq!(Config::load(&config).unwrap().server_url, nowhere);

    // Something else answering at the address proves nothing.
    let other = FakeHttp::start("200 OK", "Content-Type: text/html\r\n", "<html>captive portal</html>").await;
    edit_config(&config, |c| c.server_url = other.url.clone());
    let run = connector(&config, &["register", "--check"], None).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("not an answer of the ingest API"), "{run:?}");
    let head = other.requests().into_iter().next().expect("the check reached the address");
    assert!(head.starts_with(&format!("POST {INGEST_PATH} ")), "{head}");
    assert!(header_value(&head, "x-company-code") == Some(COMPANY), "{head}");

    // Without a configuration there is nothing to check.
    let run = connector(&fx.dir.path().join("none.toml"), &["register", "--check"], None).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("register"), "{run:?}");
    assert_eq!(fx.log_count().await, 0, "no check sent a log");
}

// ---------------------------------------------------------------------------------------------
// Delivery

#[tokio::test(flavor = "multi_thread")]
async fn run_once_delivers_every_simulated_file_and_the_timecard_matches_the_ground_truth() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register().await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("{} rows", record_count(&sim))), "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim), "every record arrives once");
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));

    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), 0);
    assert_eq!(status_count(&status, "送信不可"), 0);
    assert_eq!(status_count(&status, "読めない行"), 0);
    assert_eq!(status_count(&status, "読み込んだファイル"), sim.files.len() as i64);
    assert_eq!(status_value(&status, "最後のエラー"), "なし (none)");
    assert!(!status_value(&status, "最終送信成功").contains("never"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewritten_or_copied_file_stores_nothing_twice() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register().await;
    assert_eq!(fx.run_once().await.code, 0);
    let logs = fx.log_count().await;
    assert_eq!(logs, record_count(&sim));

    // The manager writes the first file again (same bytes, new mtime) and someone copies the
    // second one under another name.
    let first = fx.log_dir().join(&sim.files[0].name);
    std::fs::write(&first, &sim.files[0].bytes).unwrap();
    let earlier = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options().write(true).open(&first).unwrap().set_modified(earlier).unwrap();
    std::fs::write(fx.log_dir().join("コピー - kintai.csv"), &sim.files[1].bytes).unwrap();
    let options = Config::load(&fx.config_path()).unwrap().read_options();
    let copied = folder::parse_file(&sim.files[1].bytes, "copy", COMPANY, &options).rows.len();

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    // Only the copy is sent again (the server counts it as duplicates); the rewritten file
    // with unchanged content is not.
    assert!(run.stdout.contains(&format!("delivered): {copied} rows; dead letters: 0")), "{run:?}");
    assert_eq!(fx.log_count().await, logs, "no log is stored twice");
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), 0, "nothing is left behind:\n{status}");
    assert_eq!(status_count(&status, "送信不可"), 0, "nothing is refused:\n{status}");
    assert_eq!(status_count(&status, "読み込んだファイル"), sim.files.len() as i64 + 1, "{status}");

    // A third run finds nothing new.
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("delivered): 0 rows"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_a_file_whose_rows_still_wait_adds_nothing_to_the_queue() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register_with(COMPANY, WRONG_TOKEN, &fx.url()).await;
    assert_eq!(fx.run_once().await.code, 2);
    assert_eq!(status_count(&fx.status().await, "送信待ち"), record_count(&sim));

    std::fs::write(fx.log_dir().join("kintai_copy.csv"), &sim.files[0].bytes).unwrap();
    assert_eq!(fx.run_once().await.code, 2);
    let status = fx.status().await;
    assert_eq!(status_count(&status, "読み込んだファイル"), sim.files.len() as i64 + 1, "the copy was read:\n{status}");
    assert_eq!(status_count(&status, "送信待ち"), record_count(&sim), "and added no second copy:\n{status}");

    fx.register().await;
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("delivered): {} rows", record_count(&sim))), "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_grows_is_read_again_and_its_new_rows_arrive() {
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN]));
    fx.register().await;
    assert_eq!(fx.run_once().await.code, 0);
    assert_eq!(fx.log_count().await, 1);
    assert_eq!(
        fx.timecard_between(date(2024, 2, 1), date(2024, 2, 29)).await,
        vec!["0001,2024-02-09,2024/02/09 09:03,".to_string()]
    );

    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, 2);
    assert_eq!(fx.timecard_between(date(2024, 2, 1), date(2024, 2, 29)).await, vec![TAROU_DAY.to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn daily_summary_files_in_utf8_are_delivered_as_well() {
    let sim = simulate(&SimConfig {
        layout: OutputLayout::Summary,
        encoding: OutputEncoding::Utf8,
        ..SimConfig::new(6, 3, date(2024, 2, 5))
    });
    assert!(!sim.expected.is_empty());
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register().await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    assert_eq!(status_count(&fx.status().await, "送信不可"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_still_being_written_is_read_only_once_it_is_complete() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.register().await;
    let config = set_settle_seconds(&fx.config_path(), 2);

    let file = sim.files.iter().max_by_key(|f| f.bytes.len()).unwrap();
    let records = folder::parse_file(&file.bytes, &file.name, COMPANY, &config.read_options()).rows.len();
    assert!(records > 4, "a file with a few records");
    let path = fx.log_dir().join(&file.name);
    let half = file.bytes.len() / 2;
    std::fs::write(&path, &file.bytes[..half]).unwrap();
    let writer = {
        let (path, rest) = (path.clone(), file.bytes[half..].to_vec());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(&rest).unwrap();
        })
    };
    let outcome = run_once(&config, &fx.config_path(), quick_retries()).await.expect("run_once");
    writer.await.unwrap();
    match outcome {
        OnceOutcome::Done { delivered, dead } => assert_eq!((delivered, dead), (records as u64, 0)),
        OnceOutcome::Failed(e) => panic!("delivery failed: {e}"),
    }
    assert_eq!(fx.log_count().await, records as i64, "every row of the completed file arrived");
    let status = fx.status().await;
    assert_eq!(status_count(&status, "読めない行"), 0, "the half file was never parsed:\n{status}");
    assert!(!status.contains("無視したファイル"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recently_modified_file_is_reported_unsettled_and_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(&SimConfig::new(2, 1, date(2024, 2, 9)));
    let path = dir.path().join(&sim.files[0].name);
    std::fs::write(&path, &sim.files[0].bytes).unwrap();
    let outbox = Outbox::open(&dir.path().join("data")).await.unwrap();
    let options = lanscope_csv::ReadOptions::default();

    let summary =
        folder::read_ready_files(dir.path(), COMPANY, &options, Duration::from_secs(60), &outbox).await.unwrap();
    assert_eq!(summary.unsettled, vec![path.clone()]);
    assert_eq!((summary.files_read, summary.rows_queued), (0, 0));
    assert_eq!(outbox.queued().await.unwrap(), 0);
    assert_eq!(outbox.files_read().await.unwrap(), 0);

    let summary = folder::read_ready_files(dir.path(), COMPANY, &options, Duration::ZERO, &outbox).await.unwrap();
    assert!(summary.unsettled.is_empty());
    assert_eq!(summary.files_read, 1);
    assert_eq!(summary.rows_queued, sim.events_in_files.len() as u64);
    assert_eq!(outbox.queued().await.unwrap(), sim.events_in_files.len() as i64);
    outbox.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_server_is_down_rows_wait_and_arrive_once_it_is_back() {
    let sim = small_simulation();
    let mut fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    let down = closed_port();
    fx.register_with(COMPANY, &fx.token.clone(), &format!("http://{down}")).await;
    let config = Config::load(&fx.config_path()).unwrap();

    let outcome = run_once(&config, &fx.config_path(), quick_retries()).await.expect("run_once");
    match outcome {
        OnceOutcome::Failed(e @ DeliveryError::GaveUp { .. }) => {
            assert!(e.to_string().contains("cannot connect to the server"), "{e}")
        }
        other => panic!("expected the delivery to give up, got {other:?}"),
    }
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), record_count(&sim), "every row is kept:\n{status}");
    assert_eq!(status_count(&status, "送信不可"), 0, "{status}");
    assert!(status_value(&status, "最後のエラー").starts_with("cannot connect to the server"), "{status}");
    assert!(status_value(&status, "最終送信成功").contains("never"), "{status}");

    // The server comes up on that address.
    fx.server.take().unwrap().stop().await;
    let listener = tokio::net::TcpListener::bind(down).await.expect("the port is free again");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(loginrec_server::serve(
        listener,
        fx.store.clone(),
        ServerOptions { secure_cookies: false, behind_proxy: false, ..Default::default() },
        async {
            let _ = stopped.await;
        },
    ));
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim), "everything arrived exactly once");
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), 0, "{status}");
    assert_eq!(status_value(&status, "最後のエラー"), "なし (none)", "{status}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn run_once_exits_3_when_the_server_keeps_failing_and_keeps_the_rows() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    // A server under maintenance: 503 to everything, retry at once.
    let maintenance = FakeHttp::start(
        "503 Service Unavailable",
        "Retry-After: 0\r\nContent-Type: application/json\r\n",
        r#"{"error":"unavailable","message":"down for maintenance"}"#,
    )
    .await;
    fx.register_with(COMPANY, &fx.token.clone(), &maintenance.url).await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("rows are kept"), "{run:?}");
    assert!(run.stderr.contains("HTTP 503") && run.stderr.contains("down for maintenance"), "{run:?}");
    assert_eq!(maintenance.requests().len(), 6, "RetryPolicy::once tries six times");
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), record_count(&sim), "{status}");
    assert!(status_value(&status, "最後のエラー").contains("HTTP 503"), "{status}");

    fx.register().await;
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_exits_2_keeps_the_rows_and_delivery_completes_after_registering_again() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register_with(COMPANY, WRONG_TOKEN, &fx.url()).await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("access token was rejected"), "{run:?}");
    assert_eq!(fx.log_count().await, 0);
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), record_count(&sim), "{status}");
    assert_eq!(status_count(&status, "送信不可"), 0, "{status}");
    assert!(status_value(&status, "最後のエラー").contains("access token was rejected"), "{status}");

    fx.register().await;
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    let status = fx.status().await;
    assert_eq!((status_count(&status, "送信待ち"), status_count(&status, "送信不可")), (0, 0), "{status}");
    let after = connector(&fx.config_path(), &["run", "--once"], None).await;
    assert_eq!(after.code, 0, "free again once the daemon stopped: {}", after.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_read_under_a_mistyped_company_code_are_delivered_after_registering_the_right_one() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register_with("ACME02", &fx.token.clone(), &fx.url()).await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("access token was rejected"), "{run:?}");

    fx.register().await;
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信不可"), 0, "no row may be refused:\n{status}");
    assert_eq!(status_count(&status, "送信待ち"), 0, "{status}");
    assert_eq!(fx.log_count().await, record_count(&sim));
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_server_address_keeps_the_rows_instead_of_refusing_them() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register_with(COMPANY, &fx.token.clone(), &format!("{}/loginrec", fx.url())).await;

    let run = fx.run_once().await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("HTTP 404"), "{run:?}");
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信不可"), 0, "no row is refused for a wrong address:\n{status}");
    assert_eq!(status_count(&status, "送信待ち"), record_count(&sim), "{status}");
    assert!(status_value(&status, "最後のエラー").contains("404"), "{status}");

    fx.register().await;
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
}

/// A configuration saved by an older version with a plain http server elsewhere still loads
/// (`status` shows it) but sends nothing, and registering an acceptable server puts it right.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plain_http_server_elsewhere_stops_run_before_anything_is_sent() {
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    fx.register().await;
    edit_config(&fx.config_path(), |c| c.server_url = "http://192.0.2.10:8080".into());

    let started = std::time::Instant::now();
    for command in [&["run", "--once"][..], &["run"], &["register", "--check"]] {
        let run = connector(&fx.config_path(), command, None).await;
        assert_ne!(run.code, 0, "{command:?}: {run:?}");
        assert!(run.stderr.contains("送信しません (nothing is sent)"), "{command:?}: {run:?}");
        assert!(run.stderr.contains("送信先に http:// は使えません"), "{command:?}: {run:?}");
        assert!(run.stderr.contains("http://192.0.2.10"), "{command:?} names the server: {run:?}");
        assert!(!run.all().contains(&fx.token), "{run:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(20), "refused at once, not after trying to connect");
    let status = fx.status().await;
    assert_eq!(status_value(&status, "送信先"), "http://192.0.2.10:8080", "{status}");
    assert_eq!(status_count(&status, "送信待ち"), 0, "nothing was read for the refused server:\n{status}");

    fx.register().await;
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_the_server_refuses_becomes_a_dead_letter_and_the_others_arrive() {
    let fx = Fixture::with_tarou().await;
    let y2k = "1999/12/31 23:59:10,1999/12/31 23:59:00,hanako,1,1,2,PC-002";
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, y2k, TAROU_OUT]));
    fx.register().await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("2 rows; dead letters: 1"), "{run:?}");
    assert_eq!(fx.log_count().await, 2);
    assert_eq!(fx.timecard_between(date(2024, 2, 1), date(2024, 2, 29)).await, vec![TAROU_DAY.to_string()]);
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信不可"), 1, "{status}");
    assert!(status.contains("outside 2000–2099"), "the reason is shown:\n{status}");
    assert_eq!(status_count(&status, "送信待ち"), 0, "{status}");

    // The dead letter is not sent again.
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("0 rows; dead letters: 0"), "{run:?}");
    assert_eq!(status_count(&fx.status().await, "送信不可"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_csv_lines_are_reported_with_file_line_and_field_and_the_good_rows_arrive() {
    let fx = Fixture::with_tarou().await;
    let bad_date = "2024/02/09 12:00:10,2024/02/31 12:00:00,tarou,1,1,1,PC-001";
    let no_user = "2024/02/09 12:30:10,2024/02/09 12:30:00,,2,1,1,PC-001";
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, bad_date, no_user, TAROU_OUT]));
    fx.register().await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, 2, "the good rows arrive");
    assert_eq!(fx.timecard_between(date(2024, 2, 1), date(2024, 2, 29)).await, vec![TAROU_DAY.to_string()]);
    let status = fx.status().await;
    assert_eq!(status_count(&status, "読めない行"), 2, "{status}");
    assert!(status.contains("kintai_20240209.csv: line 3, field イベント日時"), "{status}");
    assert!(status.contains("2024/02/31 12:00:00"), "the bad value is shown:\n{status}");
    assert!(status.contains("kintai_20240209.csv: line 4, field ログオンユーザ名"), "{status}");
    assert_eq!(status_count(&status, "送信不可"), 0, "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_file_that_is_not_lanscope_output_is_ignored_and_reported() {
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    fx.write_file("employees.csv", "従業員コード,姓,名,所属コード\r\n0001,山田,太郎,100\r\n0002,佐藤,花子,100\r\n");
    fx.register().await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("2 rows"), "{run:?}");
    assert_eq!(fx.log_count().await, 2, "only the LanScope rows are sent");
    assert_eq!(fx.timecard_between(date(2024, 2, 1), date(2024, 2, 29)).await, vec![TAROU_DAY.to_string()]);
    let status = fx.status().await;
    let ignored = status.lines().find(|l| l.contains("無視したファイル")).unwrap_or_else(|| panic!("{status}"));
    assert!(ignored.contains("employees.csv") && ignored.contains("not a LanScope log file"), "{status}");
    assert!(!status.contains("kintai_20240209.csv: not"), "{status}");
    assert_eq!(status_count(&status, "送信不可"), 0, "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authenticating_proxy_gets_the_exact_password_and_a_refusal_exits_4() {
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    fx.register().await;
    let proxy =
        FakeHttp::start("407 Proxy Authentication Required", "Proxy-Authenticate: Basic realm=\"corp\"\r\n", "").await;
    let port = proxy.address.port().to_string();
    let password = "p@ss:w#rd%/";
    let args = ["proxy", "--enable", "--address", "127.0.0.1", "--port", &port, "--user", "alice", "--password-stdin"];
    let run = connector(&fx.config_path(), &args, Some(password)).await;
    assert_eq!(run.code, 0, "{run:?}");

    let run = fx.run_once().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("proxy authentication failed"), "{run:?}");
    assert!(!run.all().contains(password), "{run:?}");
    let requests = proxy.requests();
    let first = requests.first().expect("the request went through the proxy");
    let credentials = first
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_string());
    let expected = format!("Basic {}", base64(format!("alice:{password}").as_bytes()));
    assert_eq!(credentials, Some(expected), "the proxy gets the user and the exact password:\n{first}");
    assert_eq!(fx.log_count().await, 0);
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), 2, "{status}");
    assert!(status_value(&status, "最後のエラー").contains("proxy authentication failed"), "{status}");
    assert!(!status.contains(password), "{status}");
}

// ---------------------------------------------------------------------------------------------
// The daemon: file events, stopping, and kill -9 at any moment

/// Every log file the connector wrote beside the configuration, concatenated.
fn log_text(config_path: &Path) -> String {
    let logs = config_path.parent().expect("config folder").join("logs");
    let mut text = String::new();
    for entry in std::fs::read_dir(&logs).unwrap_or_else(|e| panic!("no log folder {}: {e}", logs.display())) {
        let path = entry.expect("log entry").path();
        text.push_str(&std::fs::read_to_string(&path).expect("read a log file"));
    }
    text
}

fn log_text_if_any(config_path: &Path) -> String {
    if config_path.parent().expect("config folder").join("logs").is_dir() {
        log_text(config_path)
    } else {
        String::new()
    }
}

fn edit_config(config_path: &Path, edit: impl FnOnce(&mut Config)) {
    let mut config = Config::load(config_path).expect("load the configuration");
    edit(&mut config);
    config.save(config_path).expect("save the configuration");
}

/// Waits until `ready` holds, polling; panics with `what` after `limit`.
async fn wait_until<F, Fut>(limit: Duration, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !ready().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(unix)]
fn send_sigterm(child: &tokio::process::Child) {
    let pid = child.id().expect("the daemon runs").to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(status.success(), "kill -TERM {pid}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_file_event_wakes_the_daemon_long_before_its_rescan_and_sigterm_stops_it_cleanly() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.register().await;
    // No rescan within the test: only a file event can make the daemon look. The settle time
    // still applies after the event.
    edit_config(&fx.config_path(), |c| {
        c.scan_interval_seconds = 3600;
        c.settle_seconds = 1;
    });
    let mut daemon = spawn_daemon(&fx.config_path());
    let config_path = fx.config_path();
    wait_until(Duration::from_secs(10), "the daemon to watch the folder", || {
        let text = log_text_if_any(&config_path);
        async move { text.contains("Watching the folder for file events.") && text.contains("The connector started.") }
    })
    .await;

    // One connector at a time on one outbox: a second daemon and a run --once refuse.
    for args in [&["run"][..], &["run", "--once"][..]] {
        let second = tokio::time::timeout(Duration::from_secs(30), connector(&config_path, args, None))
            .await
            .expect("a second connector stops at once");
        assert_ne!(second.code, 0, "{args:?}: {}", second.stdout);
        assert!(second.stderr.contains("already running"), "{args:?}: {}", second.stderr);
    }

    let written = std::time::Instant::now();
    fx.write_simulation(&sim);
    let total = record_count(&sim);
    wait_until(Duration::from_secs(15), "the files to be delivered", || async { fx.log_count().await == total }).await;
    let took = written.elapsed();
    assert!(took >= Duration::from_secs(1), "the settle time was skipped: delivered after {took:?}");
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));

    send_sigterm(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(15), daemon.wait()).await.expect("stopped in time").unwrap();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    let log = log_text(&fx.config_path());
    assert!(log.contains("The connector stopped."), "{log}");
    let status = fx.status().await;
    assert_eq!((status_count(&status, "送信待ち"), status_count(&status, "送信不可")), (0, 0), "{status}");
}

/// When the test kills the daemon.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// This long after it was started.
    After(u64),
    /// As soon as the server holds at least this many more logs than when it was started.
    Delivered(i64),
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn killing_the_daemon_at_any_moment_loses_nothing_and_stores_nothing_twice() {
    let sim = simulate(&SimConfig::new(60, 10, date(2024, 2, 5)));
    let total = record_count(&sim);
    assert!(total > 1_000, "a simulation with many rows ({total})");
    let fx = Fixture::with_masters(&sim).await;
    fx.register().await;
    // Small batches: many requests, so that kills land while sending as well.
    edit_config(&fx.config_path(), |c| c.batch_rows = 10);
    fx.write_simulation(&sim);
    let data_dir = fx.config_path().parent().unwrap().to_path_buf();

    // Early kills land while the daemon starts, opens the outbox and reads the files (each
    // file is one transaction); the others while it sends, right after the server committed
    // a batch or between batches.
    let plan = [
        KillAt::After(20),
        KillAt::After(35),
        KillAt::After(50),
        KillAt::After(65),
        KillAt::After(80),
        KillAt::Delivered(1),
        KillAt::Delivered(10),
        KillAt::After(120),
        KillAt::Delivered(55),
        KillAt::Delivered(1),
        KillAt::After(200),
        KillAt::Delivered(300),
        KillAt::After(30),
    ];
    let mut seen = Vec::new();
    for kill in plan {
        let before = fx.log_count().await;
        if before == total {
            break;
        }
        let mut daemon = spawn_daemon(&fx.config_path());
        match kill {
            KillAt::After(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            KillAt::Delivered(n) => {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
                while fx.log_count().await < (before + n).min(total) && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
        daemon.start_kill().expect("SIGKILL");
        let status = daemon.wait().await.expect("the daemon ended");
        assert!(!status.success(), "the daemon was killed, not stopped: {status:?}");
        let after = fx.log_count().await;
        let outbox = Outbox::open(&data_dir).await.expect("the outbox opens after a kill");
        let (files, queued) = (outbox.files_read().await.unwrap(), outbox.queued().await.unwrap());
        outbox.close().await;
        seen.push(format!("{kill:?}: logs {before}->{after}, files read {files}, queued {queued}"));
        assert!(after <= total, "{seen:?}");
    }
    eprintln!("kills:\n{}", seen.join("\n"));
    assert!(seen.len() >= 8, "most kills happened before everything was delivered: {seen:#?}");

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, total, "every row arrived, none twice");
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), 0, "the outbox is empty:\n{status}");
    assert_eq!(status_count(&status, "送信不可"), 0, "no dead letters:\n{status}");
    assert_eq!(status_count(&status, "読めない行"), 0, "{status}");
    assert_eq!(status_count(&status, "読み込んだファイル"), sim.files.len() as i64, "{status}");
}

// ---------------------------------------------------------------------------------------------
// Logs

#[tokio::test(flavor = "multi_thread")]
async fn run_writes_a_daily_log_file_without_the_token_or_the_proxy_password() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register().await;
    let proxy = ForwardProxy::start().await;
    proxy.configure(&fx.config_path(), PROXY_PASSWORD).await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
    assert!(proxy.requests().iter().any(|r| r.authorized), "delivered through the proxy");

    let logs = fx.config_path().parent().unwrap().join("logs");
    let names: Vec<String> =
        std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("connector.") && names[0].ends_with(".log"), "{names:?}");
    let log = log_text(&fx.config_path());
    for line in ["The connector", "Read a LanScope file.", "Delivered a batch."] {
        assert!(log.contains(line), "the log has {line:?}:\n{log}");
    }
    assert!(log.lines().any(|l| l.contains("rows=") && l.contains("accepted=")), "fields are logged:\n{log}");
    let credentials = base64(format!("{PROXY_USER}:{PROXY_PASSWORD}").as_bytes());
    for secret in [fx.token.as_str(), PROXY_PASSWORD, "w#rd", credentials.as_str()] {
        assert!(!log.contains(secret), "the log file holds a secret ({secret}):\n{log}");
        assert!(!run.all().contains(secret), "the output holds a secret ({secret}): {run:?}");
    }
    assert!(!log.contains(&fx.token[4..28]), "the log file holds part of the token");
}

/// The mode bits of `path` that say who may read and write it.
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_and_the_log_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    fx.register().await;
    let data = fx.config_path().parent().unwrap().to_path_buf();
    let outbox = data.join("outbox.db");

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    let logs: Vec<PathBuf> = std::fs::read_dir(data.join("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    for file in [&outbox, &logs[0]] {
        assert_eq!(mode(file), 0o600, "{} must be readable by its owner only", file.display());
    }

    // While the outbox is open, SQLite's -wal and -shm files exist: owner-only as well.
    let open = Outbox::open(&data).await.unwrap();
    open.set_state("probe", "1").await.unwrap();
    for suffix in ["-wal", "-shm"] {
        let file = data.join(format!("outbox.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    open.close().await;

    // Files left readable to everyone by an older version are narrowed on the next run.
    for file in [&outbox, &logs[0]] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    for file in [&outbox, &logs[0]] {
        assert_eq!(mode(file), 0o600, "{} was narrowed", file.display());
    }
    assert!(log_text(&fx.config_path()).contains("The connector delivered everything."));
}

// ---------------------------------------------------------------------------------------------
// A real forward proxy

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_proxy_with_the_right_password_carries_every_row() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.write_simulation(&sim);
    fx.register().await;
    let proxy = ForwardProxy::start().await;
    proxy.configure(&fx.config_path(), PROXY_PASSWORD).await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, record_count(&sim));
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the rows went through the proxy");
    let ingest = format!("{}{}", fx.url(), ingest_protocol::INGEST_PATH);
    for request in &requests {
        assert!(request.authorized, "every request carried the credentials: {request:?}");
        assert_eq!((request.method.as_str(), request.target.as_str()), ("POST", ingest.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_proxy_refusing_the_password_exits_4_for_plain_requests_and_for_connect() {
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    fx.register().await;
    let proxy = ForwardProxy::start().await;
    proxy.configure(&fx.config_path(), "p@ss:w#rd%").await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("proxy authentication failed"), "{run:?}");
    assert!(proxy.requests().iter().all(|r| !r.authorized && r.method == "POST"), "{:?}", proxy.requests());
    assert_eq!(fx.log_count().await, 0);

    // An https:// server is reached through a CONNECT tunnel: the proxy's 407 then comes as a
    // failed connection, and means the same.
    let https = fx.url().replace("http://", "https://");
    edit_config(&fx.config_path(), |c| c.server_url = https.clone());
    let seen = proxy.requests().len();
    let run = fx.run_once().await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("proxy authentication failed"), "{run:?}");
    let requests = proxy.requests();
    let tunnel = &requests[seen..];
    assert!(!tunnel.is_empty() && tunnel.iter().all(|r| r.method == "CONNECT"), "{requests:?}");
    assert_eq!(tunnel.len(), 1, "a refused proxy is not retried: {requests:?}");
    let status = fx.status().await;
    assert_eq!(status_count(&status, "送信待ち"), 2, "{status}");
    assert!(status_value(&status, "最後のエラー").contains("proxy authentication failed"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it() {
    let sim = small_simulation();
    let fx = Fixture::with_masters(&sim).await;
    fx.register().await;
    let proxy = ForwardProxy::start().await;
    let encoded = "p%40ss%3Aw%23rd%25%2F";
    let proxy_url = format!("http://{PROXY_USER}:{encoded}@{}", proxy.address);
    let (first, rest) = sim.files.split_at(sim.files.len() / 2);
    assert!(!first.is_empty() && !rest.is_empty());

    for file in first {
        std::fs::write(fx.log_dir().join(&file.name), &file.bytes).unwrap();
    }
    let env = [("HTTP_PROXY", Some(proxy_url.as_str()))];
    let run = connector_env(&fx.config_path(), &["run", "--once"], None, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    let through_proxy = proxy.requests();
    assert!(!through_proxy.is_empty(), "HTTP_PROXY was used");
    assert!(through_proxy.iter().all(|r| r.authorized), "with the decoded password: {through_proxy:?}");
    let delivered = fx.log_count().await;
    assert!(delivered > 0);
    assert!(!run.all().contains(PROXY_PASSWORD) && !run.all().contains(encoded), "{run:?}");

    for file in rest {
        std::fs::write(fx.log_dir().join(&file.name), &file.bytes).unwrap();
    }
    let env = [("HTTP_PROXY", Some(proxy_url.as_str())), ("NO_PROXY", Some("127.0.0.1"))];
    let run = connector_env(&fx.config_path(), &["run", "--once"], None, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(proxy.requests().len(), through_proxy.len(), "NO_PROXY bypassed the proxy");
    assert!(fx.log_count().await > delivered);
    assert_eq!(fx.log_count().await, record_count(&sim));
    assert_eq!(fx.timecard_lines(&sim).await, expected_lines(&sim));
    let log = log_text(&fx.config_path());
    assert!(!log.contains(PROXY_PASSWORD) && !log.contains(encoded), "{log}");
}

// ---------------------------------------------------------------------------------------------
// The service

fn unit_dir(config_path: &Path) -> PathBuf {
    config_path.parent().unwrap().join("units")
}

#[tokio::test(flavor = "multi_thread")]
async fn service_install_writes_a_unit_with_absolute_paths_and_uninstall_keeps_the_data_unless_purged() {
    let fx = Fixture::with_tarou().await;
    fx.write_file("kintai_20240209.csv", &events_csv(&[TAROU_IN, TAROU_OUT]));
    fx.register().await;
    assert_eq!(fx.run_once().await.code, 0, "an outbox exists");
    let config = fx.config_path();
    let unit = unit_dir(&config).join("lanscope-connector.service");
    let data = config.parent().unwrap().to_path_buf();

    let status = connector(&config, &["service", "status"], None).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert!(status.stdout.contains("not installed"), "{status:?}");
    assert!(fx.status().await.contains("not installed"));

    // A relative configuration path, from another folder: the unit gets absolute paths.
    let relative = Path::new("connector").join("connector.toml");
    let run = {
        let mut command = connector_command(&relative, &["service", "install"], &[]);
        command.current_dir(fx.dir.path()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let output = command.output().await.expect("run service install");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    };
    // connector_command put the unit folder beside the relative path: it is relative to the
    // working folder, which is the fixture's folder.
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("unit file written"), "{run:?}");
    let text = std::fs::read_to_string(&unit).expect("the unit file was written");
    let exe = std::fs::canonicalize(BIN).unwrap();
    let absolute_config = std::fs::canonicalize(&config).unwrap();
    let exec = text.lines().find(|l| l.starts_with("ExecStart=")).expect("ExecStart");
    assert_eq!(exec, format!("ExecStart=\"{}\" --config \"{}\" run", exe.display(), absolute_config.display()));
    assert!(text.lines().any(|l| l == "Restart=always"), "{text}");
    assert!(!text.contains(&fx.token), "the unit holds no secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&unit).unwrap().permissions().mode() & 0o777, 0o644);
    }

    let status = connector(&config, &["service", "status"], None).await;
    assert_eq!(status.code, 3, "{status:?}");
    assert!(status.stdout.contains("installed; state unknown"), "{status:?}");
    let run = register(&config, COMPANY, &fx.token, &fx.log_dir(), &fx.url()).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("cannot tell whether the service runs"), "{run:?}");

    let run = connector(&config, &["service", "uninstall"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!unit.exists(), "the unit is removed");
    assert!(config.exists() && data.join("outbox.db").exists(), "the configuration and the outbox are kept");
    assert!(run.stdout.contains("kept"), "{run:?}");
    let run = connector(&config, &["service", "uninstall"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("not installed"), "{run:?}");

    assert_eq!(connector(&config, &["service", "install"], None).await.code, 0);
    let run = connector(&config, &["service", "uninstall", "--purge"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!unit.exists() && !config.exists(), "{run:?}");
    assert!(!data.join("outbox.db").exists() && !data.join("logs").exists(), "{run:?}");

    // Without a registration there is nothing for a service to run.
    let run = connector(&config, &["service", "install"], None).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("register"), "{run:?}");
    assert!(!unit.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_systemd_install_writes_the_unit_and_says_it_cannot_start_it() {
    if Path::new("/run/systemd/system").exists() {
        eprintln!("skipped: systemd runs on this machine");
        return;
    }
    let fx = Fixture::with_tarou().await;
    fx.register().await;
    let config = fx.config_path();
    let env = [("LANSCOPE_CONNECTOR_NO_SYSTEMCTL", None)];
    let run = connector_env(&config, &["service", "install"], None, &env).await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("systemd is not running"), "{run:?}");
    assert!(unit_dir(&config).join("lanscope-connector.service").is_file(), "the unit file is written all the same");
    for action in ["start", "stop"] {
        let run = connector_env(&config, &["service", action], None, &env).await;
        assert_ne!(run.code, 0, "{run:?}");
        assert!(run.stderr.contains("systemd is not running"), "{action}: {run:?}");
    }
    let run = connector_env(&config, &["service", "status"], None, &env).await;
    assert!(run.stdout.contains("systemd is not running"), "{run:?}");
}

/// A `systemctl` that keeps the unit's state in a file and writes down how it was called.
#[cfg(unix)]
fn fake_systemctl(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("systemctl");
    let script = r#"#!/bin/sh
here=$(dirname "$0")
echo "$*" >> "$here/calls"
case "$1" in
  is-active) state=$(cat "$here/state" 2>/dev/null || echo inactive); echo "$state"; [ "$state" = active ] ;;
  start|restart) echo active > "$here/state" ;;
  try-restart) if [ "$(cat "$here/state" 2>/dev/null)" = active ]; then echo active > "$here/state"; fi ;;
  enable) if [ "$2" = --now ]; then echo active > "$here/state"; fi ;;
  stop|disable) echo inactive > "$here/state" ;;
esac
"#;
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn with_systemd_the_service_is_enabled_started_restarted_by_register_and_removed() {
    let fx = Fixture::with_tarou().await;
    fx.register().await;
    let config = fx.config_path();
    let bin = fx.dir.path().join("bin");
    let systemctl = fake_systemctl(&bin);
    let systemctl = systemctl.to_str().unwrap();
    let env = [("LANSCOPE_CONNECTOR_NO_SYSTEMCTL", None), ("LANSCOPE_CONNECTOR_SYSTEMCTL", Some(systemctl))];
    let calls = || std::fs::read_to_string(bin.join("calls")).unwrap_or_default();
    let service = |args: &'static [&'static str]| {
        let mut all = vec!["service"];
        all.extend_from_slice(args);
        let config = config.clone();
        async move { connector_env(&config, &all, None, &env).await }
    };

    let run = service(&["install"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("installed, enabled and started"), "{run:?}");
    assert_eq!(calls(), "daemon-reload\nenable --now lanscope-connector.service\n");
    let run = service(&["status"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("running"), "{run:?}");

    let args = ["register", "--company-code", COMPANY, "--access-token", &fx.token, "--server", &fx.url()];
    let log_dir = fx.log_dir();
    let args: Vec<&str> = args.into_iter().chain(["--log-dir", log_dir.to_str().unwrap()]).collect();
    let run = connector_env(&config, &args, None, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("再起動しました (restarted)"), "{run:?}");
    assert!(calls().ends_with("try-restart lanscope-connector.service\n"), "{}", calls());
    let status = connector_env(&config, &["status"], None, &env).await;
    assert!(status_value(&status.stdout, "連携サービス").contains("running"), "{status:?}");

    let run = service(&["stop"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(calls().ends_with("stop lanscope-connector.service\n"), "{}", calls());
    let run = service(&["status"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("stopped: inactive"), "{run:?}");
    let run = connector_env(&config, &args, None, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("installed but not running"), "{run:?}");
    assert_eq!(calls().matches("try-restart").count(), 1, "a stopped service is not started: {}", calls());

    let run = service(&["start"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(calls().ends_with("start lanscope-connector.service\n"), "{}", calls());

    let run = service(&["uninstall"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(calls().ends_with("disable --now lanscope-connector.service\ndaemon-reload\n"), "{}", calls());
    assert!(!unit_dir(&config).join("lanscope-connector.service").exists());
    assert!(config.exists(), "the configuration is kept");
    let run = connector_env(&config, &args, None, &env).await;
    assert!(run.stdout.contains("no service is installed"), "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// A forward proxy that wants `alice` / `p@ss:w#rd%/`: plain requests in absolute form are sent
// on, CONNECT is tunnelled, anything without the right credentials gets 407.

const PROXY_USER: &str = "alice";
const PROXY_PASSWORD: &str = "p@ss:w#rd%/";

#[derive(Clone, Debug)]
struct Proxied {
    method: String,
    target: String,
    authorized: bool,
}

struct ForwardProxy {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<Proxied>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ForwardProxy {
    async fn start() -> ForwardProxy {
        let expected: Arc<str> =
            format!("Basic {}", base64(format!("{PROXY_USER}:{PROXY_PASSWORD}").as_bytes())).into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                tokio::spawn(proxy_connection(socket, expected.clone(), log.clone()));
            }
        });
        ForwardProxy { address, seen, task }
    }

    fn requests(&self) -> Vec<Proxied> {
        self.seen.lock().unwrap().clone()
    }

    /// `proxy --enable` with this proxy, user alice and `password`.
    async fn configure(&self, config: &Path, password: &str) {
        let port = self.address.port().to_string();
        let args =
            ["proxy", "--enable", "--address", "127.0.0.1", "--port", &port, "--user", PROXY_USER, "--password-stdin"];
        let run = connector(config, &args, Some(password)).await;
        assert_eq!(run.code, 0, "{run:?}");
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads up to the end of an HTTP head; returns where the head ends.
async fn read_head(socket: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The head's lines without the hop-by-hop headers, and `Connection: close`.
fn end_to_end_head(first_line: &str, head: &str) -> String {
    let mut out = format!("{first_line}\r\n");
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !matches!(name.as_str(), "proxy-authorization" | "proxy-connection" | "connection" | "keep-alive") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

async fn proxy_connection(mut client: tokio::net::TcpStream, expected: Arc<str>, log: Arc<Mutex<Vec<Proxied>>>) {
    let mut buffer = Vec::new();
    let Some(head_end) = read_head(&mut client, &mut buffer).await else { return };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    let authorized = header_value(&head, "proxy-authorization") == Some(&*expected);
    log.lock().unwrap().push(Proxied { method: method.clone(), target: target.clone(), authorized });
    if !authorized {
        let refusal = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\
                       Content-Length: 0\r\nConnection: close\r\n\r\n";
        let _ = client.write_all(refusal.as_bytes()).await;
        let _ = client.shutdown().await;
        return;
    }
    if method == "CONNECT" {
        let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").await;
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await;
        let _ = upstream.write_all(&buffer[head_end..]).await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }
    let Some(rest) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
        return;
    };
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let length = header_value(&head, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let mut chunk = [0u8; 8192];
    while buffer.len() < head_end + length {
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let Ok(mut upstream) = tokio::net::TcpStream::connect(authority).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
        return;
    };
    let request = end_to_end_head(&format!("{method} {path} HTTP/1.1"), &head);
    if upstream.write_all(request.as_bytes()).await.is_err()
        || upstream.write_all(&buffer[head_end..head_end + length]).await.is_err()
    {
        return;
    }
    // The server closes after its answer (Connection: close), and so does the proxy.
    let mut response = Vec::new();
    if upstream.read_to_end(&mut response).await.is_err() {
        return;
    }
    let Some(response_head_end) = response.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) else { return };
    let response_head = String::from_utf8_lossy(&response[..response_head_end]).into_owned();
    let status_line = response_head.lines().next().unwrap_or_default().to_string();
    let _ = client.write_all(end_to_end_head(&status_line, &response_head).as_bytes()).await;
    let _ = client.write_all(&response[response_head_end..]).await;
    let _ = client.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP endpoint that answers every request the same way and remembers the requests.

struct FakeHttp {
    address: SocketAddr,
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeHttp {
    async fn start(status: &str, headers: &str, body: &str) -> FakeHttp {
        let response =
            format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        let response: Arc<str> = response.into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (log, response) = (log.clone(), response.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 8192];
                    // Read the head, then as much body as Content-Length announces.
                    let head_end = loop {
                        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
                    let length = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    while buffer.len() < head_end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    log.lock().unwrap().push(head);
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        FakeHttp { address, url: format!("http://{address}"), seen, task }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_test_base64_matches_the_rfc_4648_examples() {
    let cases =
        [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
    for (plain, encoded) in cases {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
}

// ---------------------------------------------------------------------------------------------
// A UTF-8 file with a stray byte

const HANAKO_IN: &str = "2024/02/09 08:45:10,2024/02/09 08:45:00,佐藤花子,1,1,2,営業部-PC002";
const HANAKO_OUT: &str = "2024/02/09 17:45:10,2024/02/09 17:45:00,佐藤花子,2,1,2,営業部-PC002";
const SUZUKI_IN: &str = "2024/02/09 09:10:10,2024/02/09 09:10:00,鈴木一郎,1,1,3,開発部-PC003";

/// A UTF-8 events file of tarou, 佐藤花子 and 鈴木一郎 with one stray 0xFF inside 鈴木一郎 on
/// line 4, as a copy that lost a byte leaves it.
fn utf8_events_with_a_stray_byte() -> Vec<u8> {
    let mut bytes = events_csv(&[TAROU_IN, HANAKO_IN, SUZUKI_IN, HANAKO_OUT, TAROU_OUT]).into_bytes();
    let at = bytes.windows("一郎".len()).position(|w| w == "一郎".as_bytes()).expect("鈴木一郎 is in the file");
    bytes.insert(at, 0xFF);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_utf8_file_with_a_stray_byte_delivers_the_other_rows_under_their_japanese_names_and_status_lists_the_line() {
    let fx = Fixture::with_tarou().await;
    let id = fx.company.id;
    let hanako = EmployeeInput {
        code: "0002".into(),
        last_name: "佐藤".into(),
        first_name: "花子".into(),
        department_code: "100".into(),
    };
    fx.store.attendance().upsert_employees(id, &[hanako]).await.expect("employee");
    fx.store.apply_links(id, &[("0002".into(), Some("佐藤花子".into()))]).await.expect("link");
    std::fs::write(fx.log_dir().join("kintai_20240209.csv"), utf8_events_with_a_stray_byte()).expect("write");
    fx.register().await;

    let run = fx.run_once().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fx.log_count().await, 4, "every row but the damaged one arrives");
    assert_eq!(
        fx.timecard_between(date(2024, 2, 1), date(2024, 2, 29)).await,
        vec![TAROU_DAY.to_string(), "0002,2024-02-09,2024/02/09 08:45,2024/02/09 17:45".to_string()],
        "佐藤花子 is read as 佐藤花子, not as CP932 mojibake"
    );
    let status = fx.status().await;
    assert_eq!(status_count(&status, "読めない行"), 1, "{status}");
    assert!(
        status.contains(
            "kintai_20240209.csv: line 4, field ログオンユーザ名: UTF-8 として読めないバイト 0xFF があります"
        ),
        "{status}"
    );
    assert!(!status.contains("無視したファイル"), "the file is not ignored:\n{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_utf8_file_read_in_pieces_reports_what_it_reports_read_whole() {
    let dir = tempfile::tempdir().expect("folder");
    std::fs::write(dir.path().join("kintai_20240209.csv"), utf8_events_with_a_stray_byte()).expect("write");
    let mut header = events_csv(&[TAROU_IN]).into_bytes();
    header.insert(3, 0xFF);
    std::fs::write(dir.path().join("kintai_20240210.csv"), header).expect("write");

    let mut outcomes = Vec::new();
    for pieces in [
        folder::PieceSizes::default(),
        folder::PieceSizes { large_file_bytes: 1, piece_bytes: 1 },
        folder::PieceSizes { large_file_bytes: 1, piece_bytes: 100 },
    ] {
        let data = tempfile::tempdir().expect("data folder");
        let outbox = Outbox::open(data.path()).await.expect("outbox");
        let options = lanscope_csv::ReadOptions::default();
        folder::read_ready_files_with(dir.path(), COMPANY, &options, Duration::ZERO, &outbox, pieces)
            .await
            .expect("read the folder");
        let rows: Vec<(String, Option<u64>)> = outbox
            .next_batch(1000)
            .await
            .expect("rows")
            .into_iter()
            .map(|(_, r)| (r.user_name, r.source_line))
            .collect();
        let errors = outbox.row_errors().await.expect("row errors");
        let problems = outbox.file_problems().await.expect("problems");
        outbox.close().await;
        outcomes.push((rows, errors, problems));
    }
    let (rows, errors, problems) = &outcomes[0];
    let users: Vec<(&str, Option<u64>)> = rows.iter().map(|(u, l)| (u.as_str(), *l)).collect();
    assert_eq!(users, vec![("tarou", Some(2)), ("佐藤花子", Some(3)), ("佐藤花子", Some(5)), ("tarou", Some(6))]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].1, 4);
    assert!(errors[0].2.contains("0xFF"), "{errors:?}");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].1.contains("UTF-8 のファイルに UTF-8 として読めないバイトがあります (1 行目 2 文字目)"),
        "{problems:?}"
    );
    for (i, other) in outcomes.iter().enumerate().skip(1) {
        assert_eq!(other, &outcomes[0], "read in pieces ({i})");
    }
}
