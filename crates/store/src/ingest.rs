//! The ingest transaction: a batch of LanScope rows becomes stored logs and punches.
//!
//! Guarantees, on SQLite and PostgreSQL alike:
//! - **Committed before answered.** The rows of a batch, the derived punches and the
//!   company's "last received" mark are written in one transaction; the caller answers the
//!   connector only after [`Store::ingest`] returned, so an acknowledged row is durable.
//! - **Once.** Logs are inserted with `ON CONFLICT DO NOTHING` on the unique key (company,
//!   account, event time, idempotency key): a re-sent row, a re-exported file, or the same
//!   batch sent to two server processes at once stores each log once; the second is counted
//!   as a duplicate. The key follows the account because the manager's files list rows user by
//!   user: a batch writes one stretch of it.
//! - **Punches are recomputed, not accumulated.** Each newly stored log belongs to the employee
//!   who held its account at its event time and to that employee's business day by the
//!   history of 所属 and 日付変更時間; those employee-days are derived again from all their
//!   inputs by the one pipeline ([`crate::pipeline`]): the result does not depend on arrival
//!   order, and a punch is never written twice. Other methods' punches win by precedence.
//! - **Crash at any step** rolls the whole transaction back: the connector did not get an
//!   answer, keeps the rows, and sends them again.
//!
//! Rows are inserted in the unique key's order so that concurrent batches on PostgreSQL
//! take index locks in the same order, and each employee's days are recomputed under a
//! transaction-scoped advisory lock so that two processes never derive from stale sets.

use std::collections::BTreeSet;
use std::time::Duration;

use ingest_protocol::{ConnectorInfo, IngestRow};
use loginrec_rules::bare_account;

use crate::bulk::{Listed, json, json_rows, select_json_given};
use crate::new_rows::insert_new_rows;
use crate::pipeline::{self, CompanyContext};
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

/// `INSERT … SELECT`, with `ON CONFLICT DO NOTHING` when `upsert` (see [`insert_new_rows`]): the
/// batch's rows come as one parameter (`$4`, see [`Listed`]), so the statement is the same text
/// for every batch and binds four parameters whatever its size (one `$N` a field cost O(P²) to
/// bind on SQLite: `sqlite3_bind_parameter_name` was the largest cost of an ingest under `perf`).
/// SQLite needs the `WHERE` to read the `ON CONFLICT` as the upsert's.
fn insert_logs_sql(rows: &Listed, upsert: bool) -> String {
    let (t, n) = (|i| rows.text(i), |i| rows.number(i));
    let on_conflict = if upsert { " ON CONFLICT (company_id, account, event_at_ms, idem_key) DO NOTHING" } else { "" };
    format!(
        "INSERT INTO logs (company_id, event_at_ms, idem_key, user_name, account, kind, recorded_at_ms, \
         sub_manager_no, agent_no, computer_name, connector_id, source_file, source_line, received_at_ms) \
         SELECT $1, {}, {}, {}, {}, {}, {}, {}, {}, {}, $2, {}, {}, $3 \
         FROM {} WHERE 1 = 1 ORDER BY j.key{on_conflict}",
        n(0),
        t(1),
        t(2),
        t(3),
        t(4),
        n(5),
        t(6),
        t(7),
        t(8),
        t(9),
        n(10),
        rows.rows(4)
    )
}

/// One row of [`insert_logs_sql`]'s JSON: the log's fields in the statement's order.
type LogFields<'a> = (
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
);

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
        sorted.sort_by(|a, b| {
            (bare_account(&a.user_name), a.event_at_ms, &a.key).cmp(&(
                bare_account(&b.user_name),
                b.event_at_ms,
                &b.key,
            ))
        });
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
        // Before the batch's transaction: a connector seen for the first time is added at once,
        // and the other batches sent with the first do not wait for its transaction to end.
        let connector_id = connector_id(&mut *self.pool.acquire().await?, company.id, connector).await?;
        let mut tx = self.pool.begin().await?;
        pipeline::lock_company(&mut tx, self.backend, company.id, false).await?;
        let mut outcome = IngestOutcome::default();
        let fields: Vec<LogFields> = rows
            .iter()
            .map(|row| {
                (
                    row.event_at_ms,
                    row.key.as_str(),
                    row.user_name.as_str(),
                    bare_account(&row.user_name),
                    row.kind.as_str(),
                    row.recorded_at_ms,
                    row.sub_manager_no.as_deref(),
                    row.agent_no.as_deref(),
                    row.computer_name.as_deref(),
                    row.source_file.as_deref(),
                    row.source_line.and_then(|l| i64::try_from(l).ok()),
                )
            })
            .collect();
        let listed = Listed::new(self.backend);
        let payload = listed.bind(&fields)?;
        let insert = |upsert: bool| {
            sqlx::query(sqlx::AssertSqlSafe(insert_logs_sql(&listed, upsert)))
                .bind(company.id)
                .bind(connector_id)
                .bind(now)
                .bind(payload.clone())
        };
        let likely_new = self.backend == Backend::Postgres && !ends_stored(&mut tx, company.id, &fields).await?;
        let inserted = insert_new_rows(&mut tx, self.backend, likely_new, insert).await?;
        let new_logs = stored_now(&mut tx, self.backend, company.id, &fields, inserted, now).await?;
        // The user names ログ表示's filters look accounts up by, each once; in order, so that
        // concurrent batches on PostgreSQL take their index locks in the same order.
        let names: BTreeSet<(&str, &str)> =
            rows.iter().map(|r| (r.user_name.as_str(), bare_account(&r.user_name))).collect();
        let names: Vec<(&str, &str)> = names.into_iter().collect();
        let bound = listed.bind(&names)?;
        let insert = |upsert: bool| {
            let on_conflict = if upsert { " ON CONFLICT (company_id, user_name) DO NOTHING" } else { "" };
            let sql = format!(
                "INSERT INTO log_accounts (company_id, user_name, account) SELECT $1, {}, {} FROM {} \
                 WHERE 1 = 1 ORDER BY j.key{on_conflict}",
                listed.text(0),
                listed.text(1),
                listed.rows(2)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company.id).bind(bound.clone())
        };
        // A company's user names are new on its first morning, and known on every other.
        let likely_new = match (names.first(), names.last()) {
            (Some(first), Some(last)) if self.backend == Backend::Postgres => sqlx::query_scalar::<_, i64>(
                "SELECT 1 FROM log_accounts WHERE company_id = $1 AND user_name IN ($2, $3) LIMIT 1",
            )
            .bind(company.id)
            .bind(first.0)
            .bind(last.0)
            .fetch_optional(&mut *tx)
            .await?
            .is_none(),
            _ => false,
        };
        let added = insert_new_rows(&mut tx, self.backend, likely_new, insert).await?;
        if added > 0 {
            // An account first seen is a 未連携 candidate unless one employee holds it for all
            // time. Every account of the batch is looked at rather than handing the new ones
            // back row by row: for one seen before, the answer is already in the table.
            let accounts: BTreeSet<&str> = names.iter().map(|(_, account)| *account).collect();
            let accounts: Vec<(&str,)> = accounts.into_iter().map(|a| (a,)).collect();
            // JSON, not a `Listed` text: a list joined to a table (see `bulk::Listed`).
            let sql = format!(
                "INSERT INTO unheld_accounts (company_id, account) SELECT $1, value->>0 FROM {} \
                 WHERE NOT EXISTS (SELECT 1 FROM link_history h WHERE h.company_id = $1 AND h.account = (j.value->>0) \
                 AND h.from_ms IS NULL AND h.to_ms IS NULL) ORDER BY j.key ON CONFLICT (company_id, account) DO NOTHING",
                json_rows(self.backend, 2)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company.id).bind(json(&accounts)).execute(&mut *tx).await?;
        }
        outcome.accepted = inserted;
        outcome.duplicate = rows.len() as u64 - inserted;
        let ctx = CompanyContext::load(&mut tx, company.id).await?;
        let (scope, mut known) = pipeline::scope_of_logs(&mut tx, &ctx, &new_logs).await?;
        known.ingest = true;
        let recomputed = pipeline::rederive_with(&mut tx, self.backend, &ctx, &scope, known).await?;
        outcome.punches_written = recomputed.punches_changed();
        tx.commit().await?;
        if self.backend == Backend::Postgres && inserted > 0 {
            self.statistics.after_growth(&self.pool);
        }
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

/// (account, event time) of the logs of `fields` this transaction stored: all of them, none, or,
/// when only some were new, the ones that carry this transaction's receipt time `now`. Asked of
/// the database only in that last case: handing every stored row back through the driver cost
/// more than the insert.
async fn stored_now(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    company_id: i64,
    fields: &[LogFields<'_>],
    inserted: u64,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    if inserted == 0 {
        return Ok(Vec::new());
    }
    if inserted == fields.len() as u64 {
        return Ok(fields.iter().map(|f| (f.3.to_string(), f.0)).collect());
    }
    let keys: Vec<(&str, i64, &str)> = fields.iter().map(|f| (f.3, f.0, f.1)).collect();
    // A log another transaction stored in the same millisecond may be counted as ours: its days
    // are derived again, to the same punches.
    let from = format!(
        "FROM (SELECT value->>0 AS account, CAST(value->>1 AS BIGINT) AS at_ms, value->>2 AS idem_key FROM {}) AS v \
         CROSS JOIN logs l WHERE l.company_id = $1 AND l.account = v.account AND l.event_at_ms = v.at_ms \
         AND l.idem_key = v.idem_key AND l.received_at_ms = $3",
        json_rows(backend, 2)
    );
    select_json_given(tx, backend, "l.account, l.event_at_ms", &from, company_id, json(&keys), &[now]).await
}

/// Whether the first or the last log of `fields` (in the unique key's order) is stored already:
/// a batch sent again, whose logs are not written as new (see [`insert_new_rows`]).
async fn ends_stored(conn: &mut sqlx::AnyConnection, company_id: i64, fields: &[LogFields<'_>]) -> Result<bool> {
    let (Some(first), Some(last)) = (fields.first(), fields.last()) else {
        return Ok(false);
    };
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM logs WHERE company_id = $1 AND ((account = $2 AND event_at_ms = $3 AND idem_key = $4) \
         OR (account = $5 AND event_at_ms = $6 AND idem_key = $7)) LIMIT 1",
    )
    .bind(company_id)
    .bind(first.3)
    .bind(first.0)
    .bind(first.1)
    .bind(last.3)
    .bind(last.0)
    .bind(last.1)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(stored.is_some())
}

/// The company's row for this connector version and host, added the first time they are seen:
/// a batch's sender is stored once, not on each of its logs. Looked up first: every batch but
/// the first finds it.
async fn connector_id(conn: &mut sqlx::AnyConnection, company_id: i64, connector: &ConnectorInfo) -> Result<i64> {
    let find = || {
        sqlx::query_scalar("SELECT id FROM connectors WHERE company_id = $1 AND version = $2 AND host = $3")
            .bind(company_id)
            .bind(&connector.version)
            .bind(&connector.host)
    };
    if let Some(id) = find().fetch_optional(&mut *conn).await? {
        return Ok(id);
    }
    sqlx::query(
        "INSERT INTO connectors (company_id, version, host) VALUES ($1, $2, $3) \
         ON CONFLICT (company_id, version, host) DO NOTHING",
    )
    .bind(company_id)
    .bind(&connector.version)
    .bind(&connector.host)
    .execute(&mut *conn)
    .await?;
    Ok(find().fetch_one(&mut *conn).await?)
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
