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
//! - **Punches are recomputed, not accumulated.** Each newly stored log belongs to the employee
//!   who held its account at its event time and to that employee's business day by the
//!   history of 所属 and 日付変更時間; those employee-days are derived again from all their
//!   inputs by the one pipeline ([`crate::pipeline`]): the result does not depend on arrival
//!   order, and a punch is never written twice. Other methods' punches win by precedence.
//! - **Crash at any step** rolls the whole transaction back: the connector did not get an
//!   answer, keeps the rows, and sends them again.
//!
//! Rows are inserted in (event time, key) order so that concurrent batches on PostgreSQL
//! take index locks in the same order, and each employee's days are recomputed under a
//! transaction-scoped advisory lock so that two processes never derive from stale sets.

use std::collections::BTreeMap;
use std::time::Duration;

use ingest_protocol::{ConnectorInfo, IngestRow};
use loginrec_rules::bare_account;
use sqlx::Row;

use crate::pipeline::{self, CompanyContext};
use crate::{Company, Result, Store, StoreError, now_ms};

/// A row that passed validation, ready to store.
pub type AcceptedRow = IngestRow;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted: u64,
    pub duplicate: u64,
    /// Punches created or moved by this batch.
    pub punches_written: u64,
}

/// Rows per multi-row INSERT: few round trips, and few enough parameters (14 a row) for
/// SQLite to prepare quickly.
const INSERT_CHUNK: usize = 100;
/// On SQLite, binding costs grow with the square of a statement's parameters (each bind looks its
/// name up in a list), while a statement costs no round trip: smaller statements are faster
/// (`perf` on `loginrec bench ingest`: `sqlite3_bind_parameter_name` took 16 % of the run at 100
/// rows a statement).
const INSERT_CHUNK_SQLITE: usize = 25;

/// Parameters of one row of [`insert_logs_sql`].
const LOG_COLUMNS: usize = 14;

/// `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING` for `rows` rows; the same text
/// for the same count, so the prepared statement is reused.
fn insert_logs_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO logs (company_id, event_at_ms, idem_key, user_name, account, kind, recorded_at_ms, \
         sub_manager_no, agent_no, computer_name, connector_id, source_file, source_line, received_at_ms) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        let params: Vec<String> = (1..=LOG_COLUMNS).map(|c| format!("${}", r * LOG_COLUMNS + c)).collect();
        sql.push_str(&params.join(", "));
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (company_id, event_at_ms, idem_key) DO NOTHING RETURNING event_at_ms, idem_key");
    sql
}

impl Store {
    /// Stores a batch of validated rows and derives the punches they change.
    pub async fn ingest(
        &self,
        company: &Company,
        connector: &ConnectorInfo,
        rows: &[AcceptedRow],
    ) -> Result<IngestOutcome> {
        company.tz()?;
        let mut sorted: Vec<&AcceptedRow> = rows.iter().collect();
        sorted.sort_by(|a, b| (a.event_at_ms, &a.key).cmp(&(b.event_at_ms, &b.key)));
        let mut attempt = 0u32;
        loop {
            match self.ingest_once(company, connector, &sorted).await {
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
        connector: &ConnectorInfo,
        rows: &[&AcceptedRow],
    ) -> Result<IngestOutcome> {
        let _guard = self.write_guard().await;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        pipeline::lock_company(&mut tx, self.backend, company.id, false).await?;
        let connector_id = connector_id(&mut tx, company.id, connector).await?;
        let mut outcome = IngestOutcome::default();
        let mut new_logs: Vec<(String, i64)> = Vec::new();
        let chunk_rows = match self.backend {
            crate::Backend::Sqlite => INSERT_CHUNK_SQLITE,
            crate::Backend::Postgres => INSERT_CHUNK,
        };
        for chunk in rows.chunks(chunk_rows) {
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
                    .bind(connector_id)
                    .bind(&row.source_file)
                    .bind(row.source_line.and_then(|l| i64::try_from(l).ok()))
                    .bind(now);
            }
            // Only the rows actually inserted come back; the others were already stored.
            let inserted: Vec<(i64, String)> = query
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("event_at_ms")?, r.try_get("idem_key")?)))
                .collect::<Result<_>>()?;
            let by_key: BTreeMap<(i64, &str), &AcceptedRow> =
                chunk.iter().map(|r| ((r.event_at_ms, r.key.as_str()), *r)).collect();
            for (event_at_ms, key) in &inserted {
                if let Some(row) = by_key.get(&(*event_at_ms, key.as_str())) {
                    new_logs.push((bare_account(&row.user_name).to_string(), *event_at_ms));
                }
            }
            outcome.accepted += inserted.len() as u64;
            outcome.duplicate += (chunk.len() - inserted.len()) as u64;
        }
        let ctx = CompanyContext::load(&mut tx, company.id).await?;
        let (scope, schedules) = pipeline::scope_of_logs(&mut tx, &ctx, &new_logs).await?;
        let recomputed = pipeline::rederive_with(&mut tx, self.backend, &ctx, &scope, Some(schedules)).await?;
        outcome.punches_written = recomputed.punches_changed();
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
}

/// The company's row for this connector version and host, added the first time they are seen:
/// a batch's sender is stored once, not on each of its logs.
async fn connector_id(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    company_id: i64,
    connector: &ConnectorInfo,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO connectors (company_id, version, host) VALUES ($1, $2, $3) \
         ON CONFLICT (company_id, version, host) DO NOTHING",
    )
    .bind(company_id)
    .bind(&connector.version)
    .bind(&connector.host)
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query_scalar("SELECT id FROM connectors WHERE company_id = $1 AND version = $2 AND host = $3")
        .bind(company_id)
        .bind(&connector.version)
        .bind(&connector.host)
        .fetch_one(&mut **tx)
        .await?)
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
