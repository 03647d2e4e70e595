//! Background jobs that must run once per schedule across every server process.
//!
//! - **Scheduled once.** A job is a row unique on (kind, company, slot): every process may
//!   schedule the same slot (`INSERT … ON CONFLICT DO NOTHING`) and one row results.
//! - **Run by one process at a time.** A process claims a due job by taking its lease in one
//!   statement (on PostgreSQL the candidate row is picked with `FOR UPDATE SKIP LOCKED`, so
//!   processes never wait on each other; on SQLite writers are serialised anyway).
//! - **Taken over after a crash.** A lease has an end; a job whose lease ran out while still
//!   `running` is due again, and its attempt count shows it was retried.
//! - **Finished by its holder only.** Completing a job checks the lease holder, so a process
//!   that lost its lease cannot overwrite the new holder's result.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Result, Store, now_ms};

/// A job kind's name as stored.
pub mod kind {
    /// 勤革時連携 (連携実行) run daily at 03:00 company time.
    pub const EMPLOYEE_SYNC: &str = "employee_sync";
    /// Deletion of logs older than the retention period.
    pub const LOG_PURGE: &str = "log_purge";
    /// Remote mode: reading the remote service's own 出勤 / 退勤 of last month and this one
    /// for 乖離, daily at the time of 勤革時連携.
    pub const REMOTE_TIME_RECORDS: &str = "remote_time_records";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub company_id: i64,
    pub slot: String,
    pub attempts: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    pub kind: String,
    pub company_id: i64,
    pub slot: String,
    pub state: String,
    pub attempts: i64,
    pub locked_by: Option<String>,
    pub finished_at_ms: Option<i64>,
    pub result: Option<String>,
}

/// Reads a claimed job: the columns the claim returns.
fn job_from_row(r: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        company_id: r.try_get("company_id")?,
        slot: r.try_get("slot")?,
        attempts: r.try_get("attempts")?,
    })
}

fn job_record_from_row(r: &AnyRow) -> Result<JobRecord> {
    Ok(JobRecord {
        kind: r.try_get("kind")?,
        company_id: r.try_get("company_id")?,
        slot: r.try_get("slot")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        locked_by: r.try_get("locked_by")?,
        finished_at_ms: r.try_get("finished_at_ms")?,
        result: r.try_get("result")?,
    })
}

/// After this many failed attempts a job stays `failed` until the next slot.
const MAX_ATTEMPTS: i64 = 5;

/// The claim of the next due job (or of one whose holder's lease ran out), one text for both
/// engines: PostgreSQL adds the row lock that lets concurrent claims skip each other's rows.
macro_rules! claim_job {
    ($row_lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', locked_by = $1, lease_until_ms = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE (state = 'pending' AND run_at_ms <= $3) \
             OR (state = 'running' AND lease_until_ms < $3) ORDER BY run_at_ms, id LIMIT 1",
            $row_lock,
            ") RETURNING id, kind, company_id, slot, attempts"
        )
    };
}
const CLAIM_SQLITE: &str = claim_job!("");
const CLAIM_POSTGRES: &str = claim_job!(" FOR UPDATE SKIP LOCKED");

/// The background jobs' schedule, leases and outcomes, reached from a [`Store`]:
/// `store.jobs()`.
#[derive(Clone, Copy)]
pub struct Jobs<'a> {
    store: &'a Store,
}

impl Store {
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { store: self }
    }

    /// Deletes logs whose event is older than `before_ms`; punches, the attendance record, stay.
    pub async fn purge_logs_before(&self, before_ms: i64) -> Result<u64> {
        let _guard = self.write_guard().await;
        Ok(sqlx::query("DELETE FROM logs WHERE event_at_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Copies an SQLite database into a new file, consistent even while the server writes.
    pub async fn backup_sqlite(&self, target: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(crate::StoreError::Refused(crate::Refusal::BackupNeedsSqlite));
        }
        if target.exists() {
            return Err(crate::StoreError::Taken(crate::Taken::File(target.display().to_string())));
        }
        // VACUUM INTO writes into an empty file it finds: made first, it is the owner's only.
        crate::owner_only(target, true)?;
        let path = target.to_string_lossy().replace('\'', "''");
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{path}'"))).execute(&self.pool).await {
            let _ = std::fs::remove_file(target);
            return Err(e.into());
        }
        Ok(())
    }
}

impl Jobs<'_> {
    /// Schedules a job for `slot`; returns false when that slot was already scheduled.
    pub async fn schedule_job(&self, kind: &str, company_id: i64, slot: &str, run_at_ms: i64) -> Result<bool> {
        let _guard = self.store.write_guard().await;
        let n = sqlx::query(
            "INSERT INTO jobs (kind, company_id, slot, run_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, company_id, slot) DO NOTHING",
        )
        .bind(kind)
        .bind(company_id)
        .bind(slot)
        .bind(run_at_ms)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Takes the lease of one due job, if any, for `lease_ms` milliseconds.
    pub async fn claim_job(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>> {
        let now = now_ms();
        let sql = match self.store.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let _guard = self.store.write_guard().await;
        let row = sqlx::query(sql).bind(worker).bind(now + lease_ms).bind(now).fetch_optional(&self.store.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Records the outcome of a job this worker holds. A failure is retried later unless it
    /// failed too often. Returns false when the lease had passed to another worker.
    pub async fn finish_job(
        &self,
        job: &Job,
        worker: &str,
        outcome: std::result::Result<String, String>,
    ) -> Result<bool> {
        let now = now_ms();
        let (state, result, run_at) = match outcome {
            Ok(result) => ("done", result, now),
            Err(error) if job.attempts >= MAX_ATTEMPTS => ("failed", error, now),
            Err(error) => ("pending", error, now + 60_000 * job.attempts),
        };
        let _guard = self.store.write_guard().await;
        let n = sqlx::query(
            "UPDATE jobs SET state = $1, result = $2, run_at_ms = $3, finished_at_ms = $4, lease_until_ms = NULL \
             WHERE id = $5 AND locked_by = $6 AND state = 'running'",
        )
        .bind(state)
        .bind(result)
        .bind(run_at)
        .bind(now)
        .bind(job.id)
        .bind(worker)
        .execute(&self.store.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Jobs of a kind, the last finished (or due) first (for the pages and for tests); of one company, or of all
    /// when `company_id` is `None`.
    pub async fn list(&self, kind: &str, company_id: Option<i64>) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(
            "SELECT kind, company_id, slot, state, attempts, locked_by, finished_at_ms, result FROM jobs \
             WHERE kind = $1 AND ($2 IS NULL OR company_id = $2) \
             ORDER BY COALESCE(finished_at_ms, run_at_ms) DESC, id DESC LIMIT 100",
        )
        .bind(kind)
        .bind(company_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(job_record_from_row).collect()
    }

    /// Jobs waiting or running (the queue depth of `/metrics`).
    pub async fn open_job_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running')")
            .fetch_one(&self.store.pool)
            .await?)
    }
}

impl Jobs<'_> {
    /// Records a job run outside the scheduler (連携実行 pressed by an administrator).
    pub async fn record_finished_job(&self, kind: &str, company_id: i64, slot: &str, result: &str) -> Result<()> {
        let now = now_ms();
        let _guard = self.store.write_guard().await;
        sqlx::query(
            "INSERT INTO jobs (kind, company_id, slot, run_at_ms, state, attempts, finished_at_ms, result) \
             VALUES ($1, $2, $3, $4, 'done', 1, $4, $5) ON CONFLICT (kind, company_id, slot) DO NOTHING",
        )
        .bind(kind)
        .bind(company_id)
        .bind(slot)
        .bind(now)
        .bind(result)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }
}
