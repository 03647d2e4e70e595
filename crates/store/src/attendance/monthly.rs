//! 月別データ: each employee's month from the punches the company's attendance system holds and
//! the break punches received through the API, added up by [`loginrec_rules::work_time`],
//! with the long-hours alerts of the month and of the 36協定 year so far.

use std::collections::BTreeSet;

use jiff::civil::Date;
use loginrec_rules::work_time::{DayWork, LongHours, MonthTotals, long_hours, on_pace};

use super::work::{WorkOf, WorkSettings};
use super::*;

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
    /// The company's choices the figures were added up with.
    pub settings: WorkSettings,
}

/// The first day of the 36協定 year `date` is in, for a year that starts in month `first_month`.
pub fn agreement_year_start(date: Date, first_month: i8) -> Date {
    let year = if date.month() >= first_month { date.year() } else { date.year() - 1 };
    Date::new(year, first_month, 1).unwrap_or(date)
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
            return Ok(MonthlyPage {
                rows: Vec::new(),
                total,
                first,
                last,
                settings: self.work_settings(company_id).await?,
            });
        }
        let ids: Vec<i64> = employees.iter().map(|e| e.id).collect();
        // From the 36協定 year's first day: the year's 時間外 is the month's alert too.
        let settings = self.work_settings(company_id).await?;
        let year_start = agreement_year_start(first, settings.agreement_month);
        let mut work = self.work(company_id, WorkOf::Employees(&ids), year_start, last, today).await?;
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

        let mut out = Vec::with_capacity(employees.len());
        for e in employees {
            let year = work.remove(&e.id).unwrap_or_default();
            let year_overtime = year.iter().map(|d| d.overtime).sum();
            let mut each: Vec<DayWork> = year.into_iter().filter(|d| d.date >= first).collect();
            for day in &mut each {
                day.diverged = diverged.contains(&(e.code.clone(), day.date));
            }
            let totals = MonthTotals::of(&each);
            let overtime_pace = (first <= today && today < last)
                .then(|| on_pace(totals.overtime, i64::from(today.day()), i64::from(last.day())));
            out.push(MonthlyRow {
                full_name: e.full_name(),
                employee_code: e.code,
                department_code: e.department_code,
                department_name: e.department_name,
                alerts: long_hours(&totals, year_overtime),
                year_overtime,
                overtime_pace,
                totals,
                days: each,
            });
        }
        Ok(MonthlyPage { rows: out, total, first, last, settings })
    }
}
