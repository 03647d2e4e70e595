//! The planner's statistics of the tables a 05:00 burst grows, kept up with it on PostgreSQL.
//!
//! Autovacuum analyzes a table once a tenth of it changed, but looks only once a minute
//! (`autovacuum_naptime`), and may be off. A company's first morning fills its empty tables with
//! hundreds of thousands of rows within that minute, and until they are analyzed PostgreSQL plans
//! for the empty tables they were: with the punches of a few employees expected, it read every
//! punch of the company for each batch (a read that grew with each batch), where with statistics
//! it reads each employee's own through the index.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use sqlx::AnyPool;

use crate::now_ms;

/// The tables an ingest adds rows to.
const GROWING_TABLES: [&str; 5] = ["logs", "log_accounts", "unheld_accounts", "punches", "work_months_stale"];

/// A table is analyzed again once more rows changed since its last analysis than this many
/// times the rows it had then, and at least [`CHANGED_ROWS_AT_LEAST`]. Plans go wrong on a table
/// planned as empty or tiny, which reads as cheap to scan whole: one grown tenfold since it was
/// last analyzed is planned with indexes all the same. Tenfold rather than threefold: one
/// analysis of `logs` (a sample of 30 000 rows, 0.25–0.43 s in the server's log) instead of two
/// while a 100 000-employee morning grows it from nothing to 400 000 rows.
const GROWTH_FACTOR: i64 = 10;
const CHANGED_ROWS_AT_LEAST: i64 = 5_000;

/// Looked at most this often by one process.
const LOOK_EVERY_MS: i64 = 1_000;

/// One process's watch over the statistics: one look at a time, at most every second.
#[derive(Clone, Default)]
pub(crate) struct Statistics {
    busy: Arc<AtomicBool>,
    last_look_ms: Arc<AtomicI64>,
}

impl Statistics {
    /// After rows were added: analyzes, in the background, the growing tables whose statistics
    /// they outgrew. The caller's transaction is committed: nothing waits for this.
    pub(crate) fn after_growth(&self, pool: &AnyPool) {
        let now = now_ms();
        if now - self.last_look_ms.load(Ordering::Relaxed) < LOOK_EVERY_MS || self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        self.last_look_ms.store(now, Ordering::Relaxed);
        let (pool, busy) = (pool.clone(), Arc::clone(&self.busy));
        tokio::spawn(async move {
            if let Err(e) = analyze_outgrown(&pool).await {
                tracing::warn!(error = %e, "Could not bring the planner's statistics up to date.");
            }
            busy.store(false, Ordering::Release);
        });
    }
}

/// Analyzes each growing table with more rows changed since its last analysis than it allows.
async fn analyze_outgrown(pool: &AnyPool) -> sqlx::Result<()> {
    let names = GROWING_TABLES.map(|t| format!("'{t}'")).join(", ");
    let sql = format!(
        "SELECT CAST(s.relname AS TEXT) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE s.schemaname = current_schema() AND s.relname IN ({names}) \
         AND s.n_mod_since_analyze > GREATEST({CHANGED_ROWS_AT_LEAST}, {GROWTH_FACTOR} * CAST(c.reltuples AS BIGINT))"
    );
    let outgrown: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    // Only the names listed above come back; the statement names one of them, never input.
    for table in GROWING_TABLES.into_iter().filter(|t| outgrown.iter().any(|o| o == t)) {
        tracing::debug!(table, "Analyzing a table a burst grew.");
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}"))).execute(pool).await?;
    }
    Ok(())
}
