//! The ingest transaction: a batch of LanScope rows becomes stored logs and punches.
//!
//! Guarantees, on SQLite and PostgreSQL alike:
//! - **Committed before answered.** The rows of a batch, the derived punches and the
//!   company's "last received" mark are written in one transaction; the caller answers the
//!   connector only after [`Store::ingest`] returned, so an acknowledged row is durable.
//! - **Once.** Logs are inserted with `ON CONFLICT DO NOTHING` on the unique, time-ordered key
//!   (company, event time, idempotency key): a re-sent row, a re-exported file, or the same
//!   batch sent to two server processes at once stores each log once; the second is counted
//!   as a duplicate.
//! - **Punches are recomputed, not accumulated.** For every (employee, business day) touched
//!   by a newly stored log, the day's punches are derived again from all its stored logs by
//!   the pure rule (`derive_day_punches`) and upserted on (company, employee, day, kind): the
//!   result does not depend on arrival order, and a punch is never written twice.
//! - **Other methods win.** A punch not made by PC (manual, IC card) is never overwritten.
//! - **Crash at any step** rolls the whole transaction back: the connector did not get an
//!   answer, keeps the rows, and sends them again.
//!
//! Rows are inserted in (event time, key) order so that concurrent batches on PostgreSQL
//! take index locks in the same order, and each employee's days are recomputed under a
//! transaction-scoped advisory lock so that two processes never derive from stale sets.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ingest_protocol::{ConnectorInfo, IngestRow};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use loginrec_rules::{
    DayChangeTime, DayLog, PunchKind, bare_account, business_day, business_day_window, derive_day_punches,
};
use sqlx::{Any, Row, Transaction};

use crate::attendance::minutes_to_day_change;
use crate::{Backend, Company, Result, Store, StoreError, now_ms};

/// A row that passed validation, ready to store.
pub type AcceptedRow = IngestRow;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub duplicate: u64,
    /// Punches created or moved by this batch.
    pub punches_written: u64,
}

/// Rows per multi-row INSERT: few round trips, and few enough parameters (15 a row) for
/// SQLite to prepare quickly.
const INSERT_CHUNK: usize = 100;

/// `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING` for `rows` rows; the same text
/// for the same count, so the prepared statement is reused.
fn insert_logs_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO logs (company_id, event_at_ms, idem_key, user_name, account, kind, recorded_at_ms, \
         sub_manager_no, agent_no, computer_name, connector_version, connector_host, source_file, source_line, \
         received_at_ms) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        let params: Vec<String> = (1..=15).map(|c| format!("${}", r * 15 + c)).collect();
        sql.push_str(&params.join(", "));
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (company_id, event_at_ms, idem_key) DO NOTHING RETURNING event_at_ms, idem_key");
    sql
}

/// Namespace of the advisory locks that serialise punch derivation per employee.
pub(crate) const PUNCH_LOCK_NAMESPACE: i64 = 1 << 56;

impl Store {
    /// Stores a batch of validated rows and derives the punches they change.
    pub async fn ingest(
        &self,
        company: &Company,
        connector: &ConnectorInfo,
        rows: &[AcceptedRow],
    ) -> Result<IngestOutcome> {
        let tz = company.tz()?;
        let mut sorted: Vec<&AcceptedRow> = rows.iter().collect();
        sorted.sort_by(|a, b| (a.event_at_ms, &a.key).cmp(&(b.event_at_ms, &b.key)));
        let mut attempt = 0u32;
        loop {
            match self.ingest_once(company, &tz, connector, &sorted).await {
                Err(StoreError::Database(e)) if is_retryable(&e) && attempt < 8 => {
                    attempt += 1;
                    tracing::debug!(company = %company.code, attempt, error = %e, "Retrying an ingest transaction.");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn ingest_once(
        &self,
        company: &Company,
        tz: &TimeZone,
        connector: &ConnectorInfo,
        rows: &[&AcceptedRow],
    ) -> Result<IngestOutcome> {
        let _guard = self.write_guard().await;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut outcome = IngestOutcome::default();
        let mut new_logs: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for chunk in rows.chunks(INSERT_CHUNK) {
            let sql = insert_logs_sql(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                query = query
                    .bind(company.id)
                    .bind(row.event_at_ms)
                    .bind(&row.key)
                    .bind(&row.user_name)
                    .bind(bare_account(&row.user_name))
                    .bind(row.kind.as_str())
                    .bind(row.recorded_at_ms)
                    .bind(&row.sub_manager_no)
                    .bind(&row.agent_no)
                    .bind(&row.computer_name)
                    .bind(&connector.version)
                    .bind(&connector.host)
                    .bind(&row.source_file)
                    .bind(row.source_line.and_then(|l| i64::try_from(l).ok()))
                    .bind(now);
            }
            // Only the rows actually inserted come back; the others were already stored.
            let inserted: Vec<(i64, String)> = query
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_>>()?;
            let by_key: BTreeMap<(i64, &str), &AcceptedRow> =
                chunk.iter().map(|r| ((r.event_at_ms, r.key.as_str()), *r)).collect();
            for (event_at_ms, key) in &inserted {
                if let Some(row) = by_key.get(&(*event_at_ms, key.as_str())) {
                    new_logs.entry(bare_account(&row.user_name)).or_default().push(*event_at_ms);
                }
            }
            outcome.accepted += inserted.len() as u64;
            outcome.duplicate += (chunk.len() - inserted.len()) as u64;
        }
        let mut days = BTreeSet::new();
        for (account, times) in &new_logs {
            let Some((employee_id, change)) = linked_employee(&mut *tx, company.id, account).await? else {
                continue;
            };
            for &ms in times {
                let at = Timestamp::from_millisecond(ms).map_err(|e| StoreError::Invalid(e.to_string()))?;
                days.insert(EmployeeDay {
                    employee_id,
                    account: account.to_string(),
                    date: business_day(at, tz, change),
                    change,
                });
            }
        }
        outcome.punches_written = self.rederive_days(&mut tx, company.id, tz, &days).await?;
        if company.remote_base_url.is_some() {
            let settle: i64 = sqlx::query_scalar("SELECT remote_settle_minutes FROM companies WHERE id = $1")
                .bind(company.id)
                .fetch_one(&mut *tx)
                .await?;
            self.enqueue_remote(&mut tx, company.id, tz, settle, &days).await?;
        }
        tx.commit().await?;
        if !rows.is_empty() {
            // Outside the transaction and at most once a minute: concurrent batches of one
            // company would otherwise queue behind this row's lock until each commit.
            sqlx::query(
                "UPDATE companies SET last_ingest_at_ms = $1, connector_version = $2, connector_host = $3, \
                 connector_collection_start = COALESCE($4, connector_collection_start) WHERE id = $5 \
                 AND (last_ingest_at_ms IS NULL OR last_ingest_at_ms < $1 - 60000 OR connector_version IS NULL \
                      OR connector_version <> $2 OR connector_host <> $3)",
            )
            .bind(now)
            .bind(&connector.version)
            .bind(&connector.host)
            .bind(&connector.collection_start)
            .bind(company.id)
            .execute(&self.pool)
            .await?;
        }
        Ok(outcome)
    }

    /// Derives again the punches of the given employee days, inside the caller's transaction.
    pub(crate) async fn rederive_days(
        &self,
        tx: &mut Transaction<'static, Any>,
        company_id: i64,
        tz: &TimeZone,
        days: &BTreeSet<EmployeeDay>,
    ) -> Result<u64> {
        if self.backend == Backend::Postgres {
            let employees: BTreeSet<i64> = days.iter().map(|d| d.employee_id).collect();
            for id in employees {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PUNCH_LOCK_NAMESPACE | id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        let mut written = 0;
        let now = now_ms();
        for day in days {
            written += rederive_day(tx, company_id, tz, day, now).await?;
        }
        Ok(written)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EmployeeDay {
    pub employee_id: i64,
    pub account: String,
    pub date: Date,
    pub change: DayChangeTime,
}

/// The live employee a サービスアカウント is linked to, with its department's 日付変更時間.
pub(crate) async fn linked_employee<'e, E>(
    executor: E,
    company_id: i64,
    account: &str,
) -> Result<Option<(i64, DayChangeTime)>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT e.id, d.day_change_minutes FROM lr_users u \
         JOIN employees e ON e.company_id = u.company_id AND e.employee_key = u.employee_key AND e.deleted_at_ms IS NULL \
         JOIN departments d ON d.id = e.department_id \
         WHERE u.company_id = $1 AND u.service_account = $2 AND u.removed_at_ms IS NULL",
    )
    .bind(company_id)
    .bind(account)
    .fetch_optional(executor)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((r.try_get(0)?, minutes_to_day_change(r.try_get(1)?)?))),
    }
}

async fn rederive_day(
    tx: &mut Transaction<'static, Any>,
    company_id: i64,
    tz: &TimeZone,
    day: &EmployeeDay,
    now: i64,
) -> Result<u64> {
    let (start, end) = business_day_window(day.date, tz, day.change);
    let logs: Vec<DayLog> = sqlx::query(
        "SELECT event_at_ms, idem_key FROM logs WHERE company_id = $1 AND account = $2 \
         AND event_at_ms >= $3 AND event_at_ms < $4",
    )
    .bind(company_id)
    .bind(&day.account)
    .bind(start.as_millisecond())
    .bind(end.as_millisecond())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        let at = Timestamp::from_millisecond(r.try_get(0)?).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(DayLog { at, key: r.try_get(1)? })
    })
    .collect::<Result<_>>()?;
    let date = day.date.to_string();
    let other_clock_in: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM punches WHERE company_id = $1 AND employee_id = $2 AND business_date = $3 \
         AND kind = $4 AND method <> 'PC'",
    )
    .bind(company_id)
    .bind(day.employee_id)
    .bind(&date)
    .bind(i64::from(PunchKind::ClockIn.code()))
    .fetch_optional(&mut **tx)
    .await?;
    let punches = derive_day_punches(&logs, other_clock_in.is_some());
    let mut written = 0;
    for kind in [PunchKind::ClockIn, PunchKind::ClockOut] {
        let code = i64::from(kind.code());
        match punches.get(kind) {
            Some(at) => {
                written += sqlx::query(
                    "INSERT INTO punches (company_id, employee_id, business_date, kind, at_ms, method, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'PC', $6) \
                     ON CONFLICT (company_id, employee_id, business_date, kind) DO UPDATE \
                     SET at_ms = excluded.at_ms, updated_at_ms = excluded.updated_at_ms \
                     WHERE punches.method = 'PC' AND punches.at_ms <> excluded.at_ms",
                )
                .bind(company_id)
                .bind(day.employee_id)
                .bind(&date)
                .bind(code)
                .bind(at.as_millisecond())
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            }
            None => {
                sqlx::query(
                    "DELETE FROM punches WHERE company_id = $1 AND employee_id = $2 AND business_date = $3 \
                     AND kind = $4 AND method = 'PC'",
                )
                .bind(company_id)
                .bind(day.employee_id)
                .bind(&date)
                .bind(code)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(written)
}

/// Deadlocks and serialisation failures on PostgreSQL, and a busy SQLite, are worth a retry:
/// the transaction was rolled back whole.
fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            matches!(code.as_ref(), "40P01" | "40001" | "5" | "6" | "517")
                || db.message().contains("database is locked")
        }
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}
