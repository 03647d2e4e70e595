//! Simulator → LanScope files → connector → server → time card, compared with the
//! simulator's ground truth line by line. The operator steps use the `loginrec` binary as an
//! administrator would; the server runs as its own process.
//!
//! The pipeline tests run as `…_sqlite` and `…_postgres`; the PostgreSQL ones are ignored unless
//! `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use lanscope_connector::config::Config;
use lanscope_connector::delivery::RetryPolicy;
use lanscope_connector::{OnceOutcome, run_once};
use loginrec_rules::{AccessToken, CompanyCode};
use test_support::{Engine, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_loginrec");

fn loginrec(db: &str, args: &[&str]) -> Output {
    let output = Command::new(BIN).arg("--database-url").arg(db).args(args).output().expect("run loginrec");
    assert!(
        output.status.success(),
        "loginrec {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(db: &str) -> (ServerProcess, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .args(["--database-url", db, "serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let server = ServerProcess(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start on {base}");
}

/// `従業員コード,日付,出勤,退勤` rows, sorted; the time card's 打刻方法 column is checked apart.
fn rows_of(csv: &str, method_column: bool) -> Vec<String> {
    let mut rows: Vec<String> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if method_column {
                let (head, method) = l.rsplit_once(',').unwrap();
                assert_eq!(method, "PC", "every punch here is made by PC: {l}");
                head.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    rows.sort();
    rows
}

async fn run_pipeline(engine: Engine, layout: &str, encoding: &str, seed: &str) {
    let work = tempfile::tempdir().unwrap();
    let lanscope = work.path().join("lanscope");
    let db = TestDb::new(engine).await;
    let url = db.url.clone();

    loginrec(
        &url,
        &[
            "simulate",
            "lanscope",
            "--out",
            lanscope.to_str().unwrap(),
            "--users",
            "30",
            "--days",
            "7",
            "--start",
            "2024-02-05",
            "--seed",
            seed,
            "--layout",
            layout,
            "--encoding",
            encoding,
        ],
    );
    loginrec(&url, &["company", "create", "--code", "E2E001", "--name", "検証株式会社"]);
    let issued = stdout(&loginrec(&url, &["company", "issue-token", "--code", "E2E001"]));
    let token = issued.lines().last().unwrap().trim().to_string();
    assert_eq!(token.len(), 32, "the token is the last line: {issued}");
    let file = |name: &str| lanscope.join(name).to_str().unwrap().to_string();
    loginrec(&url, &["department", "import", "--company", "E2E001", &file("departments.csv")]);
    loginrec(&url, &["employee", "import", "--company", "E2E001", &file("employees.csv")]);
    let linked = stdout(&loginrec(&url, &["link", "import", "--company", "E2E001", &file("links.csv")]));
    let mut lines = linked.lines();
    assert_eq!(lines.next(), Some("30件のアカウントを更新"), "{linked}");
    assert_eq!(lines.last(), Some("0日の打刻が変わりました (employee-days changed)"), "no logs yet: {linked}");

    let (server, base) = start_server(&url).await;
    let connector_dir = work.path().join("connector");
    let config_path = connector_dir.join("connector.toml");
    let mut config = Config::new(
        CompanyCode::parse("E2E001").unwrap(),
        &AccessToken::parse(&token).unwrap(),
        lanscope.clone(),
        base,
    );
    config.settle_seconds = 0;
    config.batch_rows = 500;
    config.save(&config_path).unwrap();
    match run_once(&config, &config_path, RetryPolicy::once()).await.unwrap() {
        OnceOutcome::Done { dead, .. } => assert_eq!(dead, 0),
        OnceOutcome::Failed(e) => panic!("delivery failed: {e}"),
    }
    // A second pass over the same folder sends nothing new and changes nothing.
    run_once(&config, &config_path, RetryPolicy::once()).await.unwrap();
    drop(server);

    let expected = std::fs::read_to_string(lanscope.join("expected-punches.csv")).unwrap();
    let expected = rows_of(&expected, false);
    assert!(expected.len() > 100, "a week of 30 people has many punches; got {}", expected.len());
    let dates: Vec<&str> = expected.iter().map(|r| r.split(',').nth(1).unwrap()).collect();
    let from = dates.iter().min().unwrap().to_string();
    let to = dates.iter().max().unwrap().to_string();
    let timecard =
        stdout(&loginrec(&url, &["timecard", "export", "--company", "E2E001", "--from", &from, "--to", &to]));
    assert!(timecard.starts_with("従業員コード,日付,出勤,退勤,打刻方法"));
    let actual = rows_of(&timecard, true);
    let missing: Vec<_> = expected.iter().filter(|r| !actual.contains(r)).collect();
    let extra: Vec<_> = actual.iter().filter(|r| !expected.contains(r)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{engine:?} {layout}: missing {missing:#?}\nextra {extra:#?}");
    assert_eq!(actual, expected);

    // The cache is the derivation: rebuilding from scratch finds nothing to change.
    let rebuild = stdout(&loginrec(&url, &["punches", "rebuild", "--company", "E2E001", "--dry-run"]));
    assert_eq!(rebuild.trim(), "0日の打刻が異なります (employee-days differ)", "{engine:?}");
    // A 手入力 退勤 wins over PC; clearing it brings the PC punch back.
    let first = expected[0].split(',').collect::<Vec<_>>();
    let (code, day) = (first[0], first[1]);
    let set = stdout(&loginrec(
        &url,
        &[
            "punch",
            "set",
            "--company",
            "E2E001",
            "--employee",
            code,
            "--date",
            day,
            "--kind",
            "退勤",
            "--at",
            &format!("{day} 23:45"),
        ],
    ));
    assert!(set.trim_end().ends_with("1日の打刻が変わりました (employee-days changed)"), "{set}");
    let card = stdout(&loginrec(&url, &["timecard", "export", "--company", "E2E001", "--from", day, "--to", day]));
    assert!(card.contains(&format!("{code},{day},")) && card.contains(" 23:45,PC/手入力"), "{card}");
    loginrec(&url, &["punch", "clear", "--company", "E2E001", "--employee", code, "--date", day, "--kind", "退勤"]);
    let timecard =
        stdout(&loginrec(&url, &["timecard", "export", "--company", "E2E001", "--from", &from, "--to", &to]));
    assert_eq!(rows_of(&timecard, true), expected, "{engine:?}: back to what the logs say");
    let rebuild = stdout(&loginrec(&url, &["punches", "rebuild", "--company", "E2E001"]));
    assert_eq!(rebuild.trim(), "0日の打刻が異なります (employee-days differ)");
    db.cleanup().await;
}

test_support::engine_tests! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn simulated_event_files_become_exactly_the_expected_punches(engine: Engine) {
        run_pipeline(engine, "events", "cp932", "7").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn simulated_daily_summary_files_become_exactly_the_expected_punches(engine: Engine) {
        run_pipeline(engine, "summary", "utf8", "11").await;
    }
}

#[test]
fn the_demo_runs_twice_in_a_row_and_matches_its_ground_truth() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("demo");
    for _ in 0..2 {
        let output = Command::new(BIN)
            .args(["demo", "--no-serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(text.contains("0 missing, 0 extra"), "{text}");
        assert!(text.contains("/companies/DEMO01/daily?date="), "{text}");
    }
}

/// The text after `label` on the first line of `text` that has it, up to the line's end.
fn printed_after<'a>(text: &'a str, label: &str) -> &'a str {
    let line = text.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label} in {text}"));
    line.split(label).nth(1).unwrap().trim()
}

#[tokio::test]
async fn a_second_demo_on_the_folder_of_a_running_one_is_refused_and_both_printed_logins_work() {
    use std::io::{BufRead, BufReader};
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("demo");
    let mut first = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--users", "5", "--data-dir", data.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    let mut lines = BufReader::new(first.stdout.take().unwrap());
    while !printed.contains("Serving until Ctrl-C.") {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "the demo ended early: {printed}");
        printed.push_str(&line);
    }
    let second = Command::new(BIN)
        .args(["demo", "--no-serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let refusal = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{refusal}");
    assert!(refusal.contains("別の loginrec demo が") && refusal.contains("--data-dir"), "{refusal}");

    // The first demo's printed logins still work: its folder was left alone.
    let login = printed_after(&printed, "ログイン (log in):");
    let base = login.split("/login").next().unwrap().to_string();
    let password = printed_after(login, "パスワード");
    let mut admin = test_support::AdminClient::new(&base);
    assert_eq!(admin.login("DEMO01", "admin", password).await, 303, "{printed}");
    let operator_password = printed_after(printed_after(&printed, "サポートセンター (operator):"), "パスワード");
    let mut operator = test_support::AdminClient::new(&base);
    assert_eq!(operator.login("", "support", operator_password).await, 303, "{printed}");
    assert_eq!(operator.get("/operator").await.status(), 200);
    // What HR opens: the two 手入力 days the PC passes, and the employee past 45 hours.
    let path_of = |label: &str| {
        let url = printed_after(&printed, label).split_whitespace().next().unwrap().to_string();
        url.strip_prefix(&base).unwrap().to_string()
    };
    let (status, page) = admin.get_text(&path_of("乖離 (divergence):")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("該当する日: 2 日 (理由が未記録: 2 日)"), "{page}");
    let (status, page) = admin.get_text(&path_of("月別データ (monthly):")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("長時間労働のアラートがある従業員: 1 名") && page.contains("(45時間超)"), "{page}");
    first.kill().unwrap();
    first.wait().unwrap();

    // Once it has ended, the folder is the demo's again.
    let third = Command::new(BIN)
        .args(["demo", "--no-serve", "--listen", "127.0.0.1:0", "--users", "5", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
}

#[test]
fn the_demo_refuses_to_wipe_a_folder_it_did_not_make() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("precious.txt"), "keep me").unwrap();
    let output = Command::new(BIN)
        .args(["demo", "--no-serve", "--listen", "127.0.0.1:0", "--data-dir", work.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(Path::new(&work.path().join("precious.txt")).exists());
}

#[test]
fn a_bad_master_file_is_refused_naming_file_line_and_field() {
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db.sqlite", work.path().display());
    loginrec(&url, &["company", "create", "--code", "ABC", "--name", "x"]);
    let file = work.path().join("departments.csv");
    std::fs::write(&file, "所属コード,所属名,日付変更時間\r\n100,本社,05:00\r\n200,営業所,25:00\r\n").unwrap();
    let output = Command::new(BIN)
        .args(["--database-url", &url, "department", "import", "--company", "ABC", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("departments.csv:3") && err.contains("日付変更時間"), "{err}");
    let export =
        Command::new(BIN).args(["--database-url", &url, "link", "export", "--company", "ABC"]).output().unwrap();
    assert!(export.status.success());
}

#[tokio::test]
async fn a_login_id_with_a_line_break_cannot_forge_a_line_of_the_servers_log_nor_log_the_password() {
    let db = TestDb::new(Engine::Sqlite).await;
    loginrec(&db.url, &["company", "create", "--code", "ABC", "--name", "株式会社サンプル"]);
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(BIN)
        .args(["--database-url", &db.url, "serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the server");
    let server = ServerProcess(child);
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Short enough (64 characters at most) to reach the password check and its log line.
    let forged = "admin\n2026-12-03T00:00:00.000000Z  INFO login succeeded";
    let status = test_support::AdminClient::new(&base).login("ABC", forged, "pw-marker-8d1f").await;
    assert_eq!(status, 401);
    drop(server);
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("A login failed."), "the failure is logged: {text}");
    assert!(text.contains("admin\\n2026-12-03T00:00:00"), "the line break is escaped: {text}");
    assert!(
        !text.lines().any(|line| line.starts_with("2026-12-03T00:00:00.000000Z")),
        "no line of the log is the forged one: {text}"
    );
    assert!(!text.contains("pw-marker-8d1f"), "the password is never logged: {text}");
    db.cleanup().await;
}
