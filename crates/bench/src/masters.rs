//! `loginrec-bench masters`: a company's masters set up at its size, as the operator commands do
//! it. The employee import (`loginrec employee import`: the store's `import_employees` of every
//! employee at once) and the 連携設定 import (`loginrec link import`: the CSV read and checked
//! against the current links, then `change_links` of every row), each against a raw multi-row
//! upsert of the same pairs into a table of its own with a unique key, in one transaction, on a
//! second fresh database of the same engine.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use loginrec_server::links::{self, CsvEncoding};
use loginrec_store::{Apply, Backend, EmployeeInput, LinkRow, Store};

use crate::ingest::FreshDb;
use crate::report::print_ratio;
use crate::workload::{DEPARTMENT_CODE, account, create_company, employee, employee_code};

/// What the issue asks of each import at 100 000 employees, in seconds.
const GOAL_SECONDS: f64 = 3.0;
/// Rows per statement of the raw upserts.
const RAW_CHUNK: usize = 100;

pub async fn run(database_url: &str, employees: usize) -> anyhow::Result<()> {
    ensure!(employees > 0, "--employees must be at least 1");
    let backend = Backend::from_url(database_url)?;
    let (dir, _) = FreshDb::scratch(database_url)?;
    println!("loginrec-bench masters: {employees} employees, {backend:?}");

    let db = FreshDb::create(database_url, dir.as_ref(), "masters").await?;
    let result = product_run(&db.url, employees).await;
    db.cleanup().await;
    let (employee_import, link_import) = result?;

    let db = FreshDb::create(database_url, dir.as_ref(), "raw_masters").await?;
    let result = raw_run(&db.url, backend, employees).await;
    db.cleanup().await;
    let (raw_employees, raw_links) = result?;

    for (what, measured, raw) in
        [("employee import", employee_import, raw_employees), ("link import", link_import, raw_links)]
    {
        let secs = measured.as_secs_f64();
        println!(
            "{what}: {employees} in {secs:.3} s (goal ≤ {GOAL_SECONDS} s: {}); raw multi-row upsert {:.3} s",
            if secs <= GOAL_SECONDS { "holds" } else { "MISSED" },
            raw.as_secs_f64()
        );
        print_ratio(&format!("{what} / raw upsert"), measured, raw, None);
    }
    Ok(())
}

/// The two imports on a fresh company; each checked for what it saved.
async fn product_run(url: &str, employees: usize) -> anyhow::Result<(Duration, Duration)> {
    let store = Store::connect(url).await?;
    let company = create_company(&store).await?;
    let all: Vec<EmployeeInput> = (0..employees).map(employee).collect();
    let start = Instant::now();
    let (imported, _) = store.attendance().import_employees(company.id, &all, None, Apply::Commit).await?;
    let employee_import = start.elapsed();
    ensure!(imported == employees, "{imported} employees imported of {employees}");

    // The file an administrator fills in: the export with every サービスアカウント typed in.
    let rows: Vec<LinkRow> = store
        .link_rows(company.id)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, row)| LinkRow { service_account: Some(account(i)), ..row })
        .collect();
    let file = links::export(&rows, CsvEncoding::Cp932).map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = Instant::now();
    let current = store.link_rows(company.id).await?;
    let plan = links::read_import(&file, &current).map_err(|errors| anyhow::anyhow!("{}", errors[0]))?;
    let report = store.change_links(company.id, &plan.links(), None, Apply::Commit).await?;
    let link_import = start.elapsed();
    ensure!(report.updated == employees, "{} links updated of {employees}", report.updated);
    let linked = store.link_rows(company.id).await?;
    ensure!(linked == rows, "the links saved are not the file's");
    store.close().await;
    Ok((employee_import, link_import))
}

/// The same pairs upserted with multi-row statements into tables of their own, one transaction
/// each, as a program that knows nothing of the product would write them.
async fn raw_run(url: &str, backend: Backend, employees: usize) -> anyhow::Result<(Duration, Duration)> {
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite => format!("{url}?mode=rwc"),
        Backend::Postgres => url.to_string(),
    };
    let mut conn =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.context("opening the raw database")?;
    if backend == Backend::Sqlite {
        // As durable as the store's own connections: WAL with a full sync on commit.
        sqlx::raw_sql("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;").execute(&mut conn).await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE raw_employees (company_id BIGINT NOT NULL, code TEXT NOT NULL, last_name TEXT NOT NULL, \
         first_name TEXT NOT NULL, department_code TEXT NOT NULL, UNIQUE (company_id, code)); \
         CREATE TABLE raw_links (company_id BIGINT NOT NULL, code TEXT NOT NULL, account TEXT, \
         UNIQUE (company_id, code))",
    )
    .execute(&mut conn)
    .await?;
    let employee_rows: Vec<[String; 4]> =
        (0..employees).map(|i| [employee_code(i), "社員".into(), format!("{i}"), DEPARTMENT_CODE.into()]).collect();
    let start = Instant::now();
    upsert(
        &mut conn,
        backend,
        "raw_employees (company_id, code, last_name, first_name, department_code)",
        "last_name = excluded.last_name, first_name = excluded.first_name, department_code = excluded.department_code",
        &employee_rows,
    )
    .await?;
    let employee_time = start.elapsed();
    let link_rows: Vec<[String; 2]> = (0..employees).map(|i| [employee_code(i), account(i)]).collect();
    let start = Instant::now();
    upsert(&mut conn, backend, "raw_links (company_id, code, account)", "account = excluded.account", &link_rows)
        .await?;
    let link_time = start.elapsed();
    sqlx::Connection::close(conn).await?;
    Ok((employee_time, link_time))
}

/// `INSERT INTO table (company_id, …) VALUES … ON CONFLICT (company_id, code) DO UPDATE SET
/// update` for every row, [`RAW_CHUNK`] rows a statement, in one transaction.
async fn upsert<const N: usize>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
    update: &str,
    rows: &[[String; N]],
) -> anyhow::Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for chunk in rows.chunks(RAW_CHUNK) {
        let sql = format!(
            "INSERT INTO {table} VALUES {} ON CONFLICT (company_id, code) DO UPDATE SET {update}",
            values(backend, chunk.len(), N + 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = query.bind(1_i64);
            for cell in row {
                query = query.bind(cell.as_str());
            }
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `(…), (…)`: `rows` tuples of `columns` parameters, anonymous on SQLite (which looks every named
/// one up in a list) and numbered on PostgreSQL.
fn values(backend: Backend, rows: usize, columns: usize) -> String {
    let tuple = |row: usize| {
        let cells: Vec<String> = (0..columns)
            .map(|c| match backend {
                Backend::Sqlite => "?".to_string(),
                Backend::Postgres => format!("${}", row * columns + c + 1),
            })
            .collect();
        format!("({})", cells.join(", "))
    };
    (0..rows).map(tuple).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_upsert_numbers_every_parameter_once() {
        assert_eq!(values(Backend::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }
}
