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
        let accounts: Vec<&str> = new_logs.keys().copied().collect();
        let linked = linked_employees(&mut tx, company.id, &accounts).await?;
        let mut days = BTreeSet::new();
        for (account, times) in &new_logs {
            let Some(&(employee_id, change)) = linked.get(*account) else {
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
    ///
    /// A handful of statements per batch, whatever its size: the employees' locks, their logs,
    /// the other methods' 出勤, then multi-row upserts and deletes of the PC punches.
    pub(crate) async fn rederive_days(
        &self,
        tx: &mut Transaction<'static, Any>,
        company_id: i64,
        tz: &TimeZone,
        days: &BTreeSet<EmployeeDay>,
    ) -> Result<u64> {
        if days.is_empty() {
            return Ok(0);
        }
        let employees: Vec<i64> = days.iter().map(|d| d.employee_id).collect::<BTreeSet<_>>().into_iter().collect();
        if self.backend == Backend::Postgres {
            // In key order, so that two transactions never wait for each other in a circle.
            for chunk in employees.chunks(1000) {
                let sql = format!(
                    "SELECT pg_advisory_xact_lock(k) FROM (VALUES {}) AS v(k) ORDER BY k",
                    (1..=chunk.len()).map(|i| format!("(${i})")).collect::<Vec<_>>().join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(PUNCH_LOCK_NAMESPACE | id);
                }
                query.execute(&mut **tx).await?;
            }
        }
        let windows: Vec<(&EmployeeDay, i64, i64)> = days
            .iter()
            .map(|d| {
                let (start, end) = business_day_window(d.date, tz, d.change);
                (d, start.as_millisecond(), end.as_millisecond())
            })
            .collect();
        let from = windows.iter().map(|w| w.1).min().unwrap_or(0);
        let to = windows.iter().map(|w| w.2).max().unwrap_or(0);
        let accounts: Vec<&str> =
            days.iter().map(|d| d.account.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut logs: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
        for chunk in accounts.chunks(200) {
            let sql = format!(
                "SELECT account, event_at_ms, idem_key FROM logs WHERE company_id = $1 AND event_at_ms >= $2 \
                 AND event_at_ms < $3 AND account IN ({})",
                params(chunk.len(), 4)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(from).bind(to);
            for account in chunk {
                query = query.bind(*account);
            }
            for r in query.fetch_all(&mut **tx).await? {
                logs.entry(r.try_get(0)?).or_default().push((r.try_get(1)?, r.try_get(2)?));
            }
        }
        let first_date = days.iter().map(|d| d.date).min().map(|d| d.to_string()).unwrap_or_default();
        let last_date = days.iter().map(|d| d.date).max().map(|d| d.to_string()).unwrap_or_default();
        let mut other_clock_ins: BTreeSet<(i64, String)> = BTreeSet::new();
        for chunk in employees.chunks(500) {
            let sql = format!(
                "SELECT employee_id, business_date FROM punches WHERE company_id = $1 AND kind = $2 \
                 AND method <> 'PC' AND business_date >= $3 AND business_date <= $4 AND employee_id IN ({})",
                params(chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(company_id)
                .bind(i64::from(PunchKind::ClockIn.code()))
                .bind(&first_date)
                .bind(&last_date);
            for id in chunk {
                query = query.bind(*id);
            }
            for r in query.fetch_all(&mut **tx).await? {
                other_clock_ins.insert((r.try_get(0)?, r.try_get(1)?));
            }
        }
        let mut upserts: Vec<(i64, String, i64, i64)> = Vec::new();
        let mut deletes: Vec<(i64, String, i64)> = Vec::new();
        for (day, start, end) in &windows {
            let day_logs: Vec<DayLog> = logs
                .get(&day.account)
                .map(|all| {
                    all.iter()
                        .filter(|(ms, _)| start <= ms && ms < end)
                        .filter_map(|(ms, key)| {
                            Timestamp::from_millisecond(*ms).ok().map(|at| DayLog { at, key: key.clone() })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let date = day.date.to_string();
            let other = other_clock_ins.contains(&(day.employee_id, date.clone()));
            let punches = derive_day_punches(&day_logs, other);
            for kind in [PunchKind::ClockIn, PunchKind::ClockOut] {
                let code = i64::from(kind.code());
                match punches.get(kind) {
                    Some(at) => upserts.push((day.employee_id, date.clone(), code, at.as_millisecond())),
                    None => deletes.push((day.employee_id, date.clone(), code)),
                }
            }
        }
        let now = now_ms();
        let mut written = 0;
        for chunk in upserts.chunks(100) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${}, ${}, ${}, ${}, 'PC', $2)", 3 + i * 4, 4 + i * 4, 5 + i * 4, 6 + i * 4))
                .collect();
            let sql = format!(
                "INSERT INTO punches (company_id, employee_id, business_date, kind, at_ms, method, updated_at_ms) \
                 VALUES {} ON CONFLICT (company_id, employee_id, business_date, kind) DO UPDATE \
                 SET at_ms = excluded.at_ms, updated_at_ms = excluded.updated_at_ms \
                 WHERE punches.method = 'PC' AND punches.at_ms <> excluded.at_ms",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(now);
            for (employee_id, date, code, at) in chunk {
                query = query.bind(*employee_id).bind(date).bind(*code).bind(*at);
            }
            written += query.execute(&mut **tx).await?.rows_affected();
        }
        for chunk in deletes.chunks(100) {
            let conditions: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(employee_id = ${} AND business_date = ${} AND kind = ${})",
                        2 + i * 3,
                        3 + i * 3,
                        4 + i * 3
                    )
                })
                .collect();
            let sql = format!(
                "DELETE FROM punches WHERE company_id = $1 AND method = 'PC' AND ({})",
                conditions.join(" OR ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id);
            for (employee_id, date, code) in chunk {
                query = query.bind(*employee_id).bind(date).bind(*code);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(written)
    }
}

/// `$first, $first+1, …`: `count` consecutive placeholders.
fn params(count: usize, first: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EmployeeDay {
    pub employee_id: i64,
    pub account: String,
    pub date: Date,
    pub change: DayChangeTime,
}

/// The live employees the given サービスアカウント are linked to, with their departments'
/// 日付変更時間, in as few statements as the batch allows.
pub(crate) async fn linked_employees(
    conn: &mut sqlx::AnyConnection,
    company_id: i64,
    accounts: &[&str],
) -> Result<BTreeMap<String, (i64, DayChangeTime)>> {
    let mut out = BTreeMap::new();
    for chunk in accounts.chunks(200) {
        let sql = format!(
            "SELECT u.service_account, e.id, d.day_change_minutes FROM lr_users u \
             JOIN employees e ON e.company_id = u.company_id AND e.employee_key = u.employee_key \
                  AND e.deleted_at_ms IS NULL \
             JOIN departments d ON d.id = e.department_id \
             WHERE u.company_id = $1 AND u.removed_at_ms IS NULL AND u.service_account IN ({})",
            params(chunk.len(), 2)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id);
        for account in chunk {
            query = query.bind(*account);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.insert(r.try_get(0)?, (r.try_get(1)?, minutes_to_day_change(r.try_get(2)?)?));
        }
    }
    Ok(out)
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
