//! The embedded 勤革時 attendance module: 所属 (departments), 従業員 (employees) and the punches
//! (打刻) of 日別データ and the time card.
//!
//! What must stay true:
//! - department and live employee codes are unique per company; a deleted employee keeps its
//!   row, key and punches (`deleted_at_ms`), and is restored only while no live employee uses
//!   its code;
//! - the settings screens change the attendance tables only: ログイン記録's users follow on
//!   連携実行 ([`Store::sync_users`]), as the manual describes;
//! - a department's 日付変更時間 and an employee's 所属 are effective-dated ([`crate::history`]):
//!   a change holds from its effective business date, earlier days keep what held then, and the
//!   days it moves are derived again in the same transaction;
//! - the punches shown here are the pipeline's cache ([`crate::pipeline`]); a 手入力 punch is an
//!   input of it and survives every recomputation.

use std::collections::BTreeMap;

use jiff::civil::Date;
use loginrec_rules::{DayChangeTime, PunchKind};
use rand::Rng;
use sqlx::Row;

use crate::history::{Apply, TimelineTable};
use crate::pipeline::{Recomputed, Scope};
use crate::{Missing, Result, Store, StoreError, Taken, now_ms, parse_date};

/// The method of punches an administrator enters by hand.
pub const MANUAL_METHOD: &str = "手入力";

/// The 雇用区分 the 従業員設定 screen offers.
pub const EMPLOYMENT_TYPES: [&str; 4] = ["正社員", "契約社員", "パート", "アルバイト"];

/// A department as 所属設定 lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub day_change: DayChangeTime,
}

/// An employee as 従業員設定 lists it; `deleted_at_ms` is set for deleted ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employee {
    pub id: i64,
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
    pub department_name: String,
    pub employment_type: String,
    pub deleted_at_ms: Option<i64>,
}

impl Employee {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.last_name, self.first_name)
    }
}

/// What 従業員設定 creates or edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeeDetails {
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
    pub employment_type: String,
}

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

/// An employee with its department, over `employees e JOIN departments d`, as
/// [`employee_from_row`] reads it.
macro_rules! employee_columns {
    () => {
        "e.id, e.code, e.last_name, e.first_name, d.code AS department_code, d.name AS department_name, \
         e.employment_type, e.deleted_at_ms"
    };
}

fn new_employee_key() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

impl Store {
    /// Creates or updates departments by code, a changed 日付変更時間 holding from the
    /// department's current business date. Returns how many rows were written.
    pub async fn upsert_departments(&self, company_id: i64, departments: &[DepartmentInput]) -> Result<usize> {
        Ok(self.import_departments(company_id, departments, None, Apply::Commit).await?.0)
    }

    /// 所属 import: creates or updates departments by code. A changed 日付変更時間 holds from
    /// business date `from` (default: the department's current business date); earlier days keep
    /// the old one. A new department's time holds from the beginning.
    pub async fn import_departments(
        &self,
        company_id: i64,
        departments: &[DepartmentInput],
        from: Option<Date>,
        apply: Apply,
    ) -> Result<(usize, Recomputed)> {
        let _guard = self.write_guard().await;
        let (mut tx, ctx) = self.begin_change(company_id).await?;
        let result: Result<_> = async {
            let mut scope = Scope::default();
            for d in departments {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO departments (company_id, code, name, day_change_minutes) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (company_id, code) DO UPDATE SET name = excluded.name RETURNING id",
                )
                .bind(company_id)
                .bind(&d.code)
                .bind(&d.name)
                .bind(day_change_minutes(d.day_change))
                .fetch_one(&mut *tx)
                .await?;
                Store::set_department_day_change(&mut tx, &ctx, id, d.day_change, from, &mut scope).await?;
            }
            crate::pipeline::rederive(&mut tx, self.backend, &ctx, &scope).await
        }
        .await;
        let recomputed = self.settle(tx, result, apply).await?;
        Ok((departments.len(), recomputed))
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
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    day_change: minutes_to_day_change(r.try_get("day_change_minutes")?)?,
                })
            })
            .collect()
    }

    /// Creates or updates live employees by code, a changed 所属 holding from each employee's
    /// current business date. ログイン記録's users follow at once, as 連携実行 would make them.
    pub async fn upsert_employees(&self, company_id: i64, employees: &[EmployeeInput]) -> Result<usize> {
        Ok(self.import_employees(company_id, employees, None, Apply::Commit).await?.0)
    }

    /// 従業員 import: creates or updates live employees by code; an employee gets its immutable
    /// key on creation, and its first 所属 holds from the beginning. A changed 所属コード holds
    /// from business date `from` (default: the employee's current business date). ログイン記録's
    /// users follow at once when committed, as 連携実行 would make them.
    pub async fn import_employees(
        &self,
        company_id: i64,
        employees: &[EmployeeInput],
        from: Option<Date>,
        apply: Apply,
    ) -> Result<(usize, Recomputed)> {
        let recomputed = {
            let _guard = self.write_guard().await;
            let (mut tx, ctx) = self.begin_change(company_id).await?;
            let result: Result<_> = async {
                let mut scope = Scope::default();
                // Read once, not per row: imports can list 100 000 employees.
                let departments: BTreeMap<String, i64> =
                    sqlx::query("SELECT code, id FROM departments WHERE company_id = $1")
                        .bind(company_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| Ok((r.try_get("code")?, r.try_get("id")?)))
                        .collect::<Result<_>>()?;
                let live: BTreeMap<String, i64> =
                    sqlx::query("SELECT code, id FROM employees WHERE company_id = $1 AND deleted_at_ms IS NULL")
                        .bind(company_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| Ok((r.try_get("code")?, r.try_get("id")?)))
                        .collect::<Result<_>>()?;
                let existing: Vec<i64> = employees.iter().filter_map(|e| live.get(&e.code).copied()).collect();
                let schedules = crate::pipeline::schedules(&mut tx, company_id, &existing).await?;
                for e in employees {
                    let dept = *departments
                        .get(&e.department_code)
                        .ok_or_else(|| StoreError::NotFound(Missing::DepartmentCode(e.department_code.clone())))?;
                    match live.get(&e.code) {
                        Some(&id) => {
                            sqlx::query("UPDATE employees SET last_name = $1, first_name = $2 WHERE id = $3")
                                .bind(&e.last_name)
                                .bind(&e.first_name)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                            let schedule = schedules.get(&id).cloned().unwrap_or_default();
                            Store::set_employee_department(&mut tx, &ctx, id, &schedule, dept, from, &mut scope).await?;
                        }
                        None => {
                            let id: i64 = sqlx::query_scalar(
                                "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id) \
                                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            )
                            .bind(company_id)
                            .bind(new_employee_key())
                            .bind(&e.code)
                            .bind(&e.last_name)
                            .bind(&e.first_name)
                            .bind(dept)
                            .fetch_one(&mut *tx)
                            .await?;
                            // A new employee's first 所属 holds from the beginning.
                            TimelineTable::EmployeeDepartments.insert(&mut tx, company_id, id, None, dept).await?;
                        }
                    }
                }
                crate::pipeline::rederive(&mut tx, self.backend, &ctx, &scope).await
            }
            .await;
            self.settle(tx, result, apply).await?
        };
        if apply == Apply::Commit {
            self.sync_users(company_id).await?;
        }
        Ok((employees.len(), recomputed))
    }

    /// 日別データ: every live employee (optionally of one department) with the punches of `date`.
    /// An empty department code, as the screen's すべて choice sends it, lists every department.
    pub async fn daily(&self, company_id: i64, date: Date, department_code: Option<&str>) -> Result<Vec<DailyRow>> {
        let sql = concat!(
            "SELECT ",
            employee_columns!(),
            " FROM employees e JOIN departments d ON d.id = e.department_id \
             WHERE e.company_id = $1 AND e.deleted_at_ms IS NULL AND ($2 IS NULL OR d.code = $2) ORDER BY e.code"
        );
        let rows = sqlx::query(sql)
            .bind(company_id)
            .bind(department_code.filter(|code| !code.is_empty()))
            .fetch_all(&self.pool)
            .await?;
        let punches = self.punches_between(company_id, date, date).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let employee = employee_from_row(r)?;
            let day = punches.get(&(employee.id, date));
            out.push(DailyRow {
                full_name: employee.full_name(),
                employee_code: employee.code,
                department_code: employee.department_code,
                department_name: employee.department_name,
                employment_type: employee.employment_type,
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
            .map(|r| Ok((r.try_get("id")?, r.try_get("code")?)))
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
        let remote = crate::port::is_remote(&self.pool, company_id).await?;
        // The relation is one of two constant texts, never input.
        let sql = format!(
            "SELECT employee_id, business_date, kind, at_ms, method FROM {} p \
             WHERE company_id = $1 AND business_date >= $2 AND business_date <= $3",
            crate::port::held_punches(remote)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(&self.pool)
            .await?;
        let mut out: BTreeMap<(i64, Date), BTreeMap<PunchKind, PunchView>> = BTreeMap::new();
        for r in rows {
            let date = parse_date(&r.try_get::<String, _>("business_date")?)?;
            let Some(kind) = PunchKind::from_code(r.try_get("kind")?) else { continue };
            out.entry((r.try_get("employee_id")?, date))
                .or_default()
                .insert(kind, PunchView { at_ms: r.try_get("at_ms")?, method: r.try_get("method")? });
        }
        Ok(out)
    }
}

impl Store {
    /// 所属設定: every department of the company, by code.
    pub async fn department_list(&self, company_id: i64) -> Result<Vec<Department>> {
        let rows = sqlx::query(
            "SELECT id, code, name, day_change_minutes FROM departments WHERE company_id = $1 ORDER BY code",
        )
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    /// One department of the company (`None` for another company's).
    pub async fn department(&self, company_id: i64, id: i64) -> Result<Option<Department>> {
        let row =
            sqlx::query("SELECT id, code, name, day_change_minutes FROM departments WHERE company_id = $1 AND id = $2")
                .bind(company_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    /// Creates a department; `Conflict` when its code is taken.
    pub async fn create_department(&self, company_id: i64, department: &DepartmentInput) -> Result<i64> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE company_id = $1 AND code = $2")
            .bind(company_id)
            .bind(&department.code)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Taken(Taken::DepartmentCode(department.code.clone())));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO departments (company_id, code, name, day_change_minutes) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(company_id)
        .bind(&department.code)
        .bind(&department.name)
        .bind(day_change_minutes(department.day_change))
        .fetch_one(&mut *tx)
        .await?;
        let minutes = day_change_minutes(department.day_change);
        TimelineTable::DepartmentDayChanges.insert(&mut tx, company_id, id, None, minutes).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a department's code, name and 日付変更時間 (from its current business date);
    /// `NotFound` for another company's, `Conflict` when the new code belongs to another
    /// department.
    pub async fn update_department(&self, company_id: i64, id: i64, department: &DepartmentInput) -> Result<()> {
        self.update_department_from(company_id, id, department, None, Apply::Commit).await.map(|_| ())
    }

    /// 所属設定 edit: code and name at once, the 日付変更時間 from business date `from` (default:
    /// the department's current business date); earlier days keep the old one.
    pub async fn update_department_from(
        &self,
        company_id: i64,
        id: i64,
        department: &DepartmentInput,
        from: Option<Date>,
        apply: Apply,
    ) -> Result<Recomputed> {
        let _guard = self.write_guard().await;
        let (mut tx, ctx) = self.begin_change(company_id).await?;
        let result: Result<_> = async {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM departments WHERE company_id = $1 AND code = $2 AND id <> $3")
                    .bind(company_id)
                    .bind(&department.code)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Taken(Taken::DepartmentCode(department.code.clone())));
            }
            let n = sqlx::query("UPDATE departments SET code = $1, name = $2 WHERE company_id = $3 AND id = $4")
                .bind(&department.code)
                .bind(&department.name)
                .bind(company_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(Missing::Department(id)));
            }
            let mut scope = Scope::default();
            Store::set_department_day_change(&mut tx, &ctx, id, department.day_change, from, &mut scope).await?;
            crate::pipeline::rederive(&mut tx, self.backend, &ctx, &scope).await
        }
        .await;
        self.settle(tx, result, apply).await
    }

    /// 従業員設定: live employees by code, then (when asked) the deleted ones.
    pub async fn employee_list(&self, company_id: i64, include_deleted: bool) -> Result<Vec<Employee>> {
        let sql = concat!(
            "SELECT ",
            employee_columns!(),
            " FROM employees e JOIN departments d ON d.id = e.department_id \
             WHERE e.company_id = $1 AND (e.deleted_at_ms IS NULL OR $2 = 1) \
             ORDER BY CASE WHEN e.deleted_at_ms IS NULL THEN 0 ELSE 1 END, e.code, e.id"
        );
        let rows = sqlx::query(sql).bind(company_id).bind(i64::from(include_deleted)).fetch_all(&self.pool).await?;
        rows.iter().map(employee_from_row).collect()
    }

    /// One employee of the company, live or deleted (`None` for another company's).
    pub async fn employee(&self, company_id: i64, id: i64) -> Result<Option<Employee>> {
        let sql = concat!(
            "SELECT ",
            employee_columns!(),
            " FROM employees e JOIN departments d ON d.id = e.department_id WHERE e.company_id = $1 AND e.id = $2"
        );
        let row = sqlx::query(sql).bind(company_id).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(employee_from_row).transpose()
    }

    /// The employee a code names: the live one, else the one deleted last.
    pub async fn employee_by_code(&self, company_id: i64, code: &str) -> Result<Option<Employee>> {
        let sql = concat!(
            "SELECT ",
            employee_columns!(),
            " FROM employees e JOIN departments d ON d.id = e.department_id WHERE e.company_id = $1 AND e.code = $2 \
             ORDER BY CASE WHEN e.deleted_at_ms IS NULL THEN 0 ELSE 1 END, e.deleted_at_ms DESC, e.id DESC LIMIT 1"
        );
        let row = sqlx::query(sql).bind(company_id).bind(code).fetch_optional(&self.pool).await?;
        row.as_ref().map(employee_from_row).transpose()
    }

    /// Creates an employee with a new immutable key. `Conflict` when a live employee has the
    /// code, `NotFound` for an unknown department. ログイン記録 picks it up on 連携実行.
    pub async fn create_employee(&self, company_id: i64, employee: &EmployeeDetails) -> Result<i64> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let dept = department_id(&mut tx, company_id, &employee.department_code).await?;
        if live_code_holder(&mut tx, company_id, &employee.code, None).await?.is_some() {
            return Err(StoreError::Taken(Taken::EmployeeCode(employee.code.clone())));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id, employment_type) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(company_id)
        .bind(new_employee_key())
        .bind(&employee.code)
        .bind(&employee.last_name)
        .bind(&employee.first_name)
        .bind(dept)
        .bind(&employee.employment_type)
        .fetch_one(&mut *tx)
        .await?;
        TimelineTable::EmployeeDepartments.insert(&mut tx, company_id, id, None, dept).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Edits a live employee, a changed 所属 holding from its current business date. Its key,
    /// and so its link in ログイン記録, stays.
    pub async fn update_employee(&self, company_id: i64, id: i64, employee: &EmployeeDetails) -> Result<()> {
        self.update_employee_from(company_id, id, employee, None, Apply::Commit).await.map(|_| ())
    }

    /// 従業員設定 edit: a changed 所属 holds from business date `from` (default: the employee's
    /// current business date); earlier days keep the old department's 日付変更時間.
    pub async fn update_employee_from(
        &self,
        company_id: i64,
        id: i64,
        employee: &EmployeeDetails,
        from: Option<Date>,
        apply: Apply,
    ) -> Result<Recomputed> {
        let _guard = self.write_guard().await;
        let (mut tx, ctx) = self.begin_change(company_id).await?;
        let result: Result<_> = async {
            let dept = department_id(&mut tx, company_id, &employee.department_code).await?;
            if live_code_holder(&mut tx, company_id, &employee.code, Some(id)).await?.is_some() {
                return Err(StoreError::Taken(Taken::EmployeeCode(employee.code.clone())));
            }
            let n = sqlx::query(
                "UPDATE employees SET code = $1, last_name = $2, first_name = $3, employment_type = $4 \
             WHERE company_id = $5 AND id = $6 AND deleted_at_ms IS NULL",
            )
            .bind(&employee.code)
            .bind(&employee.last_name)
            .bind(&employee.first_name)
            .bind(&employee.employment_type)
            .bind(company_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(Missing::Employee(id)));
            }
            let mut scope = Scope::default();
            let schedules = crate::pipeline::schedules(&mut tx, company_id, &[id]).await?;
            let schedule = schedules.get(&id).cloned().unwrap_or_default();
            Store::set_employee_department(&mut tx, &ctx, id, &schedule, dept, from, &mut scope).await?;
            crate::pipeline::rederive(&mut tx, self.backend, &ctx, &scope).await
        }
        .await;
        self.settle(tx, result, apply).await
    }

    /// [削除]: marks a live employee deleted; its punches and key stay.
    pub async fn delete_employee(&self, company_id: i64, id: i64) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE employees SET deleted_at_ms = $1 WHERE company_id = $2 AND id = $3 AND deleted_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(company_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(Missing::Employee(id)));
        }
        tx.commit().await?;
        Ok(())
    }

    /// [削除済み従業員の復帰]: makes a deleted employee live again, with its key, punches and (after
    /// 連携実行) its サービスアカウント. `Conflict` when a live employee now has its code.
    pub async fn restore_employee(&self, company_id: i64, id: i64) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let code: Option<String> = sqlx::query_scalar(
            "SELECT code FROM employees WHERE company_id = $1 AND id = $2 AND deleted_at_ms IS NOT NULL",
        )
        .bind(company_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(code) = code else {
            return Err(StoreError::NotFound(Missing::DeletedEmployee(id)));
        };
        if live_code_holder(&mut tx, company_id, &code, Some(id)).await?.is_some() {
            return Err(StoreError::Taken(Taken::EmployeeCode(code.clone())));
        }
        sqlx::query("UPDATE employees SET deleted_at_ms = NULL WHERE company_id = $1 AND id = $2")
            .bind(company_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The punches of one employee in `[from, to]`, by business day (days without a punch
    /// are left out).
    pub async fn employee_timecard(
        &self,
        company_id: i64,
        employee_id: i64,
        from: Date,
        to: Date,
    ) -> Result<Vec<TimecardRow>> {
        let code: Option<String> = sqlx::query_scalar("SELECT code FROM employees WHERE company_id = $1 AND id = $2")
            .bind(company_id)
            .bind(employee_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(code) = code else { return Ok(Vec::new()) };
        let remote = crate::port::is_remote(&self.pool, company_id).await?;
        // The relation is one of two constant texts, never input.
        let sql = format!(
            "SELECT business_date, kind, at_ms, method FROM {} p \
             WHERE company_id = $1 AND employee_id = $2 AND business_date >= $3 AND business_date <= $4",
            crate::port::held_punches(remote)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(employee_id)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(&self.pool)
            .await?;
        let mut days: BTreeMap<Date, TimecardRow> = BTreeMap::new();
        for r in rows {
            let date = parse_date(&r.try_get::<String, _>("business_date")?)?;
            let Some(kind) = PunchKind::from_code(r.try_get("kind")?) else { continue };
            let row = days.entry(date).or_insert_with(|| TimecardRow {
                employee_code: code.clone(),
                business_date: date,
                clock_in: None,
                clock_out: None,
            });
            let punch = Some(PunchView { at_ms: r.try_get("at_ms")?, method: r.try_get("method")? });
            match kind {
                PunchKind::ClockIn => row.clock_in = punch,
                PunchKind::ClockOut => row.clock_out = punch,
            }
        }
        Ok(days.into_values().collect())
    }
}

pub(crate) fn day_change_minutes(change: DayChangeTime) -> i64 {
    i64::from(change.hour()) * 60 + i64::from(change.minute())
}

fn department_from_row(r: &sqlx::any::AnyRow) -> Result<Department> {
    Ok(Department {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        day_change: minutes_to_day_change(r.try_get("day_change_minutes")?)?,
    })
}

/// Reads the columns of `employee_columns!`.
fn employee_from_row(r: &sqlx::any::AnyRow) -> Result<Employee> {
    Ok(Employee {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        last_name: r.try_get("last_name")?,
        first_name: r.try_get("first_name")?,
        department_code: r.try_get("department_code")?,
        department_name: r.try_get("department_name")?,
        employment_type: r.try_get("employment_type")?,
        deleted_at_ms: r.try_get("deleted_at_ms")?,
    })
}

async fn department_id(tx: &mut sqlx::Transaction<'static, sqlx::Any>, company_id: i64, code: &str) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE company_id = $1 AND code = $2")
        .bind(company_id)
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    id.ok_or_else(|| StoreError::NotFound(Missing::DepartmentCode(code.to_string())))
}

/// The live employee (other than `except`) that has this code.
async fn live_code_holder(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    company_id: i64,
    code: &str,
    except: Option<i64>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM employees WHERE company_id = $1 AND code = $2 AND deleted_at_ms IS NULL \
         AND ($3 IS NULL OR id <> $3)",
    )
    .bind(company_id)
    .bind(code)
    .bind(except)
    .fetch_optional(&mut **tx)
    .await?)
}

pub(crate) fn minutes_to_day_change(minutes: i64) -> Result<DayChangeTime> {
    let bad = || StoreError::corrupt(format!("day change time {minutes}"));
    let (h, m) = (u8::try_from(minutes / 60).map_err(|_| bad())?, u8::try_from(minutes % 60).map_err(|_| bad())?);
    DayChangeTime::from_hm(h, m).map_err(|_| bad())
}
