//! `loginrec-bench year`: ログ表示 over a year of logs. N employees (1 000 by default) log on and
//! off four times a day for D days (365), stored by the server's own ingest, a day at a time, on a
//! fresh database; then the pages of ログ表示 with each filter, from the first to the last page.
//!
//! What a year changes is how many logs each account has: a filter that reads accounts one by
//! one reads all of their logs in the period, and the index by time holds a year. Both are the
//! same at 1 000 employees as at 100 000 (an account has its own logs whatever the company's
//! size); 100 000 employees × a year would be 146 million logs, beyond this machine's benchmark.

use std::time::Instant;

use anyhow::{Context, ensure};
use jiff::ToSpan;
use loginrec_store::{LogFilter, Store};

use crate::ingest::{FreshDb, check_punches, log_pages_of, set_up_company};
use crate::workload::{Workload, account, connector};

pub async fn run(database_url: &str, employees: usize, days: usize) -> anyhow::Result<()> {
    ensure!(employees >= 1_000, "--employees must be at least 1000 (the filters name accounts up to user000599)");
    ensure!(days > 0, "--days must be at least 1");
    let (dir, engine) = FreshDb::scratch(database_url)?;
    let last = Workload::new(employees)?;
    let total = (last.rows() * days) as i64;
    println!("ログ表示 over a year: {employees} employees × {days} days to {} = {total} logs, {engine}", last.day);
    let db = FreshDb::create(database_url, dir.as_ref(), "year").await?;
    let result = pages(&db.url, &last, days, total).await;
    db.cleanup().await;
    result
}

async fn pages(url: &str, last: &Workload, days: usize, total: i64) -> anyhow::Result<()> {
    let store = Store::connect(url).await.context("opening the benchmark database")?;
    let (company, _, _) = set_up_company(&store, last).await?;
    let stored = Instant::now();
    for before in (0..days as i64).rev() {
        let work = Workload::on(last.employees, last.day.checked_sub(before.days())?)?;
        let rows: Vec<_> = (0..work.batches()).flat_map(|b| work.batch(b)).collect();
        let outcome = store.ingest(&company, &connector(), &rows).await?;
        ensure!(
            outcome.accepted == rows.len() as u64,
            "{}: {} of {} rows stored",
            work.day,
            outcome.accepted,
            rows.len()
        );
    }
    check_punches(&store, company.id, last).await?;
    println!("(setup, not measured: the year stored by the ingest in {:.1} s)", stored.elapsed().as_secs_f64());
    store.statistics_as_in_service().await?;

    // An account, and fragments of 10 and 100 accounts' names (the first are read account by
    // account, the second in time order).
    let one = account(505);
    let ten = one[..one.len() - 1].to_string();
    let hundred = one[..one.len() - 2].to_string();
    let (first, _) = last.first_and_last_ms(505);
    let filters = [
        ("none", LogFilter::default()),
        ("account", LogFilter { account: Some(one), ..LogFilter::default() }),
        ("10 accounts", LogFilter { account: Some(ten), ..LogFilter::default() }),
        ("100 accounts", LogFilter { account: Some(hundred), ..LogFilter::default() }),
        ("logon", LogFilter { kind: Some("logon".into()), ..LogFilter::default() }),
        ("linked", LogFilter { linked: Some(true), ..LogFilter::default() }),
        ("unlinked", LogFilter { linked: Some(false), ..LogFilter::default() }),
        (
            "20 minutes",
            LogFilter { from_ms: Some(first - 600_000), to_ms: Some(first + 600_000), ..LogFilter::default() },
        ),
        (
            "logoff+linked+from",
            LogFilter {
                kind: Some("logoff".into()),
                linked: Some(true),
                from_ms: Some(first - 30 * 86_400_000),
                ..LogFilter::default()
            },
        ),
    ];
    let times = log_pages_of(&store, company.id, &filters, total).await?;
    store.close().await;
    times.print(&format!("ログ表示 over {days} days, a page of 100, each filter, first to last page"));
    Ok(())
}
