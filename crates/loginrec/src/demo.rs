//! `loginrec demo`: the whole product on one machine, in one command.
//!
//! Creates a demo company with departments (one with a 05:00 日付変更時間), employees and
//! links, issues its token, starts the server, simulates a week of LanScope output into a
//! folder, runs the connector on it, checks the punches against the simulator's ground truth
//! and prints where to see them. Every run starts from a fresh folder.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use jiff::ToSpan;
use lanscope_connector::config::Config;
use lanscope_connector::delivery::RetryPolicy;
use lanscope_connector::{OnceOutcome, run_once};
use loginrec_rules::{AccessToken, CompanyCode, PunchKind};
use loginrec_server::ServerOptions;
use loginrec_server::links;
use loginrec_store::{DepartmentInput, EmployeeInput, Store};

use crate::simulate;

const MARKER: &str = ".loginrec-demo";
pub const DEMO_COMPANY: &str = "DEMO01";

pub async fn run(listen: SocketAddr, data_dir: &Path, users: usize, serve_forever: bool) -> anyhow::Result<()> {
    // Held until the demo ends: a second demo on this folder is refused instead of wiping it.
    let _lock = reset(data_dir)?;
    let url = format!("sqlite://{}/loginrec.db", data_dir.display());
    let store = Store::connect(&url).await?;
    let company = store.create_company(DEMO_COMPANY, "デモ株式会社", "Asia/Tokyo").await?;
    let tz = company.tz()?;

    let today = tz.to_datetime(jiff::Timestamp::now()).date();
    let start = today.checked_sub(8.days())?;
    let config = lanscope_simulator::SimConfig::new(users, 7, start);
    let lanscope_dir = data_dir.join("lanscope");
    let written = simulate::write(&config, &lanscope_dir, data_dir, Duration::ZERO).await?;
    let sim = &written.simulation;

    let (employees, linked) = load_masters(&store, company.id, sim).await?;
    let token = store.issue_token(company.id).await?;
    let admin_password = loginrec_store::tokens::random_token()[..16].to_string();
    let hash = loginrec_server::hash_password(admin_password.clone()).await?;
    store.admins().upsert_admin(company.id, "admin", &hash).await?;
    let operator_password = loginrec_store::tokens::random_token()[..16].to_string();
    let operator_hash = loginrec_server::hash_password(operator_password.clone()).await?;
    store.admins().upsert_admin(loginrec_store::admins::OPERATOR, "support", &operator_hash).await?;

    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{listen} is not available ({e}); using another port.");
            tokio::net::TcpListener::bind(SocketAddr::new(listen.ip(), 0)).await?
        }
    };
    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    let server_store = store.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        loginrec_server::serve(listener, server_store, ServerOptions::for_listen_addr(address, false), async {
            let _ = stop_rx.await;
        })
        .await
    });

    let connector_dir = data_dir.join("connector");
    let connector_config_path = connector_dir.join("connector.toml");
    let mut connector = Config::new(
        CompanyCode::parse(DEMO_COMPANY)?,
        &AccessToken::parse(&token)?,
        std::fs::canonicalize(&lanscope_dir)?,
        base.clone(),
    );
    connector.settle_seconds = 0;
    connector.save(&connector_config_path)?;
    match run_once(&connector, &connector_config_path, RetryPolicy::once()).await? {
        OnceOutcome::Done { delivered, dead } => {
            println!("連携サービス: {delivered} rows delivered from {} LanScope files ({dead} refused).", written.files)
        }
        OnceOutcome::Failed(e) => bail!("the connector could not deliver: {e}"),
    }

    let first = sim.expected.iter().map(|e| e.business_date).min().unwrap_or(start);
    let last = sim.expected.iter().map(|e| e.business_date).max().unwrap_or(today);
    let timecard = loginrec_server::timecard::render(&store.attendance().timecard(company.id, first, last).await?, &tz);
    let comparison = simulate::compare(&lanscope_simulator::expected_punches_csv(sim), &timecard);
    println!(
        "勤革時: {} employees ({} linked), {} employee-days with punches; ground truth: {} matched, {} missing, {} extra.",
        employees,
        linked,
        comparison.matched + comparison.extra.len(),
        comparison.matched,
        comparison.missing.len(),
        comparison.extra.len()
    );
    let show = start.checked_add(1.day())?;
    println!();
    println!(
        "ログイン (log in):          {base}/login   企業コード {DEMO_COMPANY} / ログインID admin / パスワード {admin_password}"
    );
    println!(
        "サポートセンター (operator): {base}/login   企業コード (空欄) / ログインID support / パスワード {operator_password}"
    );
    println!("日別データ (daily punches): {base}/companies/{DEMO_COMPANY}/daily?date={show}");
    println!("ログ表示 (received logs):   {base}/companies/{DEMO_COMPANY}/logs");
    println!("LanScope files: {}   connector config: {}", lanscope_dir.display(), connector_config_path.display());
    if !comparison.missing.is_empty() || !comparison.extra.is_empty() {
        bail!(
            "the punches differ from the ground truth: missing {:?}, extra {:?}",
            comparison.missing,
            comparison.extra
        );
    }
    let hr = hr_examples(&store, company.id, sim, &tz, today).await?;
    println!(
        "乖離 (divergence):           {base}/companies/{DEMO_COMPANY}/divergences?from={}&to={}   ({} 手入力 days that the PC passes)",
        first, last, hr.diverging_days
    );
    println!(
        "月別データ (monthly):        {base}/companies/{DEMO_COMPANY}/monthly?month={}   ({} works past 45 h of 時間外)",
        hr.long_hours_month.strftime("%Y-%m"),
        hr.long_hours_employee
    );
    if serve_forever {
        println!();
        println!("Serving until Ctrl-C.");
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = stop_tx.send(());
    server.await.context("server task")??;
    store.close().await;
    Ok(())
}

/// What the demo adds for HR to look at.
struct HrExamples {
    diverging_days: usize,
    long_hours_employee: String,
    long_hours_month: jiff::civil::Date,
}

/// 手入力 as HR meets it, entered after the punches were checked against the ground truth (they
/// override the PC's): for the first two employees with a whole PC day, a 出勤 an hour after
/// the PC's first use (a 乖離 the 乖離 screen lists); and for the last employee, 06:00–24:00 on
/// every day but Sunday of the month before the simulation's, which passes 45 hours of 時間外
/// (月別データ's alert).
async fn hr_examples(
    store: &Store,
    company_id: i64,
    sim: &lanscope_simulator::Simulation,
    tz: &jiff::tz::TimeZone,
    today: jiff::civil::Date,
) -> anyhow::Result<HrExamples> {
    let instant = |at: jiff::civil::DateTime| -> anyhow::Result<i64> {
        Ok(loginrec_rules::local_instant(at, tz).context("a local time that exists")?.as_millisecond())
    };
    let mut diverging_days = 0;
    let mut seen = std::collections::BTreeSet::new();
    for day in sim.expected.iter().filter(|e| e.clock_out.is_some()) {
        let Some(clock_in) = day.clock_in else { continue };
        if diverging_days == 2 {
            break;
        }
        if !seen.insert(day.employee_code.clone()) {
            continue;
        }
        let later = clock_in.checked_add(1.hour())?;
        store
            .attendance()
            .set_manual_punch(
                company_id,
                &day.employee_code,
                day.business_date,
                PunchKind::ClockIn,
                instant(later)?,
                "demo",
            )
            .await?;
        diverging_days += 1;
    }
    let long_hours_employee = sim.employees.last().map(|e| e.code.clone()).context("the simulation has employees")?;
    // The month before the simulation's: no PC logs to compare with, so no 乖離 either.
    let month = sim.config.start.first_of_month().checked_sub(1.month())?;
    let before_logs = sim.config.start.checked_sub(2.days())?;
    let mut day = month;
    while day < today && day <= month.last_of_month() && day <= before_logs {
        if day.weekday() != jiff::civil::Weekday::Sunday {
            for (kind, at) in
                [(PunchKind::ClockIn, day.at(6, 0, 0, 0)), (PunchKind::ClockOut, day.tomorrow()?.at(0, 0, 0, 0))]
            {
                store
                    .attendance()
                    .set_manual_punch(company_id, &long_hours_employee, day, kind, instant(at)?, "demo")
                    .await?;
            }
        }
        day = day.tomorrow()?;
    }
    Ok(HrExamples { diverging_days, long_hours_employee, long_hours_month: month })
}

/// The simulation's departments, employees and links, as an administrator imports them; returns
/// how many employees there are and how many were linked.
pub(crate) async fn load_masters(
    store: &Store,
    company_id: i64,
    sim: &lanscope_simulator::Simulation,
) -> anyhow::Result<(usize, usize)> {
    let departments: Vec<DepartmentInput> = sim
        .departments
        .iter()
        .map(|d| DepartmentInput { code: d.code.clone(), name: d.name.clone(), day_change: d.day_change })
        .collect();
    store.attendance().upsert_departments(company_id, &departments).await?;
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
    store.attendance().upsert_employees(company_id, &employees).await?;
    let current = store.link_rows(company_id).await?;
    let plan = links::plan_import(lanscope_simulator::links_csv(sim).as_bytes(), &current)
        .map_err(|e| anyhow::anyhow!("demo links: {:?}", e))?;
    let linked = store.apply_links(company_id, &plan).await?;
    Ok((employees.len(), linked))
}

/// The lock file inside the demo's folder; every other entry is removed by the next run.
const LOCK: &str = ".loginrec-demo.lock";

/// Starts from an empty folder, locked for this run; refuses a folder the demo did not create,
/// and one another demo is running in (its printed logins would stop working).
fn reset(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    if data_dir.exists() {
        let ours = data_dir.join(MARKER).exists();
        let empty = std::fs::read_dir(data_dir)?.next().is_none();
        if !ours && !empty {
            bail!(
                "{} はデモが作ったフォルダではありません。--data-dir で別のフォルダを指定してください \
                 (exists and was not made by the demo; choose another --data-dir)",
                data_dir.display()
            );
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let lock_path = data_dir.join(LOCK);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "別の loginrec demo が {} を使用中です。そちらを終了するか、--data-dir で別のフォルダを指定してください \
             (another demo is running in this folder; stop it or choose another --data-dir)",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
        }
    }
    for entry in std::fs::read_dir(data_dir)? {
        let entry = entry?;
        if entry.file_name() == LOCK {
            continue;
        }
        let path = entry.path();
        let removed =
            if entry.file_type()?.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.with_context(|| format!("cannot reset {}", path.display()))?;
    }
    std::fs::write(data_dir.join(MARKER), "This folder is recreated by every `loginrec demo` run.\n")?;
    Ok(lock)
}
