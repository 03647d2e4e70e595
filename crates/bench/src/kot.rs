//! `loginrec-bench kot`: the embedded KING OF TIME API's `GET /daily-workings/timerecord` over
//! the longest period it answers (62 days) for a company of 1 000 employees with two PC punches
//! a day, and over half that period: the answer's time must grow with the period, not faster.

use std::time::{Duration, Instant};

use anyhow::ensure;
use ingest_protocol::IngestRow;
use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use kot_protocol::DailyTimeRecords;
use loginrec_rules::LogKind;
use loginrec_store::{Backend, EmployeeInput, Store};

use crate::ingest::{FreshDb, Server};
use crate::report::print_ratio;
use crate::workload::{
    BATCH_ROWS, COMPANY_CODE, TIME_ZONE, account, connector, create_company, employee, employee_code,
};

/// What the issue asks of 62 days × 1 000 employees.
const GOAL_SECONDS: f64 = 1.0;

pub async fn run(database_url: &str, employees: usize, days: usize) -> anyhow::Result<()> {
    ensure!(employees > 0 && (2..=62).contains(&days), "--employees at least 1, --days 2..=62");
    let backend = Backend::from_url(database_url)?;
    let (dir, _) = FreshDb::scratch(database_url)?;
    println!("loginrec-bench kot: {employees} employees, {days} days of PC punches, {backend:?}");
    let db = FreshDb::create(database_url, dir.as_ref(), "kot").await?;
    let result = measure(&db.url, employees, days).await;
    db.cleanup().await;
    let (whole, half) = result?;
    let secs = whole.as_secs_f64();
    println!(
        "GET /daily-workings/timerecord, {days} days × {employees} employees: {secs:.3} s (goal ≤ {GOAL_SECONDS} s: {}); \
         {} days: {:.3} s (best of 3 each)",
        if secs <= GOAL_SECONDS { "holds" } else { "MISSED" },
        days / 2,
        half.as_secs_f64()
    );
    print_ratio(&format!("{days} days / {} days (linear: about 2)", days / 2), whole, half, None);
    Ok(())
}

async fn measure(url: &str, employees: usize, days: usize) -> anyhow::Result<(Duration, Duration)> {
    let store = Store::connect(url).await?;
    let company = create_company(&store).await?;
    let all: Vec<EmployeeInput> = (0..employees).map(employee).collect();
    store.attendance().upsert_employees(company.id, &all).await?;
    let links: Vec<(String, Option<String>)> = (0..employees).map(|i| (employee_code(i), Some(account(i)))).collect();
    // Linked from the beginning, so that every day of the period is theirs.
    let long_ago = jiff::Timestamp::from_second(0)?;
    store.change_links(company.id, &links, Some(long_ago), loginrec_store::Apply::Commit).await?;

    // A logon at 09:xx and a logoff at 18:xx on each day: one 出勤 and one 退勤.
    let tz = TimeZone::get(TIME_ZONE)?;
    let last = tz.to_datetime(jiff::Timestamp::now()).date().yesterday()?;
    let first = last.checked_sub(((days - 1) as i64).days())?;
    let at = |day: Date, hour: i8, minute: i64| -> anyhow::Result<i64> {
        let time = jiff::civil::time(hour, (minute % 60) as i8, 0, 0);
        Ok(tz.to_ambiguous_timestamp(day.to_datetime(time)).compatible()?.as_millisecond())
    };
    let mut rows = Vec::new();
    let mut day = first;
    while day <= last {
        for i in 0..employees {
            for (kind, hour) in [(LogKind::Logon, 9), (LogKind::Logoff, 18)] {
                let user = format!("CORP\\{}", account(i));
                rows.push(IngestRow::new(COMPANY_CODE, user, kind, at(day, hour, i as i64)?, None, None, None, None));
            }
        }
        day = day.tomorrow()?;
    }
    for batch in rows.chunks(BATCH_ROWS) {
        store.ingest(&company, &connector(), batch).await?;
    }
    let token = store.attendance().issue_api_token(company.id).await?;
    store.statistics_as_in_service().await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1.0/daily-workings/timerecord", listener.local_addr()?);
    let server = Server::start(listener, &store);
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for period_days in [days, days / 2] {
        let start = last.checked_sub(((period_days - 1) as i64).days())?;
        let address = format!("{base}?start={start}&end={last}");
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let began = Instant::now();
            let response = client.get(&address).bearer_auth(&token).send().await?;
            ensure!(response.status().is_success(), "{address}: HTTP {}", response.status());
            let answer: Vec<DailyTimeRecords> = response.json().await?;
            best = best.min(began.elapsed());
            let answered_days = answer.len();
            let records: usize =
                answer.iter().flat_map(|day| &day.daily_workings).map(|working| working.time_record.len()).sum();
            ensure!(answered_days == period_days, "{answered_days} days answered of {period_days}");
            ensure!(
                records == period_days * employees * 2,
                "{records} time records answered, {} expected",
                period_days * employees * 2
            );
        }
        times.push(best);
    }
    server.stop().await;
    store.close().await;
    Ok((times[0], times[1]))
}
