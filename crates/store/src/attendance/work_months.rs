//! The long-hours alerts of a whole company, for 診断: what each employee's months add up to,
//! kept in `work_months` so that 診断 does not add up every employee's year on each visit.
//!
//! What must stay true:
//! - every change of the punches a company's attendance system holds marks the months whose
//!   figures it can change (its own, and the next one when its week reaches into it:
//!   [`mark_changed_days`]), in the transaction that makes the change;
//! - [`Attendance::long_hours`] adds the marked months up again, with the same computation as
//!   月別データ, before it reads; a month marked again while it was being added up stays marked.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use loginrec_rules::work_time::{
    LongHours, MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES, MONTHLY_OVERTIME_LIMIT_MINUTES, MonthTotals,
    YEARLY_OVERTIME_LIMIT_MINUTES, long_hours,
};
use sqlx::{AnyConnection, Row};

use super::{Attendance, WorkOf, agreement_year_start};
use crate::bulk::{json, json_rows};
use crate::new_rows::insert_new_rows;
use crate::{Backend, Result, StoreError, now_ms};

/// An employee whose month raised an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertedMonth {
    pub employee_code: String,
    pub full_name: String,
    pub department_code: String,
    pub department_name: String,
    /// The month's first day.
    pub month: Date,
    pub alerts: Vec<LongHours>,
}

/// `YYYY-MM` of a date, as `work_months` keys a month.
fn month_key(date: Date) -> String {
    date.strftime("%Y-%m").to_string()
}

/// Marks the months that a change of these employee-days can change: 時間外 past 40 hours a
/// week falls on the days after a change up to the week's end, which may be in the next month.
/// With `plain_inserts`, months not marked yet are inserted plainly (see [`insert_new_rows`]).
pub(crate) async fn mark_changed_days(
    conn: &mut AnyConnection,
    company_id: i64,
    days: impl IntoIterator<Item = (i64, Date)>,
    plain_inserts: bool,
) -> Result<()> {
    let mut months: Vec<(i64, String)> = Vec::new();
    for (employee, date) in days {
        let week_end = date.checked_add(6.days()).unwrap_or(date);
        months.push((employee, month_key(date)));
        months.push((employee, month_key(week_end)));
    }
    if months.is_empty() {
        return Ok(());
    }
    months.sort();
    months.dedup();
    // One statement of one JSON parameter (see [`crate::bulk`]): a statement per 200 months
    // was 13 statements and a second of a 100 000-employee morning on PostgreSQL.
    let backend = Backend::of(conn);
    let now = now_ms();
    let rows = json(&months);
    let mark = |upsert: bool| {
        let on_conflict = if upsert {
            " ON CONFLICT (company_id, employee_id, month) DO UPDATE SET marked_at_ms = excluded.marked_at_ms"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO work_months_stale (company_id, employee_id, month, marked_at_ms) \
             SELECT $1, CAST(value->>0 AS BIGINT), value->>1, $2 FROM {} WHERE 1 = 1 ORDER BY j.key{on_conflict}",
            json_rows(backend, 3)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(now).bind(rows.clone())
    };
    // Marks are cleared when 診断 adds the months up: a month marked and not added up since is
    // told by the first or last of them.
    let likely_new = plain_inserts && backend == Backend::Postgres && {
        let (first, last) = (&months[0], &months[months.len() - 1]);
        let marked: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM work_months_stale WHERE company_id = $1 \
             AND ((employee_id = $2 AND month = $3) OR (employee_id = $4 AND month = $5)) LIMIT 1",
        )
        .bind(company_id)
        .bind(first.0)
        .bind(&first.1)
        .bind(last.0)
        .bind(&last.1)
        .fetch_optional(&mut *conn)
        .await?;
        marked.is_none()
    };
    insert_new_rows(conn, backend, likely_new, mark).await?;
    Ok(())
}

impl Attendance<'_> {
    /// The live employees whose `months` (first days) raise a long-hours alert: 時間外 past 45
    /// hours, 時間外 and 休日労働 past 80, or the 36協定 year's 時間外 up to the month past 360;
    /// `today` is the company's current business day.
    pub async fn long_hours(&self, company_id: i64, months: &[Date], today: Date) -> Result<Vec<AlertedMonth>> {
        self.add_up_marked_months(company_id, today).await?;
        let agreement_month = self.work_settings(company_id).await?.agreement_month;
        let mut out = Vec::new();
        for &month in months {
            let first = month.first_of_month();
            // A prefilter by the same limits the rule applies to the figures it returns.
            let rows = sqlx::query(
                "SELECT e.code, e.last_name, e.first_name, d.code AS department_code, d.name AS department_name, \
                        y.year_overtime, COALESCE(w.overtime, 0) AS overtime, COALESCE(w.holiday_work, 0) AS holiday_work \
                 FROM (SELECT employee_id, CAST(SUM(overtime) AS BIGINT) AS year_overtime FROM work_months \
                       WHERE company_id = $1 AND month >= $2 AND month <= $3 GROUP BY employee_id) y \
                 JOIN employees e ON e.id = y.employee_id AND e.deleted_at_ms IS NULL \
                 JOIN departments d ON d.id = e.department_id \
                 LEFT JOIN work_months w ON w.company_id = $1 AND w.employee_id = y.employee_id AND w.month = $3 \
                 WHERE y.year_overtime > $4 OR COALESCE(w.overtime, 0) > $5 \
                    OR COALESCE(w.overtime, 0) + COALESCE(w.holiday_work, 0) > $6 \
                 ORDER BY e.code",
            )
            .bind(company_id)
            .bind(month_key(agreement_year_start(first, agreement_month)))
            .bind(month_key(first))
            .bind(YEARLY_OVERTIME_LIMIT_MINUTES)
            .bind(MONTHLY_OVERTIME_LIMIT_MINUTES)
            .bind(MONTHLY_OVERTIME_AND_HOLIDAY_LIMIT_MINUTES)
            .fetch_all(&self.store.pool)
            .await?;
            for r in &rows {
                let totals = MonthTotals {
                    overtime: r.try_get("overtime")?,
                    holiday_work: r.try_get("holiday_work")?,
                    ..MonthTotals::default()
                };
                let alerts = long_hours(&totals, r.try_get("year_overtime")?);
                if alerts.is_empty() {
                    continue;
                }
                let (last, given): (String, String) = (r.try_get("last_name")?, r.try_get("first_name")?);
                out.push(AlertedMonth {
                    employee_code: r.try_get("code")?,
                    full_name: format!("{last} {given}"),
                    department_code: r.try_get("department_code")?,
                    department_name: r.try_get("department_name")?,
                    month: first,
                    alerts,
                });
            }
        }
        Ok(out)
    }

    /// Adds the marked months up again and clears the marks that were read.
    async fn add_up_marked_months(&self, company_id: i64, today: Date) -> Result<()> {
        let marks = sqlx::query("SELECT employee_id, month, marked_at_ms FROM work_months_stale WHERE company_id = $1")
            .bind(company_id)
            .fetch_all(&self.store.pool)
            .await?;
        let mut by_month: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for r in &marks {
            by_month
                .entry(r.try_get("month")?)
                .or_default()
                .push((r.try_get("employee_id")?, r.try_get("marked_at_ms")?));
        }
        for (month, employees) in by_month {
            let first: Date = format!("{month}-01")
                .parse()
                .map_err(|e| StoreError::corrupt(format!("a month of work_months_stale ({month}): {e}")))?;
            let ids: Vec<i64> = employees.iter().map(|(id, _)| *id).collect();
            let work = self.work(company_id, WorkOf::Employees(&ids), first, first.last_of_month(), today).await?;
            let _guard = self.store.write_guard().await;
            let mut tx = self.store.pool.begin().await?;
            for chunk in employees.chunks(200) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| format!("($1, ${}, $2, ${}, ${})", 3 + i * 3, 4 + i * 3, 5 + i * 3))
                    .collect();
                let sql = format!(
                    "INSERT INTO work_months (company_id, employee_id, month, overtime, holiday_work) VALUES {} \
                     ON CONFLICT (company_id, employee_id, month) DO UPDATE \
                     SET overtime = excluded.overtime, holiday_work = excluded.holiday_work",
                    values.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(&month);
                for (id, _) in chunk {
                    let totals = MonthTotals::of(work.get(id).map(Vec::as_slice).unwrap_or_default());
                    query = query.bind(*id).bind(totals.overtime).bind(totals.holiday_work);
                }
                query.execute(&mut *tx).await?;
                let conditions: Vec<String> = (0..chunk.len())
                    .map(|i| format!("(employee_id = ${} AND marked_at_ms = ${})", 3 + i * 2, 4 + i * 2))
                    .collect();
                let sql = format!(
                    "DELETE FROM work_months_stale WHERE company_id = $1 AND month = $2 AND ({})",
                    conditions.join(" OR ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(&month);
                for (id, marked) in chunk {
                    query = query.bind(*id).bind(*marked);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
