//! `loginrec-bench ingest` plays the 05:00 burst of a company of N employees: every employee's four
//! logs of the previous LanScope day arrive through the real ingest API (HTTP, JSON, token
//! check, validation, storage and punch derivation) in batches of 2000, a few requests at a
//! time. The same rows are then written into the `logs` table alone with multi-row `INSERT`s,
//! on a second fresh database of the same engine: the floor any ingest pays for storing them.
//! `ingest / raw` is the price of everything the ingest does beyond storing the rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ingest_protocol::{COMPANY_CODE_HEADER, INGEST_PATH, IngestBatch, IngestResponse};
use loginrec_rules::bare_account;
use loginrec_store::url::{create_postgres_database, drop_postgres_database, redacted, with_database};
use loginrec_store::{Backend, DailyFilter, EmployeeInput, LogCursor, LogFilter, MATCHING_LOGS_COUNTED, Store};

use crate::workload::{
    BATCH_ROWS, COMPANY_CODE, LOG_PAGE_ROWS, SETUP_CHUNK, TIME_ZONE, Workload, account, connector, create_company,
    employee, employee_code,
};

/// A fresh database of the engine `database_url` names; dropped by [`FreshDb::cleanup`].
pub(crate) struct FreshDb {
    pub(crate) url: String,
    /// PostgreSQL: the server's URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl FreshDb {
    /// The folder a measurement's SQLite databases go in (none for PostgreSQL, where each is a
    /// database on the server), and how the engine is named in what is printed.
    pub(crate) fn scratch(engine_url: &str) -> anyhow::Result<(Option<tempfile::TempDir>, String)> {
        Ok(match Backend::from_url(engine_url)? {
            Backend::Sqlite => {
                (Some(tempfile::tempdir().context("creating a temporary folder")?), "SQLite (temporary file)".into())
            }
            Backend::Postgres => (None, format!("PostgreSQL (fresh databases on {})", redacted(engine_url))),
        })
    }

    pub(crate) async fn create(
        engine_url: &str,
        dir: Option<&tempfile::TempDir>,
        label: &str,
    ) -> anyhow::Result<FreshDb> {
        match dir {
            Some(dir) => Ok(FreshDb { url: format!("sqlite://{}/{label}.db", dir.path().display()), postgres: None }),
            None => {
                let nanos = jiff::Timestamp::now().as_nanosecond() % 1_000_000_000;
                let name = format!("loginrec_bench_{label}_{}_{nanos}", std::process::id());
                create_postgres_database(engine_url, &name)
                    .await
                    .with_context(|| format!("creating database {name} on {}", redacted(engine_url)))?;
                Ok(FreshDb { url: with_database(engine_url, &name), postgres: Some((engine_url.to_string(), name)) })
            }
        }
    }

    pub(crate) async fn cleanup(self) {
        let Some((server, name)) = self.postgres else { return };
        if let Err(e) = drop_postgres_database(&server, &name).await {
            eprintln!("warning: could not drop database {name}: {e}");
        }
    }
}

pub async fn run(database_url: &str, employees: usize, concurrency: usize) -> anyhow::Result<()> {
    ensure!(employees > 0, "--employees must be at least 1");
    let backend = Backend::from_url(database_url)?;
    let (dir, engine) = FreshDb::scratch(database_url)?;
    let work = Workload::new(employees)?;
    println!(
        "loginrec-bench ingest: {employees} employees, {} rows for business day {}, {engine}, \
         batches of {BATCH_ROWS}, {concurrency} concurrent requests",
        work.rows(),
        work.day
    );

    let db = FreshDb::create(database_url, dir.as_ref(), "ingest").await?;
    let result = ingest_run(&db.url, &work, concurrency).await;
    db.cleanup().await;
    let ingest = result?;

    let raw_workers = match backend {
        // One writer at a time is all SQLite has; more connections would only wait for the lock.
        Backend::Sqlite => 1,
        Backend::Postgres => concurrency,
    };
    let db = FreshDb::create(database_url, dir.as_ref(), "raw").await?;
    let result = raw_run(&db.url, &work, raw_workers).await;
    db.cleanup().await;
    let raw = result?;

    let rows = work.rows();
    println!(
        "ingest over HTTP:   {rows} rows in {:8.3} s = {:9.0} rows/s  ({} punches written; timecard {} rows, one per employee)",
        secs(ingest.elapsed),
        per_second(rows, ingest.elapsed),
        ingest.punches_written,
        ingest.timecard_rows,
    );
    println!(
        "raw batched insert: {rows} rows in {:8.3} s = {:9.0} rows/s  (logs table only, {raw_workers} connection{})",
        secs(raw),
        per_second(rows, raw),
        if raw_workers == 1 { "" } else { "s" },
    );
    println!("ingest / raw: {:.2} (time ratio, this run)", secs(ingest.elapsed) / secs(raw));
    println!(
        "admin pages at {employees} employees: 日別データ query {:.3} s ({} rows), ログ表示 first page query {:.3} s ({} rows) (best of 3)",
        secs(ingest.daily),
        ingest.daily_rows,
        secs(ingest.logs_page),
        ingest.logs_page_rows,
    );
    println!(
        "(setup, not measured above: {:.1} s; of which upsert_employees {:.1} s, apply_links {:.1} s)",
        secs(ingest.setup.total),
        secs(ingest.setup.employees),
        secs(ingest.setup.links)
    );
    Ok(())
}

pub(crate) struct Setup {
    pub(crate) total: Duration,
    /// `upsert_employees` (with its 連携実行) and `apply_links`, in chunks of [`SETUP_CHUNK`].
    pub(crate) employees: Duration,
    pub(crate) links: Duration,
}

struct IngestFigures {
    setup: Setup,
    elapsed: Duration,
    punches_written: u64,
    timecard_rows: usize,
    daily: Duration,
    daily_rows: usize,
    logs_page: Duration,
    logs_page_rows: usize,
}

async fn ingest_run(url: &str, work: &Workload, concurrency: usize) -> anyhow::Result<IngestFigures> {
    let store = Store::connect(url).await.context("opening the benchmark database")?;
    let (company, token, setup) = set_up_company(&store, work).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding 127.0.0.1:0")?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let server = Server::start(listener, &store);
    let sent = send_all(&base_url, &token, work, concurrency).await;
    let metrics = match &sent {
        Ok(_) => Some(fetch_text(&format!("{base_url}/metrics")).await),
        Err(_) => None,
    };
    server.stop().await;
    let elapsed = sent?;
    let punches_written = metric(&metrics.transpose()?.unwrap_or_default(), "loginrec_punches_written_total")?;
    let timecard_rows = check_punches(&store, company.id, work).await?;
    // The screens are read after the burst, when autovacuum (off on the benchmark's server) would
    // have refreshed the statistics of the tables it filled: without them PostgreSQL takes the
    // day's 200 000 punches for an empty table.
    store.statistics_as_in_service().await?;
    let expected_punches = 2 * work.employees as u64;
    if punches_written != expected_punches {
        bail!("the server wrote {punches_written} punches, expected {expected_punches} (one 出勤 and one 退勤 each)");
    }

    let (daily, daily_rows) =
        best_of_3(|| async { Ok(store.attendance().daily(company.id, &DailyFilter::all(work.day)).await?.rows.len()) })
            .await?;
    if daily_rows != work.employees {
        bail!("日別データ lists {daily_rows} rows for {} employees", work.employees);
    }
    let filter = LogFilter { limit: LOG_PAGE_ROWS, ..LogFilter::default() };
    let (logs_page, logs_page_rows) = best_of_3(|| async { Ok(store.logs(company.id, &filter).await?.len()) }).await?;
    let daily_pages = daily_pages(&store, company.id, work).await?;
    let log_pages = log_pages(&store, company.id, work).await?;
    store.close().await;
    daily_pages.print("日別データ, a page of 100, every order both ways, first to last page");
    log_pages.print("ログ表示, a page of 100, each filter, first to last page");
    Ok(IngestFigures { setup, elapsed, punches_written, timecard_rows, daily, daily_rows, logs_page, logs_page_rows })
}

/// The server of the benchmark, in this process, on a port of its own.
pub(crate) struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub(crate) fn start(listener: tokio::net::TcpListener, store: &Store) -> Server {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(loginrec_server::serve(
            listener,
            store.clone(),
            loginrec_server::ServerOptions { secure_cookies: false, behind_proxy: false, ..Default::default() },
            async {
                let _ = stopped.await;
            },
        ));
        Server { stop, task }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Every employee has exactly one timecard row, with the first logon and the last logoff.
/// Returns the number of rows.
pub(crate) async fn check_punches(store: &Store, company_id: i64, work: &Workload) -> anyhow::Result<usize> {
    let timecard = store.attendance().timecard(company_id, work.day, work.day).await?;
    if timecard.len() != work.employees {
        bail!(
            "the timecard has {} rows for {} employees: the ingest lost or split punches",
            timecard.len(),
            work.employees
        );
    }
    for row in &timecard {
        let employee: usize = row.employee_code[1..].parse().context("an employee code of the benchmark")?;
        let (first, last) = work.first_and_last_ms(employee);
        let clock_in = row.clock_in.as_ref().map(|p| p.at_ms);
        let clock_out = row.clock_out.as_ref().map(|p| p.at_ms);
        if (clock_in, clock_out) != (Some(first), Some(last)) {
            bail!("employee {} has punches {clock_in:?} / {clock_out:?}, expected {first} / {last}", row.employee_code);
        }
    }
    Ok(timecard.len())
}

/// The company, its employees and their links, in chunks of [`SETUP_CHUNK`], and a connector
/// access token.
pub(crate) async fn set_up_company(
    store: &Store,
    work: &Workload,
) -> anyhow::Result<(loginrec_store::Company, String, Setup)> {
    let setup_start = Instant::now();
    let company = create_company(store).await?;
    let (mut employees_time, mut links_time) = (Duration::ZERO, Duration::ZERO);
    for from in (0..work.employees).step_by(SETUP_CHUNK) {
        let to = (from + SETUP_CHUNK).min(work.employees);
        let chunk: Vec<EmployeeInput> = (from..to).map(employee).collect();
        let step = Instant::now();
        store.attendance().upsert_employees(company.id, &chunk).await?;
        employees_time += step.elapsed();
        let links: Vec<(String, Option<String>)> = (from..to).map(|i| (employee_code(i), Some(account(i)))).collect();
        let step = Instant::now();
        store.apply_links(company.id, &links).await?;
        links_time += step.elapsed();
        // A fresh PostgreSQL database has no planner statistics until autovacuum gathers them
        // (or never, where it is off): gather them as it would, so that every query plan is the
        // one a running system gets (SQLite has none in service).
        store.statistics_as_in_service().await?;
    }
    let token = store.issue_token(company.id).await?;
    let setup = Setup { total: setup_start.elapsed(), employees: employees_time, links: links_time };
    Ok((company, token, setup))
}

/// How long each page of a screen's query took.
/// Each page's time, with what it showed (its order or filter, and its place).
pub(crate) struct PageTimes(Vec<(Duration, String)>);

impl PageTimes {
    fn p95(&self) -> Duration {
        let mut times: Vec<Duration> = self.0.iter().map(|(d, _)| *d).collect();
        times.sort();
        times.get((times.len() * 95).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
    }

    pub(crate) fn print(&self, what: &str) {
        let (max, slowest) = self.0.iter().max_by_key(|(d, _)| *d).cloned().unwrap_or_default();
        let p95 = self.p95();
        println!(
            "{what}: {} pages, p95 {:.1} ms, slowest {:.1} ms (goal p95 ≤ 100 ms: {})",
            self.0.len(),
            p95.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0,
            if p95 <= Duration::from_millis(100) { "holds" } else { "MISSED" }
        );
        // The slowest page of each order or filter, to see which one misses.
        let mut groups: Vec<(&str, Duration)> = Vec::new();
        for (d, label) in &self.0 {
            let group = label.split(" @").next().unwrap_or(label);
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, slowest)) => *slowest = (*slowest).max(*d),
                None => groups.push((group, *d)),
            }
        }
        let groups: Vec<String> =
            groups.iter().map(|(g, d)| format!("{g} {:.0} ms", d.as_secs_f64() * 1000.0)).collect();
        println!("  slowest of each: {}; slowest page: {slowest}", groups.join(", "));
    }
}

/// Pages at the start, a quarter, the middle, three quarters and the end of the list.
fn page_offsets(total: i64, per_page: i64) -> Vec<i64> {
    let last = (total - 1).max(0) / per_page;
    let mut pages: Vec<i64> = [0, last / 4, last / 2, last * 3 / 4, last].into();
    pages.dedup();
    pages.into_iter().map(|p| p * per_page).collect()
}

async fn daily_pages(store: &Store, company_id: i64, work: &Workload) -> anyhow::Result<PageTimes> {
    use loginrec_store::{DailyCursor, DailyOrder};
    let mut times = Vec::new();
    let total = work.employees as i64;
    for order in [DailyOrder::Code, DailyOrder::Name, DailyOrder::Department, DailyOrder::ClockIn, DailyOrder::ClockOut]
    {
        for descending in [false, true] {
            let arrow = if descending { "↓" } else { "↑" };
            // The screen asks one row more than it shows, to know whether a page follows.
            let base = DailyFilter { order, descending, limit: Some(101), ..DailyFilter::all(work.day) };
            // The row a page's link starts from (次へ: the one before the page; 前へ: the one after
            // it), found unmeasured by offset; the screen reads every page but the first from such
            // a row.
            let row_at = |offset: i64| {
                let filter = DailyFilter { limit: Some(1), offset, ..base.clone() };
                async move {
                    let page = store.attendance().daily(company_id, &filter).await?;
                    anyhow::Ok(page.rows.into_iter().next().map(|row| row.key(order)))
                }
            };
            for offset in page_offsets(total, 100) {
                let mut cursors = vec![(
                    "次へ",
                    match offset.checked_sub(1) {
                        Some(before) if before >= 0 => row_at(before).await?.map(DailyCursor::After),
                        _ => None,
                    },
                )];
                if offset + 100 < total {
                    cursors.push(("前へ", row_at(offset + 100).await?.map(DailyCursor::Before)));
                }
                for (side, cursor) in cursors {
                    // The rows the page must hold, as an offset reads them.
                    let (first, rows) = match (&cursor, side) {
                        (_, "前へ") => ((offset - 1).max(0), 101.min(offset + 100)),
                        _ => (offset, 101.min(total - offset)),
                    };
                    let filter = DailyFilter { cursor, ..base.clone() };
                    let start = Instant::now();
                    let page = store.attendance().daily(company_id, &filter).await?;
                    times.push((start.elapsed(), format!("{order:?}{arrow} @{offset} {side}")));
                    ensure!(
                        page.rows.len() as i64 == rows && page.total == total,
                        "日別データ page at {offset} ({side}): {} rows",
                        page.rows.len()
                    );
                    let expected = DailyFilter { offset: first, limit: Some(rows), ..base.clone() };
                    let by_offset = store.attendance().daily(company_id, &expected).await?;
                    ensure!(
                        by_offset.rows == page.rows,
                        "日別データ page at {offset} ({side}) differs from its offset page"
                    );
                }
            }
        }
    }
    Ok(PageTimes(times))
}

async fn log_pages(store: &Store, company_id: i64, work: &Workload) -> anyhow::Result<PageTimes> {
    let one = work.employees / 2;
    let (first, _) = work.first_and_last_ms(one);
    let filters = [
        ("none", LogFilter::default()),
        ("account", LogFilter { account: Some(account(one)), ..LogFilter::default() }),
        ("logon", LogFilter { kind: Some("logon".into()), ..LogFilter::default() }),
        ("linked", LogFilter { linked: Some(true), ..LogFilter::default() }),
        ("unlinked", LogFilter { linked: Some(false), ..LogFilter::default() }),
        (
            "20 minutes",
            LogFilter { from_ms: Some(first - 600_000), to_ms: Some(first + 600_000), ..LogFilter::default() },
        ),
        (
            "logoff+linked+from",
            LogFilter { kind: Some("logoff".into()), linked: Some(true), from_ms: Some(first), ..LogFilter::default() },
        ),
    ];
    log_pages_of(store, company_id, &filters, work.rows() as i64).await
}

/// ログ表示 with each of `filters`, at the start, a quarter, the middle, three quarters and the end
/// of `total` logs.
pub(crate) async fn log_pages_of(
    store: &Store,
    company_id: i64,
    filters: &[(&str, LogFilter)],
    total: i64,
) -> anyhow::Result<PageTimes> {
    let mut times = Vec::new();
    for (name, filter) in filters {
        for offset in page_offsets(total, 100) {
            // The page 次へ leads to at this depth: its cursor is the log just before it (found
            // unmeasured, by offset); the page reads from there and counts its filter's logs up
            // to the screen's cap, as ログ表示 does.
            let cursor = match offset.checked_sub(1) {
                Some(before) => {
                    let at = LogFilter { limit: 1, offset: before, ..filter.clone() };
                    store.logs(company_id, &at).await?.first().map(|l| LogCursor::Older(l.event_at_ms, l.id))
                }
                None => None,
            };
            let page = LogFilter { limit: LOG_PAGE_ROWS, cursor, ..filter.clone() };
            let start = Instant::now();
            store.logs(company_id, &page).await?;
            store.log_count_matching(company_id, &page, MATCHING_LOGS_COUNTED + 1).await?;
            times.push((start.elapsed(), format!("{name} @{offset}")));
        }
    }
    Ok(PageTimes(times))
}

/// Sends every batch through the ingest API, `concurrency` requests at a time; the wall time
/// from the first request to the last answer.
async fn send_all(base_url: &str, token: &str, work: &Workload, concurrency: usize) -> anyhow::Result<Duration> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let url = format!("{base_url}{INGEST_PATH}");
    let next = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new((client, url, token.to_string(), *work));
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let next = next.clone();
        let shared = shared.clone();
        workers.spawn(async move {
            let (client, url, token, work) = &*shared;
            let mut accepted = 0u64;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= work.batches() {
                    return anyhow::Ok(accepted);
                }
                let rows = work.batch(index);
                let count = rows.len() as u64;
                let batch = IngestBatch { company_code: COMPANY_CODE.into(), connector: connector(), rows };
                let response = loop {
                    let response = client
                        .post(url)
                        .bearer_auth(token)
                        .header(COMPANY_CODE_HEADER, COMPANY_CODE)
                        .json(&batch)
                        .send()
                        .await
                        .with_context(|| format!("sending batch {index}"))?;
                    // The per-company limit answers 429 with Retry-After: wait as the connector does.
                    if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                        break response;
                    }
                    let wait = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                };
                let status = response.status();
                if !status.is_success() {
                    bail!("batch {index}: HTTP {status}: {}", response.text().await.unwrap_or_default());
                }
                let answer: IngestResponse =
                    response.json().await.with_context(|| format!("answer to batch {index}"))?;
                if answer.accepted != count || answer.rejected != 0 {
                    bail!(
                        "batch {index}: {} rows sent, {} accepted, {} duplicate, {} rejected {:?}",
                        count,
                        answer.accepted,
                        answer.duplicate,
                        answer.rejected,
                        answer.rejections.first()
                    );
                }
                accepted += count;
            }
        });
    }
    let mut accepted = 0;
    while let Some(joined) = workers.join_next().await {
        accepted += joined.context("an ingest worker")??;
    }
    let elapsed = start.elapsed();
    ensure!(accepted == work.rows() as u64, "{accepted} rows accepted of {}", work.rows());
    Ok(elapsed)
}

async fn fetch_text(url: &str) -> anyhow::Result<String> {
    let response = reqwest::get(url).await?;
    ensure!(response.status().is_success(), "GET {url}: HTTP {}", response.status());
    Ok(response.text().await?)
}

/// A counter's value in Prometheus text.
fn metric(text: &str, name: &str) -> anyhow::Result<u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .next()
        .with_context(|| format!("no {name} in /metrics"))?
        .trim()
        .parse()
        .with_context(|| format!("{name} is not a number"))
}

/// The floor: the same rows into `logs` alone, one multi-row `INSERT` per transaction of
/// [`BATCH_ROWS`] rows, with the columns and conflict rule the ingest uses.
async fn raw_run(url: &str, work: &Workload, workers: usize) -> anyhow::Result<Duration> {
    // The store creates the schema and the company; the rows then go straight through a pool
    // of our own, as a program that knows nothing of the product would write them.
    let store = Store::connect(url).await.context("opening the raw-insert database")?;
    let company = store.create_company(COMPANY_CODE, "ベンチマーク株式会社", TIME_ZONE).await?;
    let backend = store.backend();
    store.close().await;
    sqlx::any::install_default_drivers();
    // As durable as the store's own connections: WAL with a full sync on commit.
    let pragmas = backend == Backend::Sqlite;
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(workers as u32)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if pragmas {
                    sqlx::Executor::execute(conn, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;").await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .context("opening the raw-insert database")?;
    // As the ingest does, the batch's sender is stored once and each log refers to it.
    let connector = connector();
    sqlx::query("INSERT INTO connectors (company_id, version, host) VALUES ($1, $2, $3)")
        .bind(company.id)
        .bind(&connector.version)
        .bind(&connector.host)
        .execute(&pool)
        .await?;
    let connector_id: i64 =
        sqlx::query_scalar("SELECT id FROM connectors WHERE company_id = $1").bind(company.id).fetch_one(&pool).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new((pool.clone(), *work));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let next = next.clone();
        let shared = shared.clone();
        let company_id = company.id;
        tasks.spawn(async move {
            let (pool, work) = &*shared;
            let full_sql = insert_sql(backend, BATCH_ROWS);
            let mut inserted = 0u64;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= work.batches() {
                    return anyhow::Ok(inserted);
                }
                let rows = work.batch(index);
                let sql = if rows.len() == BATCH_ROWS { full_sql.clone() } else { insert_sql(backend, rows.len()) };
                let now = jiff::Timestamp::now().as_millisecond();
                let mut tx = pool.begin().await?;
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in &rows {
                    query = query
                        .bind(company_id)
                        .bind(row.event_at_ms)
                        .bind(&row.key)
                        .bind(&row.user_name)
                        .bind(bare_account(&row.user_name))
                        .bind(row.kind.as_str())
                        .bind(row.recorded_at_ms)
                        .bind(&row.sub_manager_no)
                        .bind(&row.agent_no)
                        .bind(&row.computer_name)
                        .bind(connector_id)
                        .bind(&row.source_file)
                        .bind(row.source_line.and_then(|l| i64::try_from(l).ok()))
                        .bind(now);
                }
                inserted += query.execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
            }
        });
    }
    let mut inserted = 0;
    while let Some(joined) = tasks.join_next().await {
        inserted += joined.context("a raw-insert worker")??;
    }
    let elapsed = start.elapsed();
    pool.close().await;
    ensure!(inserted == work.rows() as u64, "{inserted} rows inserted of {}", work.rows());
    Ok(elapsed)
}

const LOG_COLUMNS: usize = 14;

/// A multi-row `INSERT` of `rows` rows. SQLite gets anonymous `?` parameters: it looks every
/// named one (`$7`) up in a list, which makes a 30,000-parameter statement take seconds to
/// prepare; PostgreSQL gets `$1`, `$2`, … as it requires.
fn insert_sql(backend: Backend, rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO logs (company_id, event_at_ms, idem_key, user_name, account, kind, recorded_at_ms, \
         sub_manager_no, agent_no, computer_name, connector_id, source_file, source_line, received_at_ms) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..LOG_COLUMNS {
            if column > 0 {
                sql.push(',');
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * LOG_COLUMNS + column + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (company_id, account, event_at_ms, idem_key) DO NOTHING");
    sql
}

async fn best_of_3<F, Fut>(mut run: F) -> anyhow::Result<(Duration, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut best = Duration::MAX;
    let mut count = 0;
    for _ in 0..3 {
        let start = Instant::now();
        count = run().await?;
        best = best.min(start.elapsed());
    }
    Ok((best, count))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn per_second(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insert_numbers_every_parameter_once() {
        let sql = insert_sql(Backend::Postgres, 2);
        assert!(sql.contains("($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14),($15,"));
        assert!(sql.contains("$28)"));
        assert!(!sql.contains("$29"));
        let sql = insert_sql(Backend::Sqlite, 2);
        assert_eq!(sql.matches('?').count(), 28);
        assert!(!sql.contains('$'));
    }
}
