//! 月別データ: each employee's month from the punches the company's attendance system holds and
//! the break punches received through the API, added up by [`loginrec_rules::month_totals`],
//! with the long-hours alerts of the month and of the 36協定 year so far.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::Date;
use loginrec_rules::month_totals::{
    DayWork, LongHours, MonthTotals, WorkDay, WorkRules, long_hours, month_totals, on_pace,
};
use sqlx::Row;

use super::*;
use crate::bulk::{json, json_rows};

/// The month an 36協定 year starts in when the company has not said (April, as most do).
pub const AGREEMENT_YEAR_STARTS: i8 = 4;

/// Which month and employees to add up.
#[derive(Clone, Debug)]
pub struct MonthlyFilter {
    /// Any day of the month.
    pub month: Date,
    /// A department code; `None` or empty for all.
    pub department_code: Option<String>,
    /// `None` for every employee.
    pub limit: Option<i64>,
    pub offset: i64,
}

/// One employee's month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthlyRow {
    pub employee_code: String,
    pub full_name: String,
    pub department_code: String,
    pub department_name: String,
    pub totals: MonthTotals,
    /// 時間外 of the 36協定 year up to the month's end.
    pub year_overtime: i64,
    pub alerts: Vec<LongHours>,
    /// While the month is going on: where its 時間外 is heading at the pace so far.
    pub overtime_pace: Option<i64>,
    pub days: Vec<DayWork>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthlyPage {
    pub rows: Vec<MonthlyRow>,
    pub total: i64,
    pub first: Date,
    pub last: Date,
}

/// The first day of the 36協定 year `date` is in.
pub fn agreement_year_start(date: Date) -> Date {
    let year = if date.month() >= AGREEMENT_YEAR_STARTS { date.year() } else { date.year() - 1 };
    Date::new(year, AGREEMENT_YEAR_STARTS, 1).unwrap_or(date)
}

impl Attendance<'_> {
    /// 月別データ of the live employees the filter names, by code; `today` is the company's
    /// current business day.
    pub async fn monthly(&self, company_id: i64, filter: &MonthlyFilter, today: Date) -> Result<MonthlyPage> {
        let first = filter.month.first_of_month();
        let last = filter.month.last_of_month();
        let department = filter.department_code.as_deref().filter(|code| !code.is_empty());
        let total = self.live_employee_count(company_id, department).await?;
        let page_sql = format!(
            "SELECT {} FROM employees e JOIN departments d ON d.id = e.department_id \
             WHERE e.company_id = $1 AND e.deleted_at_ms IS NULL AND ($2 IS NULL OR d.code = $2) \
             ORDER BY e.code LIMIT $3 OFFSET $4",
            employee_columns!()
        );
        let employees: Vec<Employee> = sqlx::query(sqlx::AssertSqlSafe(page_sql))
            .bind(company_id)
            .bind(department)
            .bind(filter.limit.unwrap_or(i64::MAX))
            .bind(filter.offset.max(0))
            .fetch_all(&self.store.pool)
            .await?
            .iter()
            .map(employee_from_row)
            .collect::<Result<_>>()?;
        if employees.is_empty() {
            return Ok(MonthlyPage { rows: Vec::new(), total, first, last });
        }
        let tz_name: String = sqlx::query_scalar("SELECT time_zone FROM companies WHERE id = $1")
            .bind(company_id)
            .fetch_one(&self.store.pool)
            .await?;
        let tz = crate::time_zone(&tz_name)?;
        let year_start = agreement_year_start(first);
        // The week of the year's first day may start in the month before it.
        let read_from = year_start.checked_sub(6.days()).unwrap_or(year_start);
        let ids: Vec<(i64,)> = employees.iter().map(|e| (e.id,)).collect();
        let mut days: BTreeMap<(i64, Date), WorkDay> = BTreeMap::new();
        let held = crate::port::held_punches(crate::port::is_remote(&self.store.pool, company_id).await?);
        let sql = format!(
            "SELECT p.employee_id, p.business_date, p.kind, p.at_ms FROM {} CROSS JOIN {held} p \
             WHERE p.company_id = $1 AND p.employee_id = CAST(j.value->>0 AS BIGINT) \
             AND p.business_date >= $3 AND p.business_date <= $4",
            json_rows(self.store.backend, 2)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(json(&ids))
            .bind(read_from.to_string())
            .bind(last.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        for r in &rows {
            let date = parse_date(&r.try_get::<String, _>("business_date")?)?;
            let employee: i64 = r.try_get("employee_id")?;
            let at = timestamp(r.try_get("at_ms")?)?;
            let day = days.entry((employee, date)).or_insert_with(|| WorkDay { date, ..WorkDay::default() });
            match PunchKind::from_code(r.try_get::<i64, _>("kind")?) {
                Some(PunchKind::ClockIn) => day.clock_in = Some(at),
                Some(PunchKind::ClockOut) => day.clock_out = Some(at),
                None => {}
            }
        }
        // Break punches (codes 3 and 4) as the API received them, paired in time order.
        let sql = format!(
            "SELECT a.employee_id, a.date, a.code, a.at_ms FROM {} CROSS JOIN api_timerecords a \
             WHERE a.company_id = $1 AND a.employee_id = CAST(j.value->>0 AS BIGINT) \
             AND a.date >= $3 AND a.date <= $4 AND a.code IN (3, 4) ORDER BY a.employee_id, a.date, a.at_ms",
            json_rows(self.store.backend, 2)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(json(&ids))
            .bind(read_from.to_string())
            .bind(last.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        let mut open: BTreeMap<(i64, Date), Timestamp> = BTreeMap::new();
        for r in &rows {
            let date = parse_date(&r.try_get::<String, _>("date")?)?;
            let employee: i64 = r.try_get("employee_id")?;
            let at = timestamp(r.try_get("at_ms")?)?;
            match r.try_get::<i64, _>("code")? {
                3 => {
                    open.insert((employee, date), at);
                }
                _ => {
                    if let Some(start) = open.remove(&(employee, date)) {
                        days.entry((employee, date))
                            .or_insert_with(|| WorkDay { date, ..WorkDay::default() })
                            .breaks
                            .push((start, at));
                    }
                }
            }
        }
        let diverged: BTreeSet<(String, Date)> = self
            .store
            .divergences(
                company_id,
                &crate::DivergenceFilter { from: Some(first), to: Some(last), ..Default::default() },
            )
            .await?
            .into_iter()
            .map(|d| (d.employee_code, d.business_date))
            .collect();

        let rules = WorkRules::default();
        let mut out = Vec::with_capacity(employees.len());
        for e in employees {
            let mut own: Vec<WorkDay> =
                days.range((e.id, Date::MIN)..=(e.id, Date::MAX)).map(|(_, d)| d.clone()).collect();
            for day in &mut own {
                day.diverged = diverged.contains(&(e.code.clone(), day.date));
            }
            let (_, year) = month_totals(&own, year_start, last, today, &tz, rules);
            let (each, totals) = month_totals(&own, first, last, today, &tz, rules);
            let overtime_pace = (first <= today && today < last)
                .then(|| on_pace(totals.overtime, i64::from(today.day()), i64::from(last.day())));
            out.push(MonthlyRow {
                full_name: e.full_name(),
                employee_code: e.code,
                department_code: e.department_code,
                department_name: e.department_name,
                alerts: long_hours(&totals, year.overtime),
                year_overtime: year.overtime,
                overtime_pace,
                totals,
                days: each,
            });
        }
        Ok(MonthlyPage { rows: out, total, first, last })
    }
}

fn timestamp(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::corrupt(format!("a stored punch time: {e}")))
}
