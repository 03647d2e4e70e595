//! How the pipeline reads its inputs: the masters' timelines, the link history, and the
//! punch-like rows of a scope's employee-days, each with one statement whatever the scope's size
//! (the ids or employees as one JSON parameter, see [`crate::bulk`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use loginrec_rules::{DayChangeTime, EmployeeSchedule, LinkInterval, PunchKind, Timeline};
use sqlx::{AnyConnection, Row};

use super::changes::DayChange;
use super::scope::Scope;
use crate::bulk::{Listed, json, json_rows, select_json_given};
use crate::day_change::minutes_to_day_change;
use crate::{Backend, Result, StoreError, parse_date};

/// `columns` of the rows of `table` whose `column` is one of `items` (they go as one JSON
/// parameter, see [`crate::bulk`]), for the company; `cast` is the SQL type of the column
/// (`BIGINT`, `TEXT`). The rows come back as one JSON value: the driver hands rows over one by
/// one, which cost more than the query at thousands of rows.
pub(super) async fn select_in<T: serde::Serialize, R: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    columns: &str,
    table: &str,
    column: &str,
    cast: &str,
    company_id: i64,
    items: &[T],
) -> Result<Vec<R>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let backend = Backend::of(conn);
    let rows: Vec<(&T,)> = items.iter().map(|item| (item,)).collect();
    // JSON, not a `Listed` text: a list joined to a table (see `bulk::Listed`).
    let from = format!(
        "FROM {table} WHERE company_id = $1 AND {column} IN (SELECT CAST(value->>0 AS {cast}) FROM {})",
        json_rows(backend, 2)
    );
    select_json_given(conn, backend, columns, &from, company_id, json(&rows), &[]).await
}

/// A stored instant (ms), or the store's corruption error.
pub(crate) fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::corrupt(format!("instant {ms}: {e}")))
}

pub(super) fn opt_date(s: Option<String>) -> Result<Option<Date>> {
    s.map(|s| parse_date(&s)).transpose()
}

/// The 日付変更時間 history of every department of the company.
pub(crate) async fn department_timelines(
    conn: &mut AnyConnection,
    company_id: i64,
) -> Result<BTreeMap<i64, Timeline<DayChangeTime>>> {
    let rows = sqlx::query(
        "SELECT department_id, effective_from, day_change_minutes FROM department_day_changes WHERE company_id = $1",
    )
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut entries: BTreeMap<i64, Vec<(Option<Date>, DayChangeTime)>> = BTreeMap::new();
    for r in rows {
        entries
            .entry(r.try_get("department_id")?)
            .or_default()
            .push((opt_date(r.try_get("effective_from")?)?, minutes_to_day_change(r.try_get("day_change_minutes")?)?));
    }
    Ok(entries.into_iter().map(|(d, e)| (d, Timeline::from_entries(e))).collect())
}

/// Each employee's 日付変更時間 schedule: its departments over time and their times.
pub(crate) async fn schedules(
    conn: &mut AnyConnection,
    company_id: i64,
    employees: &[i64],
) -> Result<BTreeMap<i64, EmployeeSchedule>> {
    let departments = department_timelines(conn, company_id).await?;
    let mut entries: BTreeMap<i64, Vec<(Option<Date>, i64)>> = BTreeMap::new();
    let rows: Vec<(i64, Option<String>, i64)> = select_in(
        conn,
        "employee_id, effective_from, department_id",
        "employee_departments",
        "employee_id",
        "BIGINT",
        company_id,
        employees,
    )
    .await?;
    for (employee, from, department) in rows {
        entries.entry(employee).or_default().push((opt_date(from)?, department));
    }
    Ok(entries
        .into_iter()
        .map(|(employee, e)| {
            let timeline = Timeline::from_entries(e);
            let day_changes =
                timeline.entries().iter().filter_map(|(_, d)| departments.get(d).map(|t| (*d, t.clone()))).collect();
            (employee, EmployeeSchedule { departments: timeline, day_changes })
        })
        .collect())
}

/// A stored link interval, with its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredLink {
    pub account: String,
    pub interval: LinkInterval<i64>,
}

/// The columns [`link_of`] reads a link from.
const LINK_COLUMNS: &str = "account, employee_id, from_ms, to_ms";

fn link_of((account, employee, from, to): (String, i64, Option<i64>, Option<i64>)) -> Result<StoredLink> {
    Ok(StoredLink {
        account,
        interval: LinkInterval { employee, from: from.map(ts).transpose()?, to: to.map(ts).transpose()? },
    })
}

/// The link history of the given accounts, by account.
pub(crate) async fn links_of_accounts(
    conn: &mut AnyConnection,
    company_id: i64,
    accounts: &[&str],
) -> Result<BTreeMap<String, Vec<LinkInterval<i64>>>> {
    let mut out: BTreeMap<String, Vec<LinkInterval<i64>>> = BTreeMap::new();
    for row in select_in(conn, LINK_COLUMNS, "link_history", "account", "TEXT", company_id, accounts).await? {
        let link = link_of(row)?;
        out.entry(link.account).or_default().push(link.interval);
    }
    Ok(out)
}

/// Link histories by employee.
pub(crate) type Links = BTreeMap<i64, Vec<StoredLink>>;

/// The link history of every employee who ever held one of `accounts` (every account each ever
/// held): the holders of a batch's logs and what the derivation of their days reads, in one
/// statement.
pub(crate) async fn links_of_holders(conn: &mut AnyConnection, company_id: i64, accounts: &[&str]) -> Result<Links> {
    let mut out = Links::new();
    if accounts.is_empty() {
        return Ok(out);
    }
    let backend = Backend::of(conn);
    let given: Vec<(&str,)> = accounts.iter().map(|a| (*a,)).collect();
    // JSON, not a `Listed` text: a list joined to a table (see `bulk::Listed`).
    let from = format!(
        "FROM link_history WHERE company_id = $1 AND employee_id IN (SELECT h.employee_id FROM link_history h \
         WHERE h.company_id = $1 AND h.account IN (SELECT value->>0 FROM {}))",
        json_rows(backend, 2)
    );
    for row in select_json_given(conn, backend, LINK_COLUMNS, &from, company_id, json(&given), &[]).await? {
        let link = link_of(row)?;
        out.entry(link.interval.employee).or_default().push(link);
    }
    Ok(out)
}

/// The link history of the given employees (every account each ever held).
pub(super) async fn links_of_employees(conn: &mut AnyConnection, company_id: i64, employees: &[i64]) -> Result<Links> {
    let mut out = Links::new();
    for row in select_in(conn, LINK_COLUMNS, "link_history", "employee_id", "BIGINT", company_id, employees).await? {
        let link = link_of(row)?;
        out.entry(link.interval.employee).or_default().push(link);
    }
    Ok(out)
}

/// The employees' 日付変更時間 schedules, by employee.
pub(crate) type Schedules = BTreeMap<i64, EmployeeSchedule>;

/// A table of punch-like rows (a 手入力 punch, an API record, a held punch) that
/// [`DayRows::read`] reads: `table` (a table, or a parenthesised relation) with `employee_id`,
/// `company_id`, `at_ms`, a date column and a punch-kind column.
pub(crate) struct DayTable {
    pub table: &'static str,
    pub date_column: &'static str,
    pub kind_column: &'static str,
    /// A text column carried along with each row (the punch's method, the outbox state).
    pub note_column: Option<&'static str>,
}

/// A punch-like row of one employee-day of the scope.
pub(crate) struct DayRow {
    pub key: (i64, Date),
    pub kind: Option<PunchKind>,
    pub at: Timestamp,
    /// The table's [`DayTable::note_column`].
    pub note: Option<String>,
}

/// Reads the punch-like rows of a scope's employee-days.
pub(crate) struct DayRows {
    company_id: i64,
    backend: Backend,
    /// The scope's (employee, first date, last date) ranges as the engine reads them, made once
    /// for every table read: a 100 000-employee scope's list is megabytes. `None` for an empty
    /// scope.
    ranges: Option<String>,
}

impl DayRows {
    pub(crate) fn new(scope: &Scope, company_id: i64, backend: Backend) -> Result<DayRows> {
        let ranges: Vec<(i64, String, String)> = scope
            .merged()
            .into_iter()
            .flat_map(|(employee, ranges)| {
                ranges.into_iter().map(move |r| {
                    let (from, to) = r.stored_bounds();
                    (employee, from, to)
                })
            })
            .collect();
        let ranges = if ranges.is_empty() { None } else { Some(Listed::new(backend).bind(&ranges)?) };
        Ok(DayRows { company_id, backend, ranges })
    }

    /// The rows of each of `tables` that fall on the scope's employee-days, in one statement:
    /// the scope's list is read once for all of them.
    ///
    /// Each employee's date ranges are joined as a list of (employee, first date, last date)
    /// rather than tested with `IN (…)` or bounded by the scope's overall dates: both engines then
    /// reach each range's rows through the `(company_id, employee_id, date, …)` index. With the
    /// scope's overall dates as constants, PostgreSQL could instead read every row of those dates
    /// and hash them, and did whenever its statistics predated the day's punches: a read that grew
    /// with each batch of a 05:00 burst (1.5 s of a 100 000-employee morning). An `IN` list of
    /// hundreds was compared against every row of the date (`loginrec bench ingest`: 62 s → 19 s at
    /// 100 000 employees).
    pub(crate) async fn read<const N: usize>(
        &self,
        conn: &mut AnyConnection,
        tables: [&DayTable; N],
    ) -> Result<[Vec<DayRow>; N]> {
        let mut out: [Vec<DayRow>; N] = std::array::from_fn(|_| Vec::new());
        let Some(ranges) = &self.ranges else {
            return Ok(out);
        };
        // Table and column names come from the callers in this crate, never from input.
        // `CROSS JOIN` makes SQLite take the list as the outer loop and probe the index for
        // each range; PostgreSQL plans it as any inner join.
        let listed = Listed::new(self.backend);
        let ranges_source =
            format!("SELECT {}, {}, {} FROM {}", listed.number(0), listed.text(1), listed.text(2), listed.rows(2));
        let selects: Vec<String> = tables
            .iter()
            .enumerate()
            .map(|(source, t)| {
                let note = t.note_column.map(|c| format!("CAST(t.{c} AS TEXT)")).unwrap_or_else(|| "NULL".into());
                // The `EXISTS` is read once: a table with no row of the company (most have no API
                // record or 手入力 punch) is not looked up for each range.
                format!(
                    "SELECT {source} AS source, t.employee_id AS employee_id, t.{date} AS day, t.{kind} AS kind, \
                     t.at_ms AS at_ms, {note} AS note FROM v CROSS JOIN {table} t WHERE t.company_id = $1 \
                     AND t.employee_id = v.employee_id AND t.{date} >= v.first_day AND t.{date} <= v.last_day \
                     AND EXISTS (SELECT 1 FROM {table} c WHERE c.company_id = $1)",
                    date = t.date_column,
                    kind = t.kind_column,
                    table = t.table,
                )
            })
            .collect();
        let sql =
            format!("WITH v (employee_id, first_day, last_day) AS ({ranges_source}) {}", selects.join(" UNION ALL "));
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.company_id).bind(ranges.as_str());
        for row in query.fetch_all(&mut *conn).await? {
            let source: i64 = row.try_get("source")?;
            let rows = usize::try_from(source)
                .ok()
                .and_then(|s| out.get_mut(s))
                .ok_or_else(|| StoreError::corrupt(format!("day rows of source {source}")))?;
            // Within one of the employee's ranges, so on a day of the scope.
            let key = (row.try_get::<i64, _>("employee_id")?, parse_date(&row.try_get::<String, _>("day")?)?);
            rows.push(DayRow {
                key,
                kind: PunchKind::from_code(row.try_get("kind")?),
                at: ts(row.try_get("at_ms")?)?,
                note: row.try_get("note")?,
            });
        }
        Ok(out)
    }
}

/// Employee code and key of every employee with a change.
pub(super) async fn employee_codes(
    conn: &mut AnyConnection,
    company_id: i64,
    changes: &[DayChange],
) -> Result<BTreeMap<i64, (String, String)>> {
    let ids: Vec<i64> = changes.iter().map(|c| c.employee_id).collect::<BTreeSet<_>>().into_iter().collect();
    let mut out = BTreeMap::new();
    let rows: Vec<(i64, String, String)> =
        select_in(conn, "id, code, employee_key", "employees", "id", "BIGINT", company_id, &ids).await?;
    for (id, code, key) in rows {
        out.insert(id, (code, key));
    }
    Ok(out)
}
