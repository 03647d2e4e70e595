//! 乖離: the days whose PC use reaches past the 出勤 and 退勤 declared by other means (手入力,
//! the API) by more than the company's threshold, and the reasons administrators record for
//! them — the record of the investigation the MHLW guideline asks for.
//!
//! The PC side is read from the logs as the pipeline reads them (link history, the department's
//! 日付変更時間 at the date), whatever punches they became: a 手入力 出勤 replaces the PC's in
//! the time card but not in this comparison.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use loginrec_rules::divergence::{Declared, PcUse, divergence};
use loginrec_rules::{DayInputs, DayLog, PunchKind, derive_day_punches, resolve_day};
use sqlx::Row;

use crate::bulk::{json, json_rows};
use crate::pipeline::{CompanyContext, DateRange, Scope, schedules, scope_logs};
use crate::{Missing, Refusal, Result, Store, StoreError, now_ms};

/// The reasons offered to a company that has not set its own.
pub const DEFAULT_REASON_CHOICES: [&str; 5] =
    ["業務 (残業申請あり)", "業務の準備・片付け", "私用でのPC利用", "打刻漏れ・打刻誤り", "その他"];

/// The longest threshold a company can set: a whole day.
pub const MAX_THRESHOLD_MINUTES: i64 = 24 * 60;

/// Which flagged days to list.
#[derive(Clone, Debug, Default)]
pub struct DivergenceFilter {
    /// Inclusive business dates.
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub department_code: Option<String>,
    pub employee_code: Option<String>,
    /// Only days without a recorded reason.
    pub only_unexplained: bool,
}

/// A reason recorded for a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivergenceReason {
    pub reason: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at_ms: i64,
}

/// One declared punch: when, and by which means (`手入力`, `API`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredPunch {
    pub at_ms: i64,
    pub method: String,
}

/// A flagged day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivergenceDay {
    pub business_date: Date,
    pub employee_code: String,
    pub full_name: String,
    pub department_code: String,
    pub department_name: String,
    /// The PC's first and last use of the day (ms).
    pub pc_first_ms: Option<i64>,
    pub pc_last_ms: Option<i64>,
    pub declared_in: Option<DeclaredPunch>,
    pub declared_out: Option<DeclaredPunch>,
    /// 早出 and 居残り, in minutes.
    pub early_minutes: i64,
    pub late_minutes: i64,
    /// The latest reason recorded, if any.
    pub reason: Option<DivergenceReason>,
}

struct Employee {
    code: String,
    full_name: String,
    department_code: String,
    department_name: String,
}

impl Store {
    /// The company's 乖離 threshold in minutes.
    pub async fn divergence_threshold(&self, company_id: i64) -> Result<i64> {
        sqlx::query_scalar("SELECT divergence_threshold_minutes FROM companies WHERE id = $1")
            .bind(company_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Missing::CompanyId(company_id)))
    }

    /// Sets the company's 乖離 threshold: whole minutes, 0 to a day.
    pub async fn set_divergence_threshold(&self, company_id: i64, minutes: i64) -> Result<()> {
        if !(0..=MAX_THRESHOLD_MINUTES).contains(&minutes) {
            return Err(StoreError::Refused(Refusal::DivergenceThreshold(minutes)));
        }
        sqlx::query("UPDATE companies SET divergence_threshold_minutes = $1 WHERE id = $2")
            .bind(minutes)
            .bind(company_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The reasons the company's administrators pick from, in order.
    pub async fn divergence_reason_choices(&self, company_id: i64) -> Result<Vec<String>> {
        let own: Vec<String> =
            sqlx::query_scalar("SELECT label FROM divergence_reason_choices WHERE company_id = $1 ORDER BY position")
                .bind(company_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(if own.is_empty() { DEFAULT_REASON_CHOICES.iter().map(|s| s.to_string()).collect() } else { own })
    }

    /// Replaces the company's reasons: each trimmed, blank ones and repeats dropped; none at all
    /// brings back the defaults. Reasons already recorded keep their text.
    pub async fn set_divergence_reason_choices(&self, company_id: i64, choices: &[String]) -> Result<Vec<String>> {
        let mut seen = BTreeSet::new();
        let kept: Vec<String> =
            choices.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty() && seen.insert(c.clone())).collect();
        if let Some(long) = kept.iter().find(|c| c.chars().count() > 100 || c.chars().any(char::is_control)) {
            return Err(StoreError::Refused(Refusal::ReasonChoice(long.clone())));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM divergence_reason_choices WHERE company_id = $1")
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
        for (position, label) in kept.iter().enumerate() {
            sqlx::query("INSERT INTO divergence_reason_choices (company_id, position, label) VALUES ($1, $2, $3)")
                .bind(company_id)
                .bind(position as i64)
                .bind(label)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.divergence_reason_choices(company_id).await
    }

    /// Records why an employee's day diverges: a reason (one of the company's choices) and free
    /// text, with who recorded it. Earlier reasons of the day are kept.
    pub async fn record_divergence_reason(
        &self,
        company_id: i64,
        employee_code: &str,
        business_date: Date,
        reason: &str,
        note: &str,
        recorded_by: &str,
    ) -> Result<()> {
        let choices = self.divergence_reason_choices(company_id).await?;
        if !choices.iter().any(|c| c == reason) {
            return Err(StoreError::Refused(Refusal::UnknownReason(reason.to_string())));
        }
        if note.chars().count() > 1000 {
            return Err(StoreError::Refused(Refusal::ReasonNote));
        }
        let employee: i64 = sqlx::query_scalar(
            "SELECT id FROM employees WHERE company_id = $1 AND code = $2 AND deleted_at_ms IS NULL",
        )
        .bind(company_id)
        .bind(employee_code)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(Missing::EmployeeCode(employee_code.to_string())))?;
        sqlx::query(
            "INSERT INTO divergence_reasons (company_id, employee_id, business_date, reason, note, recorded_by, \
             recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(company_id)
        .bind(employee)
        .bind(business_date.to_string())
        .bind(reason)
        .bind(note.trim())
        .bind(recorded_by)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The flagged days the filter names, by date then employee code.
    pub async fn divergences(&self, company_id: i64, filter: &DivergenceFilter) -> Result<Vec<DivergenceDay>> {
        let threshold = self.divergence_threshold(company_id).await?;
        let (from, to) = (
            filter.from.map(|d| d.to_string()).unwrap_or_else(|| "0000-01-01".into()),
            filter.to.map(|d| d.to_string()).unwrap_or_else(|| "9999-12-31".into()),
        );
        let mut conn = self.pool.acquire().await?;
        // The declared punches: 手入力 and the API's 出勤 / 退勤 (codes 1 and 2; 3 and 4 are breaks),
        // and in remote mode the remote service's own (read by the worker), taken as the API's.
        let declared = sqlx::query(
            "SELECT employee_id, business_date AS day, kind, at_ms, 'manual' AS source FROM manual_punches \
             WHERE company_id = $1 AND business_date >= $2 AND business_date <= $3 \
             UNION ALL SELECT employee_id, date AS day, code AS kind, at_ms, 'api' AS source FROM api_timerecords \
             WHERE company_id = $1 AND date >= $2 AND date <= $3 AND code IN (1, 2) \
             UNION ALL SELECT employee_id, date AS day, code AS kind, at_ms, 'api' AS source FROM remote_time_records \
             WHERE company_id = $1 AND date >= $2 AND date <= $3",
        )
        .bind(company_id)
        .bind(&from)
        .bind(&to)
        .fetch_all(&mut *conn)
        .await?;
        let mut inputs: BTreeMap<(i64, Date), DayInputs> = BTreeMap::new();
        for r in &declared {
            let day: String = r.try_get("day")?;
            let day: Date = day.parse().map_err(|_| StoreError::corrupt(format!("a stored date {day:?}")))?;
            let at = jiff::Timestamp::from_millisecond(r.try_get("at_ms")?)
                .map_err(|e| StoreError::corrupt(format!("a stored punch time: {e}")))?;
            let kind = PunchKind::from_code(r.try_get::<i64, _>("kind")?);
            let source: String = r.try_get("source")?;
            let day_inputs = inputs.entry((r.try_get("employee_id")?, day)).or_default();
            match (source.as_str(), kind) {
                ("manual", Some(PunchKind::ClockIn)) => day_inputs.manual.clock_in = Some(at),
                ("manual", Some(PunchKind::ClockOut)) => day_inputs.manual.clock_out = Some(at),
                ("api", Some(PunchKind::ClockIn)) => day_inputs.api_clock_ins.push(at),
                ("api", Some(PunchKind::ClockOut)) => day_inputs.api_clock_outs.push(at),
                _ => {}
            }
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<(i64,)> = inputs.keys().map(|(id, _)| (*id,)).collect::<BTreeSet<_>>().into_iter().collect();
        let sql = format!(
            "SELECT e.id, e.code, e.last_name, e.first_name, d.code AS department_code, d.name AS department_name \
             FROM {} CROSS JOIN employees e JOIN departments d ON d.id = e.department_id \
             WHERE e.id = CAST(j.value->>0 AS BIGINT) AND e.company_id = $1 AND e.deleted_at_ms IS NULL",
            json_rows(self.backend, 2)
        );
        let mut employees: BTreeMap<i64, Employee> = BTreeMap::new();
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(json(&ids)).fetch_all(&mut *conn).await? {
            let employee = Employee {
                code: r.try_get("code")?,
                full_name: format!(
                    "{} {}",
                    r.try_get::<String, _>("last_name")?,
                    r.try_get::<String, _>("first_name")?
                ),
                department_code: r.try_get("department_code")?,
                department_name: r.try_get("department_name")?,
            };
            let wanted = filter
                .department_code
                .as_deref()
                .filter(|c| !c.is_empty())
                .is_none_or(|c| c == employee.department_code)
                && filter.employee_code.as_deref().filter(|c| !c.is_empty()).is_none_or(|c| c == employee.code);
            if wanted {
                employees.insert(r.try_get("id")?, employee);
            }
        }
        inputs.retain(|(id, _), _| employees.contains_key(id));
        let mut scope = Scope::default();
        for (id, day) in inputs.keys() {
            scope.add_day(*id, *day);
        }
        let ctx = CompanyContext::load(&mut conn, company_id).await?;
        let schedules = schedules(&mut conn, company_id, &scope.employees()).await?;
        let logs = scope_logs(&mut conn, self.backend, &ctx, &scope, &schedules, None).await?;
        let reasons = self.latest_reasons(company_id, &from, &to).await?;

        let mut out = Vec::new();
        for ((id, day), day_inputs) in &inputs {
            let Some(employee) = employees.get(id) else { continue };
            let day_logs: Vec<DayLog> = logs.get(&(*id, *day)).into_iter().flatten().map(|l| l.log.clone()).collect();
            let pc = derive_day_punches(&day_logs, None);
            let other = resolve_day(&DayInputs { logs: Vec::new(), ..day_inputs.clone() });
            let declared =
                Declared { clock_in: other.clock_in.map(|p| p.at), clock_out: other.clock_out.map(|p| p.at) };
            let pc_use = PcUse { first_logon: pc.clock_in, last_logoff: pc.clock_out.or(pc.clock_in) };
            let Some(found) = divergence(pc_use, declared, threshold) else { continue };
            if !found.flagged {
                continue;
            }
            let reason = reasons.get(&(*id, *day)).cloned();
            if filter.only_unexplained && reason.is_some() {
                continue;
            }
            let punch = |p: Option<loginrec_rules::Punch>| {
                p.map(|p| DeclaredPunch { at_ms: p.at.as_millisecond(), method: p.method.label().to_string() })
            };
            out.push(DivergenceDay {
                business_date: *day,
                employee_code: employee.code.clone(),
                full_name: employee.full_name.clone(),
                department_code: employee.department_code.clone(),
                department_name: employee.department_name.clone(),
                pc_first_ms: pc_use.first_logon.map(|t| t.as_millisecond()),
                pc_last_ms: pc_use.last_logoff.map(|t| t.as_millisecond()),
                declared_in: punch(other.clock_in),
                declared_out: punch(other.clock_out),
                early_minutes: found.early_minutes,
                late_minutes: found.late_minutes,
                reason,
            });
        }
        out.sort_by(|a, b| (a.business_date, &a.employee_code).cmp(&(b.business_date, &b.employee_code)));
        Ok(out)
    }

    /// An employee's PC use of each business day in `[from, to]`, as the timeline draws it: the
    /// logs counted for the employee (link history, the department's 日付変更時間), in time
    /// order, each with whether it is a logon.
    pub async fn pc_use_days(
        &self,
        company_id: i64,
        employee_code: &str,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<Date, Vec<(i64, bool)>>> {
        let mut conn = self.pool.acquire().await?;
        let employee: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM employees WHERE company_id = $1 AND code = $2 ORDER BY deleted_at_ms IS NOT NULL LIMIT 1",
        )
        .bind(company_id)
        .bind(employee_code)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(employee) = employee else { return Ok(BTreeMap::new()) };
        let mut scope = Scope::default();
        scope.add(employee, DateRange { from: Some(from), to: Some(to) });
        let ctx = CompanyContext::load(&mut conn, company_id).await?;
        let schedules = schedules(&mut conn, company_id, &[employee]).await?;
        let logs = scope_logs(&mut conn, self.backend, &ctx, &scope, &schedules, None).await?;
        Ok(logs
            .into_iter()
            .map(|((_, day), mut logs)| {
                logs.sort_by(|a, b| (a.log.at, &a.log.key).cmp(&(b.log.at, &b.log.key)));
                (day, logs.into_iter().map(|l| (l.log.at.as_millisecond(), l.logon)).collect())
            })
            .collect())
    }

    /// The latest reason of each employee-day in `[from, to]`.
    async fn latest_reasons(
        &self,
        company_id: i64,
        from: &str,
        to: &str,
    ) -> Result<BTreeMap<(i64, Date), DivergenceReason>> {
        let rows = sqlx::query(
            "SELECT employee_id, business_date, reason, note, recorded_by, recorded_at_ms FROM divergence_reasons \
             WHERE company_id = $1 AND business_date >= $2 AND business_date <= $3 ORDER BY id",
        )
        .bind(company_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let day: String = r.try_get("business_date")?;
            let day: Date = day.parse().map_err(|_| StoreError::corrupt(format!("a stored date {day:?}")))?;
            out.insert(
                (r.try_get("employee_id")?, day),
                DivergenceReason {
                    reason: r.try_get("reason")?,
                    note: r.try_get("note")?,
                    recorded_by: r.try_get("recorded_by")?,
                    recorded_at_ms: r.try_get("recorded_at_ms")?,
                },
            );
        }
        Ok(out)
    }
}
