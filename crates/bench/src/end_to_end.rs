//! A company's day from the files to the punches: the LanScope manager's 05:00 files of N
//! employees (CP932, two files, as two managers write them) are read by the real
//! `lanscope-connector run --once`, sent over HTTP to the server (in this process, on a fresh
//! database) and turned into punches; the time from starting the connector to its end, when it
//! has delivered everything. Every employee's punches are then checked.
//!
//! The baseline is the database's own bulk load of the same decoded rows into one table with a
//! unique key, in one transaction: `sqlite3`'s `.import` on SQLite, `COPY` on PostgreSQL.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use jiff::tz::TimeZone;
use lanscope_connector::config::Config;
use loginrec_rules::{AccessToken, CompanyCode, LogKind};
use loginrec_store::url::redacted;
use loginrec_store::{Backend, Store};

use crate::ingest::{FreshDb, Server, check_punches, set_up_company};
use crate::report::print_ratio;
use crate::workload::{COMPANY_CODE, TIME_ZONE, Workload, account};

const HEADER: &str = "日時,イベント日時,ログオンユーザ名,ログ種類,サブマネージャno,エージェントno,コンピュータ名\r\n";
const FILES: usize = 2;

pub async fn run(database_url: &str, employees: usize) -> anyhow::Result<()> {
    ensure!(employees > 0, "--employees must be at least 1");
    let backend = Backend::from_url(database_url)?;
    let exe = crate::connector::connector_exe()?;
    let work = Workload::new(employees)?;
    let dir = tempfile::tempdir()?;
    let log_dir = dir.path().join("lanscope");
    std::fs::create_dir_all(&log_dir)?;
    let rows_file = dir.path().join("rows.csv");
    let rows = write_files(&work, &log_dir, &rows_file)?;
    let engine = match backend {
        Backend::Sqlite => "SQLite".to_string(),
        Backend::Postgres => format!("PostgreSQL on {}", redacted(database_url)),
    };
    println!("end to end: {employees} employees, {rows} event rows in {FILES} CP932 files for {}, {engine}", work.day);

    let sqlite_dir = matches!(backend, Backend::Sqlite).then_some(&dir);
    let db = FreshDb::create(database_url, sqlite_dir, "e2e").await?;
    let result = files_to_punches(&db.url, &work, &exe, &log_dir, dir.path()).await;
    db.cleanup().await;
    let (elapsed, setup) = result?;

    let baseline = match backend {
        Backend::Sqlite => sqlite_import(&rows_file, dir.path()).await?,
        Backend::Postgres => {
            let db = FreshDb::create(database_url, None, "copy").await?;
            let result = postgres_copy(&db.url, &rows_file).await;
            db.cleanup().await;
            result?
        }
    };
    println!(
        "files → connector → HTTP → server → punches: {:.1} s ({:.0} rows/s); every employee's 出勤 and 退勤 checked",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
    let baseline_name = match backend {
        Backend::Sqlite => "sqlite3 .import",
        Backend::Postgres => "COPY",
    };
    println!(
        "{baseline_name} of the same rows into one table with a unique key, one transaction: {:.2} s",
        baseline.as_secs_f64()
    );
    print_ratio(&format!("end to end / {baseline_name}"), elapsed, baseline, Some(8.0));
    println!("(setup, not measured above: {:.1} s)", setup.as_secs_f64());
    Ok(())
}

async fn files_to_punches(
    url: &str,
    work: &Workload,
    exe: &Path,
    log_dir: &Path,
    dir: &Path,
) -> anyhow::Result<(Duration, Duration)> {
    let store = Store::connect(url).await.context("opening the benchmark database")?;
    let (company, token, setup) = set_up_company(&store, work).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding 127.0.0.1:0")?;
    let server_url = format!("http://{}", listener.local_addr()?);
    let server = Server::start(listener, &store);

    let config_path = dir.join("connector").join("config.toml");
    std::fs::create_dir_all(config_path.parent().expect("a folder"))?;
    let company_code = CompanyCode::parse(COMPANY_CODE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = AccessToken::parse(&token).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = Config::new(company_code, &token, log_dir.to_path_buf(), server_url);
    config.settle_seconds = 1;
    config.save(&config_path)?;

    let start = Instant::now();
    let output = tokio::process::Command::new(exe)
        .arg("--config")
        .arg(&config_path)
        .args(["run", "--once"])
        .env_remove("LANSCOPE_CONNECTOR_CONFIG")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .output()
        .await
        .with_context(|| format!("running {}", exe.display()))?;
    let elapsed = start.elapsed();
    server.stop().await;
    if !output.status.success() {
        bail!(
            "the connector ended with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
        );
    }
    check_punches(&store, company.id, work).await?;
    store.close().await;
    Ok((elapsed, setup.total))
}

/// The manager's files of the day, the employees split between them, rows by user as the
/// manager writes them; and the same rows decoded, for the baseline. Returns the rows.
fn write_files(work: &Workload, log_dir: &Path, rows_file: &Path) -> anyhow::Result<usize> {
    let tz = TimeZone::get(TIME_ZONE)?;
    let mut decoded = BufWriter::new(std::fs::File::create(rows_file)?);
    let per_file = work.employees.div_ceil(FILES);
    let day = work.day.strftime("%Y%m%d");
    let mut rows = 0;
    for file in 0..FILES {
        let path = log_dir.join(format!("kintai{}_{day}.csv", file + 1));
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        let mut text = String::from(HEADER);
        for employee in (file * per_file)..((file + 1) * per_file).min(work.employees) {
            for (kind, at_ms) in work.event_times_ms(employee) {
                let local = |ms: i64| -> anyhow::Result<String> {
                    Ok(tz
                        .to_datetime(jiff::Timestamp::from_millisecond(ms)?)
                        .strftime("%Y/%m/%d %-H:%M:%S")
                        .to_string())
                };
                let kind = match kind {
                    LogKind::Logon => 1,
                    LogKind::Logoff => 2,
                };
                let line = format!(
                    "{},{},CORP\\{},{kind},1,{},営業部-PC{employee:06}\r\n",
                    local(at_ms + 30_000)?,
                    local(at_ms)?,
                    account(employee),
                    100_000 + employee,
                );
                decoded.write_all(line.as_bytes())?;
                text.push_str(&line);
                rows += 1;
            }
            if text.len() > 1 << 20 {
                out.write_all(&encoding_rs::SHIFT_JIS.encode(&text).0)?;
                text.clear();
            }
        }
        out.write_all(&encoding_rs::SHIFT_JIS.encode(&text).0)?;
        out.flush()?;
        drop(out);
        // Settled: the connector reads the files at once.
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(SystemTime::now() - Duration::from_secs(3600))?;
    }
    decoded.flush()?;
    Ok(rows)
}

const BASELINE_TABLE: &str = "CREATE TABLE logs (recorded_at TEXT, event_at TEXT, user_name TEXT, kind INTEGER, \
     sub_manager_no TEXT, agent_no TEXT, computer_name TEXT, UNIQUE (user_name, kind, event_at, sub_manager_no, agent_no))";

/// `sqlite3`'s own CSV import into a fresh database file, in one transaction.
async fn sqlite_import(rows_file: &Path, dir: &Path) -> anyhow::Result<Duration> {
    let db = dir.join("baseline.db");
    let script = format!(
        "PRAGMA journal_mode=WAL;\n{BASELINE_TABLE};\nBEGIN;\n.import --csv {} logs\nCOMMIT;\n",
        rows_file.display()
    );
    let start = Instant::now();
    let mut child = tokio::process::Command::new("sqlite3")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running sqlite3 (Debian package sqlite3) for the baseline")?;
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().context("sqlite3's standard input")?;
        stdin.write_all(script.as_bytes()).await?;
    }
    let output = child.wait_with_output().await?;
    let elapsed = start.elapsed();
    ensure!(
        output.status.success() && output.stderr.is_empty(),
        "sqlite3: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let count = tokio::process::Command::new("sqlite3").arg(&db).arg("SELECT COUNT(*) FROM logs").output().await?;
    ensure!(!String::from_utf8_lossy(&count.stdout).trim().starts_with('0'), "sqlite3 imported nothing");
    Ok(elapsed)
}

/// PostgreSQL's `COPY … FROM STDIN` into a fresh database, in one transaction.
async fn postgres_copy(url: &str, rows_file: &Path) -> anyhow::Result<Duration> {
    let pool = sqlx::PgPool::connect(url).await?;
    sqlx::query(BASELINE_TABLE).execute(&pool).await?;
    let data = tokio::fs::read(rows_file).await?;
    let start = Instant::now();
    let mut tx = pool.begin().await?;
    let mut copy = tx.copy_in_raw("COPY logs FROM STDIN (FORMAT csv)").await?;
    copy.send(data).await?;
    copy.finish().await?;
    tx.commit().await?;
    let elapsed = start.elapsed();
    pool.close().await;
    Ok(elapsed)
}
