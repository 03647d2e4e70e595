//! The embedded module as a KING OF TIME-shaped service (`/api/v1.0`): its per-company API
//! tokens (stored as digests), its employees as the API lists them, and the time records the API
//! receives, which are inputs of the pipeline like 手入力 punches.

use std::collections::BTreeMap;

use jiff::civil::Date;
use loginrec_rules::work_time::{DayWork, MonthTotals};
use loginrec_rules::{PunchKind, Timeline};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Attendance, PunchView};
use crate::remote::RemoteEmployee;
use crate::{Company, Result, StoreError, now_ms};

/// A punch as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTimeRecord {
    pub date: String,
    pub employee_key: String,
    pub at_ms: i64,
    pub code: i64,
    pub division_code: String,
    pub division_name: String,
}

fn api_time_record_from_row(r: &AnyRow) -> Result<ApiTimeRecord> {
    Ok(ApiTimeRecord {
        date: r.try_get("date")?,
        employee_key: r.try_get("employee_key")?,
        at_ms: r.try_get("at_ms")?,
        code: r.try_get("code")?,
        division_code: r.try_get("division_code")?,
        division_name: r.try_get("division_name")?,
    })
}

/// One business day of `GET /daily-workings`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiDay {
    pub date: Date,
    pub employees: Vec<ApiEmployeeDay>,
}

/// One employee on one business day: who (with that day's division) and the day's punches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiEmployeeDay {
    pub employee: RemoteEmployee,
    pub clock_in: Option<PunchView>,
    pub clock_out: Option<PunchView>,
    /// What the day adds up to.
    pub work: DayWork,
}

/// One employee's month of `GET /monthly-workings`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiEmployeeMonth {
    pub employee: RemoteEmployee,
    pub totals: MonthTotals,
}

struct Member {
    id: i64,
    /// The business date of the deletion: from then on a resigner.
    resigned_on: Option<Date>,
    /// 所属 as (code, name); before its first entry an employee has the earliest one.
    history: Timeline<(String, String)>,
    employee: RemoteEmployee,
}

struct Roster {
    members: Vec<Member>,
}

impl Roster {
    /// The employees of business date `on`, each with the division it had that day.
    fn on(&self, on: Date, include_resigners: bool) -> Vec<(i64, RemoteEmployee)> {
        let mut out = Vec::new();
        for m in &self.members {
            if !include_resigners && m.resigned_on.is_some_and(|d| d <= on) {
                continue;
            }
            let division = m.history.at(on);
            let mut employee = m.employee.clone();
            if let Some((code, name)) = division {
                employee.division_code = code.clone();
                employee.division_name = name.clone();
            }
            out.push((m.id, employee));
        }
        out
    }

    /// The employees of some day in `[first, last]`, each with the division it had on `last`.
    fn during(&self, first: Date, last: Date) -> Vec<(i64, RemoteEmployee)> {
        let gone: std::collections::BTreeSet<i64> =
            self.members.iter().filter(|m| m.resigned_on.is_some_and(|d| d <= first)).map(|m| m.id).collect();
        self.on(last, true).into_iter().filter(|(id, _)| !gone.contains(id)).collect()
    }
}

impl Attendance<'_> {
    /// Issues a token for the company's `/api/v1.0/`, revoking the previous one.
    pub async fn issue_api_token(&self, company_id: i64) -> Result<String> {
        let token = crate::tokens::alphanumeric(48);
        let now = now_ms();
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at_ms = $1 WHERE company_id = $2 AND revoked_at_ms IS NULL")
            .bind(now)
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO api_tokens (company_id, token_sha256, created_at_ms) VALUES ($1, $2, $3)")
            .bind(company_id)
            .bind(crate::tokens::digest(&token))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn company_for_api_token(&self, token: &str) -> Result<Option<Company>> {
        let code: Option<String> = sqlx::query_scalar(
            "SELECT c.code FROM api_tokens t JOIN companies c ON c.id = t.company_id \
             WHERE t.token_sha256 = $1 AND t.revoked_at_ms IS NULL",
        )
        .bind(crate::tokens::digest(token))
        .fetch_optional(&self.store.pool)
        .await?;
        match code {
            Some(code) => self.store.company_by_code(&code).await,
            None => Ok(None),
        }
    }

    /// `GET /employees?date=…&includeResigner=…`: the employees of business date `on` (today
    /// when `None`) with the department each had that day; an employee deleted on or before
    /// that date is a resigner, listed only when asked for.
    pub async fn api_employees_on(
        &self,
        company: &Company,
        on: Option<Date>,
        include_resigners: bool,
    ) -> Result<Vec<RemoteEmployee>> {
        let tz = company.tz()?;
        let on = on.unwrap_or_else(|| tz.to_datetime(jiff::Timestamp::now()).date());
        let roster = self.roster(company).await?;
        Ok(roster.on(on, include_resigners).into_iter().map(|(_, e)| e).collect())
    }

    /// `GET /daily-workings?start=…&end=…&division=…`: for each business day of `[from, to]`,
    /// every employee of that day (in `division` that day, when given) with the day's punches
    /// and what they add up to; `today` is the company's current business day.
    pub async fn api_daily_workings(
        &self,
        company: &Company,
        from: Date,
        to: Date,
        division: Option<&str>,
        today: Date,
    ) -> Result<Vec<ApiDay>> {
        let roster = self.roster(company).await?;
        let mut punches = self.punches_between(company.id, from, to).await?;
        let mut work: BTreeMap<(i64, Date), DayWork> = self
            .work(company.id, super::WorkOf::Everyone, from, to, today)
            .await?
            .into_iter()
            .flat_map(|(id, days)| days.into_iter().map(move |d| ((id, d.date), d)))
            .collect();
        let mut days = Vec::new();
        let mut date = from;
        while date <= to {
            let mut employees = Vec::new();
            for (id, employee) in roster.on(date, false) {
                if division.is_some_and(|d| d != employee.division_code) {
                    continue;
                }
                let mut kinds = punches.remove(&(id, date)).unwrap_or_default();
                employees.push(ApiEmployeeDay {
                    employee,
                    clock_in: kinds.remove(&PunchKind::ClockIn),
                    clock_out: kinds.remove(&PunchKind::ClockOut),
                    work: work.remove(&(id, date)).unwrap_or(DayWork { date, ..DayWork::default() }),
                });
            }
            days.push(ApiDay { date, employees });
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        Ok(days)
    }

    /// `GET /monthly-workings/{YYYY-MM}`: each employee of some day of the month `[first,
    /// last]` (in `division` on its last day, or `today` while it goes on) with what the month
    /// adds up to.
    pub async fn api_monthly_workings(
        &self,
        company: &Company,
        first: Date,
        last: Date,
        division: Option<&str>,
        today: Date,
    ) -> Result<Vec<ApiEmployeeMonth>> {
        let roster = self.roster(company).await?;
        let mut work = self.work(company.id, super::WorkOf::Everyone, first, last, today).await?;
        Ok(roster
            .during(first, last.min(today.max(first)))
            .into_iter()
            .filter(|(_, e)| division.is_none_or(|d| d == e.division_code))
            .map(|(id, employee)| ApiEmployeeMonth {
                employee,
                totals: MonthTotals::of(&work.remove(&id).unwrap_or_default()),
            })
            .collect())
    }

    /// Every employee of the company with its 所属 history, read once for any number of days.
    async fn roster(&self, company: &Company) -> Result<Roster> {
        let rows = sqlx::query(
            "SELECT e.id, e.employee_key, e.code, e.last_name, e.first_name, e.employment_type, e.deleted_at_ms \
             FROM employees e WHERE e.company_id = $1 ORDER BY e.code, e.id",
        )
        .bind(company.id)
        .fetch_all(&self.store.pool)
        .await?;
        let departments: BTreeMap<i64, (String, String)> =
            sqlx::query("SELECT id, code, name FROM departments WHERE company_id = $1")
                .bind(company.id)
                .fetch_all(&self.store.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("id")?, (r.try_get("code")?, r.try_get("name")?))))
                .collect::<Result<_>>()?;
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
        let mut conn = self.store.pool.acquire().await?;
        let schedules = crate::pipeline::schedules(&mut conn, company.id, &ids).await?;
        let tz = company.tz()?;
        let mut members = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let deleted: Option<i64> = r.try_get("deleted_at_ms")?;
            let resigned_on = match deleted.map(jiff::Timestamp::from_millisecond) {
                Some(Ok(at)) => Some(tz.to_datetime(at).date()),
                Some(Err(e)) => return Err(StoreError::corrupt(format!("instant {deleted:?}: {e}"))),
                None => None,
            };
            let history = schedules
                .get(&id)
                .map(|s| {
                    Timeline::from_entries(
                        s.departments
                            .entries()
                            .iter()
                            .map(|(from, d)| (*from, departments.get(d).cloned().unwrap_or_default())),
                    )
                })
                .unwrap_or_default();
            members.push(Member {
                id,
                resigned_on,
                history,
                employee: RemoteEmployee {
                    key: r.try_get("employee_key")?,
                    code: r.try_get("code")?,
                    last_name: r.try_get("last_name")?,
                    first_name: r.try_get("first_name")?,
                    division_code: String::new(),
                    division_name: String::new(),
                    type_name: r.try_get("employment_type")?,
                },
            });
        }
        Ok(Roster { members })
    }

    /// `POST /daily-workings/timerecord/{employeeKey}`: the record is kept as received, and the
    /// day is derived again: the earliest API 出勤 and the latest API 退勤 win over PC, a 手入力
    /// punch over both.
    pub async fn record_api_punch(
        &self,
        company: &Company,
        employee_key: &str,
        date: Date,
        at_ms: i64,
        code: i64,
    ) -> Result<()> {
        let at = jiff::Timestamp::from_millisecond(at_ms).map_err(StoreError::corrupt)?;
        loginrec_rules::punch_moment::check_punch_moment(date, at, &company.tz()?)
            .map_err(|e| StoreError::Refused(crate::Refusal::PunchMoment(e)))?;
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        crate::pipeline::lock_company(&mut tx, self.store.backend, company.id, false).await?;
        let employee_id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM employees WHERE company_id = $1 AND employee_key = $2 AND deleted_at_ms IS NULL",
        )
        .bind(company.id)
        .bind(employee_key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(employee_id) = employee_id else {
            return Err(StoreError::NotFound(crate::Missing::EmployeeKey(employee_key.to_string())));
        };
        let now = now_ms();
        sqlx::query(
            "INSERT INTO api_timerecords (company_id, employee_id, date, at_ms, code, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(company.id)
        .bind(employee_id)
        .bind(date.to_string())
        .bind(at_ms)
        .bind(code)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let ctx = crate::pipeline::CompanyContext::load(&mut tx, company.id).await?;
        let mut scope = crate::pipeline::Scope::default();
        scope.add_day(employee_id, date);
        crate::pipeline::rederive(&mut tx, self.store.backend, &ctx, &scope).await?;
        if code == 3 || code == 4 {
            // A break changes the day's work without changing its 出勤 or 退勤.
            crate::attendance::work_months::mark_changed_days(&mut tx, company.id, [(employee_id, date)], false)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Punches of `[from, to]` as the API lists them: every 出勤 / 退勤 of the day table, and
    /// the break records received through the API.
    pub async fn api_timerecords(&self, company_id: i64, from: Date, to: Date) -> Result<Vec<ApiTimeRecord>> {
        let rows = sqlx::query(
            "SELECT p.business_date AS date, e.employee_key, p.at_ms, p.kind AS code, d.code AS division_code, \
                    d.name AS division_name FROM punches p \
             JOIN employees e ON e.id = p.employee_id JOIN departments d ON d.id = e.department_id \
             WHERE p.company_id = $1 AND p.business_date >= $2 AND p.business_date <= $3 \
             UNION ALL \
             SELECT a.date, e.employee_key, a.at_ms, a.code, d.code, d.name FROM api_timerecords a \
             JOIN employees e ON e.id = a.employee_id JOIN departments d ON d.id = e.department_id \
             WHERE a.company_id = $1 AND a.date >= $2 AND a.date <= $3 AND a.code IN (3, 4) \
             ORDER BY date, employee_key, at_ms",
        )
        .bind(company_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(api_time_record_from_row).collect()
    }

    /// How many records the API received (for tests that count deliveries).
    pub async fn api_timerecord_count(&self, company_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM api_timerecords WHERE company_id = $1")
            .bind(company_id)
            .fetch_one(&self.store.pool)
            .await?)
    }
}
