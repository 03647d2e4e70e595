//! What 日別データ and the time card show: the punches the company's attendance system holds
//! (the embedded module's, or in remote mode what was sent or is queued; see `crate::port`).

use super::*;

impl Attendance<'_> {
    /// 日別データ: the live employees the filter names (all departments when it names none),
    /// each with the punches of its date, ordered and paged in the database.
    pub async fn daily(&self, company_id: i64, filter: &DailyFilter) -> Result<DailyPage> {
        let department = filter.department_code.as_deref().filter(|code| !code.is_empty());
        let total = self.live_employee_count(company_id, department).await?;
        let held = crate::port::held_punches(crate::port::is_remote(&self.store.pool, company_id).await?);
        let page: Vec<(i64,)> =
            self.daily_page_ids(company_id, filter, held, total).await?.into_iter().map(|id| (id,)).collect();
        if page.is_empty() {
            return Ok(DailyPage { rows: Vec::new(), total });
        }
        // Driven by the list of ids, each reaching its employee by primary key: an `IN (list)`
        // let PostgreSQL compare every employee of the company with every id (minutes when the
        // page is every employee, as the CSV export asks).
        let sql = format!(
            "SELECT {}, pi.at_ms AS in_at, pi.method AS in_method, po.at_ms AS out_at, po.method AS out_method \
             FROM {} CROSS JOIN employees e JOIN departments d ON d.id = e.department_id \
             LEFT JOIN {held} pi ON pi.company_id = e.company_id AND pi.employee_id = e.id \
               AND pi.business_date = $1 AND pi.kind = {} \
             LEFT JOIN {held} po ON po.company_id = e.company_id AND po.employee_id = e.id \
               AND po.business_date = $1 AND po.kind = {} \
             WHERE e.id = CAST(j.value->>0 AS BIGINT)",
            employee_columns!(),
            crate::bulk::json_rows(self.store.backend, 2),
            PunchKind::ClockIn.code(),
            PunchKind::ClockOut.code(),
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.date.to_string())
            .bind(crate::bulk::json(&page))
            .fetch_all(&self.store.pool)
            .await?;
        let position: BTreeMap<i64, usize> = page.iter().enumerate().map(|(i, (id,))| (*id, i)).collect();
        rows.sort_by_cached_key(|r| r.try_get::<i64, _>("id").ok().and_then(|id| position.get(&id).copied()));
        let punch = |r: &sqlx::any::AnyRow, at: &str, method: &str| -> Result<Option<PunchView>> {
            let at_ms: Option<i64> = r.try_get(at)?;
            Ok(match at_ms {
                Some(at_ms) => Some(PunchView { at_ms, method: r.try_get(method)? }),
                None => None,
            })
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let employee = employee_from_row(r)?;
            out.push(DailyRow {
                employee_id: employee.id,
                full_name: employee.full_name(),
                employee_code: employee.code,
                last_name: employee.last_name,
                first_name: employee.first_name,
                department_code: employee.department_code,
                department_name: employee.department_name,
                employment_type: employee.employment_type,
                clock_in: punch(r, "in_at", "in_method")?,
                clock_out: punch(r, "out_at", "out_method")?,
            });
        }
        Ok(DailyPage { rows: out, total })
    }

    /// Every employee and business day in `[from, to]` that has a punch, by code then date.
    pub async fn timecard(&self, company_id: i64, from: Date, to: Date) -> Result<Vec<TimecardRow>> {
        let codes: BTreeMap<i64, String> = sqlx::query("SELECT id, code FROM employees WHERE company_id = $1")
            .bind(company_id)
            .fetch_all(&self.store.pool)
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

    pub(crate) async fn punches_between(
        &self,
        company_id: i64,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<(i64, Date), BTreeMap<PunchKind, PunchView>>> {
        let remote = crate::port::is_remote(&self.store.pool, company_id).await?;
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
            .fetch_all(&self.store.pool)
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
            .fetch_optional(&self.store.pool)
            .await?;
        let Some(code) = code else { return Ok(Vec::new()) };
        let remote = crate::port::is_remote(&self.store.pool, company_id).await?;
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
            .fetch_all(&self.store.pool)
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
