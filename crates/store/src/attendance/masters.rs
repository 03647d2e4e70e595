//! 所属設定 and 従業員設定 of the embedded module: departments with their 日付変更時間 and
//! employees with their 所属, both effective-dated; imports from the masters' CSV.

use loginrec_rules::EmployeeSchedule;
use sqlx::AnyConnection;

use super::*;
use crate::Backend;
use crate::bulk::{json, json_rows};
use crate::history::{DepartmentMove, department_move};
use crate::pipeline::CompanyContext;

impl Attendance<'_> {
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
        let _guard = self.store.write_guard().await;
        let (mut tx, ctx) = self.store.begin_change(company_id).await?;
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
            crate::pipeline::rederive(&mut tx, self.store.backend, &ctx, &scope).await
        }
        .await;
        let recomputed = self.store.settle(tx, result, apply).await?;
        Ok((departments.len(), recomputed))
    }

    pub async fn departments(&self, company_id: i64) -> Result<Vec<DepartmentInput>> {
        let rows =
            sqlx::query("SELECT code, name, day_change_minutes FROM departments WHERE company_id = $1 ORDER BY code")
                .bind(company_id)
                .fetch_all(&self.store.pool)
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
    /// users follow at once when committed, as 連携実行 would make them, in the same transaction.
    pub async fn import_employees(
        &self,
        company_id: i64,
        employees: &[EmployeeInput],
        from: Option<Date>,
        apply: Apply,
    ) -> Result<(usize, Recomputed)> {
        let backend = self.store.backend;
        let _guard = self.store.write_guard().await;
        let (mut tx, ctx) = self.store.begin_change(company_id).await?;
        let result: Result<_> = async {
            let plan = EmployeeImport::plan(&mut tx, backend, &ctx, employees, from).await?;
            plan.write(&mut tx, backend, company_id).await?;
            if let Some(code) = plan.unknown_department {
                return Err(StoreError::NotFound(Missing::DepartmentCode(code.to_string())));
            }
            let recomputed = crate::pipeline::rederive(&mut tx, backend, &ctx, &plan.scope).await?;
            if apply == Apply::Commit {
                crate::users::sync_users_in(&mut tx, backend, company_id).await?;
            }
            Ok(recomputed)
        }
        .await;
        let recomputed = self.store.settle(tx, result, apply).await?;
        Ok((employees.len(), recomputed))
    }

    /// 所属設定: every department of the company, by code.
    pub async fn department_list(&self, company_id: i64) -> Result<Vec<Department>> {
        let rows = sqlx::query(
            "SELECT id, code, name, day_change_minutes FROM departments WHERE company_id = $1 ORDER BY code",
        )
        .bind(company_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    /// One department of the company (`None` for another company's).
    pub async fn department(&self, company_id: i64, id: i64) -> Result<Option<Department>> {
        let row =
            sqlx::query("SELECT id, code, name, day_change_minutes FROM departments WHERE company_id = $1 AND id = $2")
                .bind(company_id)
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    /// Creates a department; `Conflict` when its code is taken.
    pub async fn create_department(&self, company_id: i64, department: &DepartmentInput) -> Result<i64> {
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
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
        let _guard = self.store.write_guard().await;
        let (mut tx, ctx) = self.store.begin_change(company_id).await?;
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
            crate::pipeline::rederive(&mut tx, self.store.backend, &ctx, &scope).await
        }
        .await;
        self.store.settle(tx, result, apply).await
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
        let rows =
            sqlx::query(sql).bind(company_id).bind(i64::from(include_deleted)).fetch_all(&self.store.pool).await?;
        rows.iter().map(employee_from_row).collect()
    }

    /// One employee of the company, live or deleted (`None` for another company's).
    pub async fn employee(&self, company_id: i64, id: i64) -> Result<Option<Employee>> {
        let sql = concat!(
            "SELECT ",
            employee_columns!(),
            " FROM employees e JOIN departments d ON d.id = e.department_id WHERE e.company_id = $1 AND e.id = $2"
        );
        let row = sqlx::query(sql).bind(company_id).bind(id).fetch_optional(&self.store.pool).await?;
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
        let row = sqlx::query(sql).bind(company_id).bind(code).fetch_optional(&self.store.pool).await?;
        row.as_ref().map(employee_from_row).transpose()
    }

    /// The live employees just before and just after `code` in code order, for the time
    /// card's 前の従業員 / 次の従業員.
    pub async fn neighbour_codes(&self, company_id: i64, code: &str) -> Result<(Option<String>, Option<String>)> {
        let before = sqlx::query_scalar(
            "SELECT code FROM employees WHERE company_id = $1 AND deleted_at_ms IS NULL AND code < $2 \
             ORDER BY code DESC LIMIT 1",
        )
        .bind(company_id)
        .bind(code)
        .fetch_optional(&self.store.pool)
        .await?;
        let after = sqlx::query_scalar(
            "SELECT code FROM employees WHERE company_id = $1 AND deleted_at_ms IS NULL AND code > $2 \
             ORDER BY code LIMIT 1",
        )
        .bind(company_id)
        .bind(code)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok((before, after))
    }

    /// Creates an employee with a new immutable key. `Conflict` when a live employee has the
    /// code, `NotFound` for an unknown department. ログイン記録 picks it up on 連携実行.
    pub async fn create_employee(&self, company_id: i64, employee: &EmployeeDetails) -> Result<i64> {
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        let dept = department_id(&mut tx, company_id, &employee.department_code).await?;
        if live_code_holder(&mut tx, company_id, &employee.code, None).await?.is_some() {
            return Err(StoreError::Taken(Taken::EmployeeCode(employee.code.clone())));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id, employment_type) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(company_id)
        .bind(EmployeeKeys::new().next_key())
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
        let _guard = self.store.write_guard().await;
        let (mut tx, ctx) = self.store.begin_change(company_id).await?;
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
            crate::pipeline::rederive(&mut tx, self.store.backend, &ctx, &scope).await
        }
        .await;
        self.store.settle(tx, result, apply).await
    }

    /// [削除]: marks a live employee deleted; its punches and key stay.
    pub async fn delete_employee(&self, company_id: i64, id: i64) -> Result<()> {
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
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
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
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

    /// A department's 日付変更時間 over time: (effective from, time); `None` is "from the
    /// beginning".
    pub async fn department_day_change_history(
        &self,
        company_id: i64,
        department_id: i64,
    ) -> Result<Vec<(Option<Date>, DayChangeTime)>> {
        let mut conn = self.store.pool.acquire().await?;
        let timelines = crate::pipeline::department_timelines(&mut conn, company_id).await?;
        Ok(timelines.get(&department_id).map(|t| t.entries().to_vec()).unwrap_or_default())
    }

    /// An employee's 所属 over time: (effective from, department code).
    pub async fn employee_department_history(
        &self,
        company_id: i64,
        employee_id: i64,
    ) -> Result<Vec<(Option<Date>, String)>> {
        let rows = sqlx::query(
            "SELECT x.effective_from, d.code, d.name FROM employee_departments x \
             JOIN departments d ON d.id = x.department_id WHERE x.company_id = $1 AND x.employee_id = $2",
        )
        .bind(company_id)
        .bind(employee_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out: Vec<(Option<Date>, String)> = rows
            .iter()
            .map(|r| {
                let from: Option<String> = r.try_get("effective_from")?;
                let code: String = r.try_get("code")?;
                let name: String = r.try_get("name")?;
                Ok((from.map(|f| parse_date(&f)).transpose()?, format!("{code} {name}")))
            })
            .collect::<Result<_>>()?;
        out.sort();
        Ok(out)
    }
}

/// A live employee as an import finds it.
struct StoredEmployee {
    id: i64,
    last_name: String,
    first_name: String,
}

/// An employee an import creates: (key, code, last name, first name, department id).
type NewEmployee<'a> = (String, &'a str, &'a str, &'a str, i64);

/// What an employee import writes, worked out in memory from one read of the departments and of
/// the listed employees, and written with a few statements whatever the number of rows. The rows apply in order, as if
/// one at a time against the masters as they were read: for a code listed twice the last names
/// win, and so does the last 所属 that differs from the stored history.
struct EmployeeImport<'a> {
    /// (id, last name, first name) of the employees whose names change.
    renamed: Vec<(i64, &'a str, &'a str)>,
    moved: BTreeMap<i64, DepartmentMove>,
    created: Vec<NewEmployee<'a>>,
    /// The employee-days the moves may change.
    scope: Scope,
    /// The first department code the company does not have. The rows before it are planned and
    /// written all the same, so that a code listed twice among them fails on the live-code
    /// index first, as it did when rows were written one at a time.
    unknown_department: Option<&'a str>,
}

impl<'a> EmployeeImport<'a> {
    async fn plan(
        conn: &mut AnyConnection,
        backend: Backend,
        ctx: &CompanyContext,
        employees: &'a [EmployeeInput],
        from: Option<Date>,
    ) -> Result<EmployeeImport<'a>> {
        let departments = department_ids(conn, ctx.id).await?;
        let live = live_employees(conn, backend, ctx.id, employees).await?;
        let existing: Vec<i64> = employees.iter().filter_map(|e| live.get(&e.code).map(|s| s.id)).collect();
        let schedules = crate::pipeline::schedules(conn, ctx.id, &existing).await?;
        let no_schedule = EmployeeSchedule::default();
        let now = jiff::Timestamp::now();
        let mut plan = EmployeeImport {
            renamed: Vec::new(),
            moved: BTreeMap::new(),
            created: Vec::new(),
            scope: Scope::default(),
            unknown_department: None,
        };
        let mut names: BTreeMap<i64, (&StoredEmployee, &'a str, &'a str)> = BTreeMap::new();
        let mut keys = EmployeeKeys::new();
        for e in employees {
            let Some(&dept) = departments.get(&e.department_code) else {
                plan.unknown_department = Some(&e.department_code);
                break;
            };
            let Some(stored) = live.get(&e.code) else {
                plan.created.push((keys.next_key(), &e.code, &e.last_name, &e.first_name, dept));
                continue;
            };
            names.insert(stored.id, (stored, &e.last_name, &e.first_name));
            let schedule = schedules.get(&stored.id).unwrap_or(&no_schedule);
            if let Some(moved) = department_move(ctx, schedule, dept, from, now) {
                if let Some(days) = moved.days {
                    plan.scope.add(stored.id, days);
                }
                plan.moved.insert(stored.id, moved);
            }
        }
        plan.renamed = names
            .into_values()
            .filter(|(stored, last, first)| (stored.last_name.as_str(), stored.first_name.as_str()) != (*last, *first))
            .map(|(stored, last, first)| (stored.id, last, first))
            .collect();
        Ok(plan)
    }

    async fn write(&self, conn: &mut AnyConnection, backend: Backend, company_id: i64) -> Result<()> {
        rename_employees(conn, backend, company_id, &self.renamed).await?;
        Store::write_department_moves(conn, backend, company_id, &self.moved).await?;
        insert_employees(conn, backend, company_id, &self.created).await
    }
}

/// The company's department ids by code.
async fn department_ids(conn: &mut AnyConnection, company_id: i64) -> Result<BTreeMap<String, i64>> {
    sqlx::query("SELECT code, id FROM departments WHERE company_id = $1")
        .bind(company_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("id")?)))
        .collect()
}

/// The live employees that have the listed codes, by code: the import's rows, not the whole
/// company, so that adding a few employees to a large company reads a few.
async fn live_employees(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
    employees: &[EmployeeInput],
) -> Result<BTreeMap<String, StoredEmployee>> {
    let codes: Vec<(&str,)> = employees.iter().map(|e| (e.code.as_str(),)).collect();
    let sql = format!(
        "SELECT code, id, last_name, first_name FROM employees WHERE company_id = $1 AND deleted_at_ms IS NULL \
         AND code IN (SELECT value->>0 FROM {})",
        json_rows(backend, 2)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(company_id)
        .bind(json(&codes))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            let stored = StoredEmployee {
                id: r.try_get("id")?,
                last_name: r.try_get("last_name")?,
                first_name: r.try_get("first_name")?,
            };
            Ok((r.try_get("code")?, stored))
        })
        .collect()
}

async fn rename_employees(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
    renamed: &[(i64, &str, &str)],
) -> Result<()> {
    if renamed.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "WITH v AS MATERIALIZED (SELECT CAST(value->>0 AS BIGINT) AS id, value->>1 AS last_name, \
         value->>2 AS first_name FROM {}) \
         UPDATE employees SET last_name = v.last_name, first_name = v.first_name FROM v \
         WHERE employees.company_id = $1 AND employees.id = v.id",
        json_rows(backend, 2)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(json(renamed)).execute(&mut *conn).await?;
    Ok(())
}

/// Creates the employees, in the order given, each with its first 所属 holding from the
/// beginning.
async fn insert_employees(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
    created: &[NewEmployee<'_>],
) -> Result<()> {
    if created.is_empty() {
        return Ok(());
    }
    let rows = json(created);
    let employees = format!(
        "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id) \
         SELECT $1, value->>0, value->>1, value->>2, value->>3, CAST(value->>4 AS BIGINT) FROM {} ORDER BY j.key",
        json_rows(backend, 2)
    );
    match backend {
        // One statement: the 所属 rows come from what the insert hands back. Finding the
        // employees again by key cost PostgreSQL a hash of the keys spilled to disk and a sort:
        // at 100 000 employees the two statements took 1.78 s + 2.09 s, this one 3.02 s.
        Backend::Postgres => {
            let both = format!(
                "WITH e AS ({employees} RETURNING company_id, id, department_id) \
                 INSERT INTO employee_departments (company_id, employee_id, effective_from, department_id) \
                 SELECT company_id, id, NULL, department_id FROM e ORDER BY id"
            );
            sqlx::query(sqlx::AssertSqlSafe(both)).bind(company_id).bind(&rows).execute(&mut *conn).await?;
        }
        // SQLite takes no INSERT inside WITH: the employees are found again by their keys, which
        // are unique per company.
        Backend::Sqlite => {
            sqlx::query(sqlx::AssertSqlSafe(employees)).bind(company_id).bind(&rows).execute(&mut *conn).await?;
            let departments = format!(
                "INSERT INTO employee_departments (company_id, employee_id, effective_from, department_id) \
                 SELECT e.company_id, e.id, NULL, e.department_id FROM employees e \
                 WHERE e.company_id = $1 AND e.employee_key IN (SELECT value->>0 FROM {}) ORDER BY e.id",
                json_rows(backend, 2)
            );
            sqlx::query(sqlx::AssertSqlSafe(departments)).bind(company_id).bind(&rows).execute(&mut *conn).await?;
        }
    }
    Ok(())
}
