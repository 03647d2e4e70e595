//! The embedded 勤革時 attendance module: 所属 (departments), 従業員 (employees) and the punches
//! (打刻) of 日別データ.

use std::collections::BTreeMap;

use jiff::civil::Date;
use loginrec_rules::{DayChangeTime, PunchKind};
use rand::Rng;
use sqlx::Row;

use crate::{Result, Store, StoreError, parse_date};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub day_change: DayChangeTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeeInput {
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
}

/// A punch as 日別データ shows it: method, then the instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PunchView {
    pub at_ms: i64,
    pub method: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyRow {
    pub employee_code: String,
    pub full_name: String,
    pub department_code: String,
    pub department_name: String,
    pub employment_type: String,
    pub clock_in: Option<PunchView>,
    pub clock_out: Option<PunchView>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimecardRow {
    pub employee_code: String,
    pub business_date: Date,
    pub clock_in: Option<PunchView>,
    pub clock_out: Option<PunchView>,
}

fn new_employee_key() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

impl Store {
    /// Creates or updates departments by code. Returns how many rows were written.
    pub async fn upsert_departments(&self, company_id: i64, departments: &[DepartmentInput]) -> Result<usize> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        for d in departments {
            sqlx::query(
                "INSERT INTO departments (company_id, code, name, day_change_minutes) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (company_id, code) DO UPDATE SET name = excluded.name, \
                 day_change_minutes = excluded.day_change_minutes",
            )
            .bind(company_id)
            .bind(&d.code)
            .bind(&d.name)
            .bind(i64::from(d.day_change.hour()) * 60 + i64::from(d.day_change.minute()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(departments.len())
    }

    pub async fn departments(&self, company_id: i64) -> Result<Vec<DepartmentInput>> {
        let rows =
            sqlx::query("SELECT code, name, day_change_minutes FROM departments WHERE company_id = $1 ORDER BY code")
                .bind(company_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(DepartmentInput {
                    code: r.try_get(0)?,
                    name: r.try_get(1)?,
                    day_change: minutes_to_day_change(r.try_get(2)?)?,
                })
            })
            .collect()
    }

    /// Creates or updates live employees by code; an employee gets its immutable key on
    /// creation. ログイン記録's users follow at once, as 連携実行 would make them.
    pub async fn upsert_employees(&self, company_id: i64, employees: &[EmployeeInput]) -> Result<usize> {
        {
            let _guard = self.write_guard().await;
            let mut tx = self.pool.begin().await?;
            for e in employees {
                let dept: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM departments WHERE company_id = $1 AND code = $2")
                        .bind(company_id)
                        .bind(&e.department_code)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(dept) = dept else {
                    return Err(StoreError::NotFound(format!("所属コード {:?}", e.department_code)));
                };
                let updated = sqlx::query(
                    "UPDATE employees SET last_name = $1, first_name = $2, department_id = $3 \
                     WHERE company_id = $4 AND code = $5 AND deleted_at_ms IS NULL",
                )
                .bind(&e.last_name)
                .bind(&e.first_name)
                .bind(dept)
                .bind(company_id)
                .bind(&e.code)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    sqlx::query(
                        "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(company_id)
                    .bind(new_employee_key())
                    .bind(&e.code)
                    .bind(&e.last_name)
                    .bind(&e.first_name)
                    .bind(dept)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        }
        self.sync_users(company_id).await?;
        Ok(employees.len())
    }

    /// 日別データ: every live employee (optionally of one department) with the punches of `date`.
    pub async fn daily(&self, company_id: i64, date: Date, department_code: Option<&str>) -> Result<Vec<DailyRow>> {
        let rows = sqlx::query(
            "SELECT e.id, e.code, e.last_name, e.first_name, d.code, d.name, e.employment_type \
             FROM employees e JOIN departments d ON d.id = e.department_id \
             WHERE e.company_id = $1 AND e.deleted_at_ms IS NULL AND ($2 = '' OR d.code = $2) ORDER BY e.code",
        )
        .bind(company_id)
        .bind(department_code.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        let punches = self.punches_between(company_id, date, date).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let last: String = r.try_get(2)?;
            let first: String = r.try_get(3)?;
            let day = punches.get(&(id, date));
            out.push(DailyRow {
                employee_code: r.try_get(1)?,
                full_name: format!("{last} {first}"),
                department_code: r.try_get(4)?,
                department_name: r.try_get(5)?,
                employment_type: r.try_get(6)?,
                clock_in: day.and_then(|d| d.get(&PunchKind::ClockIn)).cloned(),
                clock_out: day.and_then(|d| d.get(&PunchKind::ClockOut)).cloned(),
            });
        }
        Ok(out)
    }

    /// Every employee and business day in `[from, to]` that has a punch, by code then date.
    pub async fn timecard(&self, company_id: i64, from: Date, to: Date) -> Result<Vec<TimecardRow>> {
        let codes: BTreeMap<i64, String> = sqlx::query("SELECT id, code FROM employees WHERE company_id = $1")
            .bind(company_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_>>()?;
        let punches = self.punches_between(company_id, from, to).await?;
        let mut out: Vec<TimecardRow> = punches
            .into_iter()
            .map(|((employee_id, date), mut kinds)| TimecardRow {
                employee_code: codes.get(&employee_id).cloned().unwrap_or_default(),
                business_date: date,
                clock_in: kinds.remove(&PunchKind::ClockIn),
                clock_out: kinds.remove(&PunchKind::ClockOut),
            })
            .collect();
        out.sort_by(|a, b| (&a.employee_code, a.business_date).cmp(&(&b.employee_code, b.business_date)));
        Ok(out)
    }

    async fn punches_between(
        &self,
        company_id: i64,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<(i64, Date), BTreeMap<PunchKind, PunchView>>> {
        let rows = sqlx::query(
            "SELECT employee_id, business_date, kind, at_ms, method FROM punches \
             WHERE company_id = $1 AND business_date >= $2 AND business_date <= $3",
        )
        .bind(company_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<(i64, Date), BTreeMap<PunchKind, PunchView>> = BTreeMap::new();
        for r in rows {
            let date = parse_date(&r.try_get::<String, _>(1)?)?;
            let Some(kind) = PunchKind::from_code(r.try_get(2)?) else { continue };
            out.entry((r.try_get(0)?, date))
                .or_default()
                .insert(kind, PunchView { at_ms: r.try_get(3)?, method: r.try_get(4)? });
        }
        Ok(out)
    }
}

pub(crate) fn minutes_to_day_change(minutes: i64) -> Result<DayChangeTime> {
    let bad = || StoreError::Invalid(format!("bad stored day change time {minutes}"));
    let (h, m) = (u8::try_from(minutes / 60).map_err(|_| bad())?, u8::try_from(minutes % 60).map_err(|_| bad())?);
    DayChangeTime::from_hm(h, m).map_err(|_| bad())
}
