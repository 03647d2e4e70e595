//! What the held punches add up to. Each employee's business days are read once (出勤, 退勤
//! and the break punches the API received, from the start of the first day's week) and added up
//! by [`loginrec_rules::work_time`]: 日別データ, the time card, 月別データ and the KOT-shaped API all
//! come through here, so a day never adds up differently on two of them.

use std::collections::BTreeMap;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use loginrec_rules::work_time::{DayWork, WorkDay, WorkRules, days_work};
use sqlx::Row;

use super::*;
use crate::bulk::{json, json_rows};
use crate::pipeline::read::ts;

/// The company's choices what the days add up to depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkSettings {
    pub rules: WorkRules,
    /// The month the 36協定 year starts in (1–12).
    pub agreement_month: i8,
}

/// Which employees to add up.
#[derive(Clone, Copy, Debug)]
pub enum WorkOf<'a> {
    /// Every employee of the company.
    Everyone,
    /// These employees, by id.
    Employees(&'a [i64]),
}

impl Attendance<'_> {
    /// The figures of each business day in `[from, to]` that has a punch, for each employee
    /// `of` names, by employee id and in date order; `today` is the company's current business
    /// day.
    pub async fn work(
        &self,
        company_id: i64,
        of: WorkOf<'_>,
        from: Date,
        to: Date,
        today: Date,
    ) -> Result<BTreeMap<i64, Vec<DayWork>>> {
        let tz_name: String = sqlx::query_scalar("SELECT time_zone FROM companies WHERE id = $1")
            .bind(company_id)
            .fetch_one(&self.store.pool)
            .await?;
        let tz = crate::time_zone(&tz_name)?;
        let rules = self.work_settings(company_id).await?.rules;
        // The week of the first day may start up to six days before it.
        let read_from = from.checked_sub(6.days()).unwrap_or(from);
        let days = self.work_days(company_id, of, read_from, to).await?;
        let mut out = BTreeMap::new();
        for (employee, days) in days {
            let days: Vec<WorkDay> = days.into_values().collect();
            out.insert(employee, days_work(&days, from, to, today, &tz, rules));
        }
        Ok(out)
    }

    /// The company's 法定休日 and 36協定 year (Sunday and April until it says otherwise).
    pub async fn work_settings(&self, company_id: i64) -> Result<WorkSettings> {
        let r = sqlx::query("SELECT legal_day_off, agreement_year_start_month FROM companies WHERE id = $1")
            .bind(company_id)
            .fetch_one(&self.store.pool)
            .await?;
        let day_off: i64 = r.try_get("legal_day_off")?;
        let month: i64 = r.try_get("agreement_year_start_month")?;
        let legal_day_off = i8::try_from(day_off)
            .ok()
            .and_then(|d| Weekday::from_sunday_zero_offset(d).ok())
            .ok_or_else(|| StoreError::corrupt(format!("a company's legal day off {day_off}")))?;
        let agreement_month = i8::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| StoreError::corrupt(format!("a company's 36協定 month {month}")))?;
        Ok(WorkSettings { rules: WorkRules { legal_day_off, ..WorkRules::default() }, agreement_month })
    }

    /// Sets the company's 法定休日 and the month its 36協定 year starts in; a changed 法定休日
    /// changes every month's 時間外 and 休日労働, so every month is added up again for 診断.
    pub async fn set_work_settings(&self, company_id: i64, legal_day_off: Weekday, agreement_month: i64) -> Result<()> {
        if !(1..=12).contains(&agreement_month) {
            return Err(StoreError::Refused(crate::Refusal::AgreementMonth(agreement_month)));
        }
        let before = self.work_settings(company_id).await?;
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        sqlx::query("UPDATE companies SET legal_day_off = $1, agreement_year_start_month = $2 WHERE id = $3")
            .bind(i64::from(legal_day_off.to_sunday_zero_offset()))
            .bind(agreement_month)
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
        if before.rules.legal_day_off != legal_day_off {
            sqlx::query(
                "INSERT INTO work_months_stale (company_id, employee_id, month, marked_at_ms) \
                 SELECT company_id, employee_id, month, $2 FROM work_months WHERE company_id = $1 \
                 ON CONFLICT (company_id, employee_id, month) DO UPDATE SET marked_at_ms = excluded.marked_at_ms",
            )
            .bind(company_id)
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The 出勤, 退勤 and break punches of `[from, to]`, by employee and business day.
    async fn work_days(
        &self,
        company_id: i64,
        of: WorkOf<'_>,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<i64, BTreeMap<Date, WorkDay>>> {
        let held = crate::port::held_punches(crate::port::is_remote(&self.store.pool, company_id).await?);
        // Either the company's rows, or those of the ids in `$2` (each reaching its rows by the
        // employee's index); the texts are constants, never input.
        let (source, employee) = match of {
            WorkOf::Everyone => (String::new(), "$2 IS NULL"),
            WorkOf::Employees(_) => (
                format!("{} CROSS JOIN ", json_rows(self.store.backend, 2)),
                "p.employee_id = CAST(j.value->>0 AS BIGINT)",
            ),
        };
        let ids = match of {
            WorkOf::Everyone => None,
            WorkOf::Employees(ids) => Some(json(&ids.iter().map(|id| (*id,)).collect::<Vec<_>>())),
        };
        let mut days: BTreeMap<i64, BTreeMap<Date, WorkDay>> = BTreeMap::new();
        let sql = format!(
            "SELECT p.employee_id, p.business_date, p.kind, p.at_ms FROM {source}{held} p \
             WHERE p.company_id = $1 AND {employee} AND p.business_date >= $3 AND p.business_date <= $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(ids.clone())
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        for r in &rows {
            let date = parse_date(&r.try_get::<String, _>("business_date")?)?;
            let at = ts(r.try_get("at_ms")?)?;
            let day = days
                .entry(r.try_get("employee_id")?)
                .or_default()
                .entry(date)
                .or_insert_with(|| WorkDay { date, ..WorkDay::default() });
            match PunchKind::from_code(r.try_get::<i64, _>("kind")?) {
                Some(PunchKind::ClockIn) => day.clock_in = Some(at),
                Some(PunchKind::ClockOut) => day.clock_out = Some(at),
                None => {}
            }
        }
        // Break punches (codes 3 and 4) as the API received them, paired in time order.
        let sql = format!(
            "SELECT p.employee_id, p.date, p.code, p.at_ms FROM {source}api_timerecords p \
             WHERE p.company_id = $1 AND {employee} AND p.date >= $3 AND p.date <= $4 AND p.code IN (3, 4) \
             ORDER BY p.employee_id, p.date, p.at_ms"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(ids)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        let mut open: BTreeMap<(i64, Date), Timestamp> = BTreeMap::new();
        for r in &rows {
            let date = parse_date(&r.try_get::<String, _>("date")?)?;
            let employee: i64 = r.try_get("employee_id")?;
            let at = ts(r.try_get("at_ms")?)?;
            if r.try_get::<i64, _>("code")? == 3 {
                open.insert((employee, date), at);
            } else if let Some(start) = open.remove(&(employee, date)) {
                days.entry(employee)
                    .or_default()
                    .entry(date)
                    .or_insert_with(|| WorkDay { date, ..WorkDay::default() })
                    .breaks
                    .push((start, at));
            }
        }
        Ok(days)
    }
}
