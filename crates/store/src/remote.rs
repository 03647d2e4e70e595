//! Remote mode, as far as storage goes: the company's remote service, the outbox of punches
//! for it, and the mirror of its employees. (The embedded module's own KING OF TIME-shaped
//! API is `crate::attendance`.)
//!
//! The remote outbox (`remote_punches`) guarantees:
//! - **At most once per (employee key, business day, kind).** The row is unique on that key,
//!   and a row leaves `pending` only through a claim that takes it to `sending` in one
//!   statement (with `FOR UPDATE SKIP LOCKED` on PostgreSQL): two sender tasks, in one process
//!   or several, never both hold it. A POST adds a punch on the remote side, so a row is never
//!   sent again once it was `sending`: if its holder died mid-request (lease ran out), the
//!   row becomes `unknown` and is shown to the administrator instead of being resent.
//! - **出勤 when first known, 退勤 when settled.** A clock-in is due at once; a clock-out only
//!   after its business day ended plus the company's settle delay, because an earlier POST
//!   could not be corrected. While a row is still `pending`, later logs move its time.
//! - **Durable.** The outbox lives in the server's database and survives restarts.

use jiff::civil::Date;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::users::SyncResult;
use crate::{Backend, Result, Store, now_ms};

/// The remote service of a company. Its `Debug` never shows the token, nor a user and password
/// written into the base URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    pub base_url: String,
    pub token: String,
    pub settle_minutes: i64,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("base_url", &shown_base_url(&self.base_url))
            .field("token", &"***")
            .field("settle_minutes", &self.settle_minutes)
            .finish()
    }
}

/// A remote service's base URL as a screen, a command's output or a log may show it: a user and
/// password written into it (`https://user:pass@host/…`) become `***:***`. Every place that
/// shows the base URL goes through here.
///
/// The authority ends where a URL parser ends it for `http(s)` (`/`, `\`, `?` or `#`), and its
/// user information is everything before its last `@`, so what is masked is what the client
/// would send as credentials.
pub fn shown_base_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}***:***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// A claimed outbox row, ready to POST.
#[derive(Clone, Debug)]
pub struct RemotePunch {
    pub id: i64,
    pub company_id: i64,
    pub time_zone: String,
    pub employee_key: String,
    pub business_date: String,
    pub kind: i64,
    pub at_ms: i64,
    pub remote: RemoteConfig,
}

/// What became of one POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteOutcome {
    Sent,
    /// Not processed by the remote side (429, `{"code":"303"}`, 5xx, connection refused).
    RetryAt {
        at_ms: i64,
        reason: String,
    },
    /// The remote side refused this punch for good (unknown employee, bad date).
    Failed(String),
    /// The token was refused: the company's sending pauses until an operator resumes it.
    Pause(String),
    /// The request may or may not have reached the remote side (timeout mid-request).
    Unknown(String),
}

/// An employee as the remote service lists it (`GET /employees`).
/// One record of the remote service's `GET /daily-workings/timerecord`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteTimeRecord {
    pub employee_key: String,
    pub date: Date,
    /// 1 出勤, 2 退勤, 3 休憩開始, 4 休憩終了.
    pub code: i64,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteEmployee {
    pub key: String,
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub division_code: String,
    pub division_name: String,
    pub type_name: String,
}

/// Reads a claimed outbox row with its company's remote service (an unset service reads as empty:
/// the claim only takes rows of companies in remote mode).
fn remote_punch_from_row(r: &AnyRow) -> Result<RemotePunch> {
    Ok(RemotePunch {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        time_zone: r.try_get("time_zone")?,
        employee_key: r.try_get("employee_key")?,
        business_date: r.try_get("business_date")?,
        kind: r.try_get("kind")?,
        at_ms: r.try_get("at_ms")?,
        remote: RemoteConfig {
            base_url: r.try_get::<Option<String>, _>("remote_base_url")?.unwrap_or_default(),
            token: r.try_get::<Option<String>, _>("remote_token")?.unwrap_or_default(),
            settle_minutes: r.try_get("remote_settle_minutes")?,
        },
    })
}

/// The claim of due outbox rows, one text for both engines: PostgreSQL adds the row lock that
/// lets concurrent claims skip each other's rows (SQLite has one writer at a time).
macro_rules! claim_outbox_rows {
    ($row_lock:literal) => {
        concat!(
            "UPDATE remote_punches SET state = 'sending', locked_by = $1, lease_until_ms = $2, \
             attempts = attempts + 1 WHERE id IN (SELECT r.id FROM remote_punches r JOIN companies c ON c.id = r.company_id \
             WHERE r.state = 'pending' AND r.not_before_ms <= $3 AND c.remote_base_url IS NOT NULL \
             AND c.remote_paused_reason IS NULL ORDER BY r.not_before_ms, r.id LIMIT $4",
            $row_lock,
            ") RETURNING id"
        )
    };
}
const CLAIM_SQLITE: &str = claim_outbox_rows!("");
const CLAIM_POSTGRES: &str = claim_outbox_rows!(" FOR UPDATE OF r SKIP LOCKED");

/// What remote mode keeps in the database, reached from a [`Store`]: `store.remote()`.
#[derive(Clone, Copy)]
pub struct Remote<'a> {
    store: &'a Store,
}

impl Store {
    pub fn remote(&self) -> Remote<'_> {
        Remote { store: self }
    }
}

impl Remote<'_> {
    /// Switches the company to remote mode (`Some`) or back to the embedded module (`None`).
    /// Switching also resumes a paused company.
    pub async fn set_remote(&self, company_id: i64, remote: Option<&RemoteConfig>) -> Result<()> {
        let _guard = self.store.write_guard().await;
        sqlx::query(
            "UPDATE companies SET remote_base_url = $1, remote_token = $2, remote_settle_minutes = $3, \
             remote_paused_reason = NULL WHERE id = $4",
        )
        .bind(remote.map(|r| r.base_url.trim_end_matches('/').to_string()))
        .bind(remote.map(|r| r.token.clone()))
        .bind(remote.map(|r| r.settle_minutes).unwrap_or(60))
        .bind(company_id)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn remote_config(&self, company_id: i64) -> Result<Option<RemoteConfig>> {
        let row =
            sqlx::query("SELECT remote_base_url, remote_token, remote_settle_minutes FROM companies WHERE id = $1")
                .bind(company_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let base: Option<String> = row.try_get("remote_base_url")?;
        let token: Option<String> = row.try_get("remote_token")?;
        Ok(match (base, token) {
            (Some(base_url), Some(token)) => {
                Some(RemoteConfig { base_url, token, settle_minutes: row.try_get("remote_settle_minutes")? })
            }
            _ => None,
        })
    }

    pub async fn pause_remote(&self, company_id: i64, reason: &str) -> Result<()> {
        let _guard = self.store.write_guard().await;
        sqlx::query("UPDATE companies SET remote_paused_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(company_id)
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    pub async fn resume_remote(&self, company_id: i64) -> Result<()> {
        let _guard = self.store.write_guard().await;
        sqlx::query("UPDATE companies SET remote_paused_reason = NULL WHERE id = $1")
            .bind(company_id)
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    /// Takes up to `limit` due outbox rows for this worker. Rows whose holder died while
    /// sending become `unknown` first: they are never sent twice.
    pub async fn claim_remote_punches(
        &self,
        worker: &str,
        now_ms: i64,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<RemotePunch>> {
        let _guard = self.store.write_guard().await;
        sqlx::query(
            "UPDATE remote_punches SET state = 'unknown', last_error = 'the sender stopped while sending; check the remote side' \
             WHERE state = 'sending' AND lease_until_ms < $1",
        )
        .bind(now_ms)
        .execute(&self.store.pool)
        .await?;
        let sql = match self.store.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let ids: Vec<i64> = sqlx::query_scalar(sql)
            .bind(worker)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.store.pool)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = sqlx::query(
                "SELECT r.id, r.company_id, c.time_zone, r.employee_key, r.business_date, r.kind, r.at_ms, \
                        c.remote_base_url, c.remote_token, c.remote_settle_minutes \
                 FROM remote_punches r JOIN companies c ON c.id = r.company_id WHERE r.id = $1",
            )
            .bind(id)
            .fetch_one(&self.store.pool)
            .await?;
            out.push(remote_punch_from_row(&r)?);
        }
        Ok(out)
    }

    /// Records the outcome of a claimed row (only its holder may).
    pub async fn finish_remote_punch(&self, punch: &RemotePunch, worker: &str, outcome: &RemoteOutcome) -> Result<()> {
        let now = now_ms();
        let (state, not_before, error): (&str, Option<i64>, Option<&str>) = match outcome {
            RemoteOutcome::Sent => ("sent", None, None),
            RemoteOutcome::RetryAt { at_ms, reason } => ("pending", Some(*at_ms), Some(reason)),
            RemoteOutcome::Failed(reason) => ("failed", None, Some(reason)),
            RemoteOutcome::Pause(reason) => ("pending", None, Some(reason)),
            RemoteOutcome::Unknown(reason) => ("unknown", None, Some(reason)),
        };
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        sqlx::query(
            "UPDATE remote_punches SET state = $1, not_before_ms = COALESCE($2, not_before_ms), last_error = $3, \
             sent_at_ms = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at_ms END, lease_until_ms = NULL \
             WHERE id = $5 AND locked_by = $6 AND state = 'sending'",
        )
        .bind(state)
        .bind(not_before)
        .bind(error)
        .bind(now)
        .bind(punch.id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if let RemoteOutcome::Pause(reason) = outcome {
            sqlx::query("UPDATE companies SET remote_paused_reason = $1 WHERE id = $2")
                .bind(reason)
                .bind(punch.company_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Outbox rows by state, for diagnostics and tests.
    pub async fn remote_punch_states(&self, company_id: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS punches FROM remote_punches WHERE company_id = $1 GROUP BY state ORDER BY state",
        )
        .bind(company_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("punches")?))).collect()
    }

    /// The reason recorded for each outbox row that has one (why it waits, failed or is
    /// unknown), as `(state, reason)`: what 診断 and the logs may repeat.
    pub async fn remote_punch_reasons(&self, company_id: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT state, last_error FROM remote_punches WHERE company_id = $1 AND last_error IS NOT NULL ORDER BY id",
        )
        .bind(company_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("last_error")?))).collect()
    }

    /// Keeps the remote service's own 出勤 and 退勤 of `[from, to]` (what `GET
    /// /daily-workings/timerecord` answered), for 乖離: the records of `from`..`to` kept before
    /// are replaced; breaks, employees not mirrored here and the punches ログイン記録 sent (the
    /// same employee, day, kind and second, no longer pending) are left out. Returns how many
    /// were kept.
    pub async fn replace_remote_time_records(
        &self,
        company_id: i64,
        from: Date,
        to: Date,
        records: &[RemoteTimeRecord],
    ) -> Result<usize> {
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        let ids: std::collections::BTreeMap<String, i64> =
            sqlx::query("SELECT employee_key, id FROM employees WHERE company_id = $1")
                .bind(company_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("employee_key")?, r.try_get("id")?)))
                .collect::<Result<_>>()?;
        let sent: std::collections::BTreeSet<(String, String, i64, i64)> = sqlx::query(
            "SELECT employee_key, business_date, kind, at_ms FROM remote_punches \
             WHERE company_id = $1 AND business_date >= $2 AND business_date <= $3 AND state <> 'pending'",
        )
        .bind(company_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| -> Result<_> {
            let at: i64 = r.try_get("at_ms")?;
            Ok((r.try_get("employee_key")?, r.try_get("business_date")?, r.try_get("kind")?, at.div_euclid(1000)))
        })
        .collect::<Result<_>>()?;
        sqlx::query("DELETE FROM remote_time_records WHERE company_id = $1 AND date >= $2 AND date <= $3")
            .bind(company_id)
            .bind(from.to_string())
            .bind(to.to_string())
            .execute(&mut *tx)
            .await?;
        let mut kept = 0;
        for r in records {
            let date = r.date.to_string();
            let Some(&employee) = ids.get(&r.employee_key) else { continue };
            let ours = sent.contains(&(r.employee_key.clone(), date.clone(), r.code, r.at_ms.div_euclid(1000)));
            if !matches!(r.code, 1 | 2) || ours || r.date < from || r.date > to {
                continue;
            }
            sqlx::query(
                "INSERT INTO remote_time_records (company_id, employee_id, date, code, at_ms) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(company_id)
            .bind(employee)
            .bind(date)
            .bind(r.code)
            .bind(r.at_ms)
            .execute(&mut *tx)
            .await?;
            kept += 1;
        }
        tx.commit().await?;
        Ok(kept)
    }

    /// Makes the local attendance tables mirror the remote service's employees (the master in
    /// remote mode), keyed on the employee key, then syncs ログイン記録's users from them.
    pub async fn mirror_remote_employees(&self, company_id: i64, employees: &[RemoteEmployee]) -> Result<SyncResult> {
        {
            let _guard = self.store.write_guard().await;
            let (mut tx, ctx) = self.store.begin_change(company_id).await?;
            let result: Result<_> = async {            let mut scope = crate::pipeline::Scope::default();
            let now = now_ms();
            for e in employees {
                sqlx::query(
                    "INSERT INTO departments (company_id, code, name) VALUES ($1, $2, $3) \
                     ON CONFLICT (company_id, code) DO UPDATE SET name = excluded.name",
                )
                .bind(company_id)
                .bind(&e.division_code)
                .bind(&e.division_name)
                .execute(&mut *tx)
                .await?;
                // A department the service names for the first time: its time holds from the beginning.
                sqlx::query(
                    "INSERT INTO department_day_changes (company_id, department_id, effective_from, day_change_minutes) \
                     SELECT d.company_id, d.id, NULL, d.day_change_minutes FROM departments d \
                     WHERE d.company_id = $1 AND d.code = $2 \
                     AND NOT EXISTS (SELECT 1 FROM department_day_changes x WHERE x.department_id = d.id)",
                )
                .bind(company_id)
                .bind(&e.division_code)
                .execute(&mut *tx)
                .await?;
            }
            // Employees the service no longer lists are deleted first, and every live code is
            // parked, so that codes reused or swapped on the remote side never collide here.
            let keys: std::collections::BTreeSet<&str> = employees.iter().map(|e| e.key.as_str()).collect();
            let live: Vec<String> = sqlx::query_scalar(
                "SELECT employee_key FROM employees WHERE company_id = $1 AND deleted_at_ms IS NULL",
            )
            .bind(company_id)
            .fetch_all(&mut *tx)
            .await?;
            for key in live.iter().filter(|k| !keys.contains(k.as_str())) {
                sqlx::query("UPDATE employees SET deleted_at_ms = $1 WHERE company_id = $2 AND employee_key = $3")
                    .bind(now)
                    .bind(company_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE employees SET code = '~' || employee_key WHERE company_id = $1 AND deleted_at_ms IS NULL",
            )
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
            for e in employees {
                let dept: i64 = sqlx::query_scalar("SELECT id FROM departments WHERE company_id = $1 AND code = $2")
                    .bind(company_id)
                    .bind(&e.division_code)
                    .fetch_one(&mut *tx)
                    .await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO employees (company_id, employee_key, code, last_name, first_name, department_id, employment_type) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (company_id, employee_key) DO UPDATE SET code = excluded.code, \
                     last_name = excluded.last_name, first_name = excluded.first_name, \
                     employment_type = excluded.employment_type, deleted_at_ms = NULL RETURNING id",
                )
                .bind(company_id)
                .bind(&e.key)
                .bind(&e.code)
                .bind(&e.last_name)
                .bind(&e.first_name)
                .bind(dept)
                .bind(&e.type_name)
                .fetch_one(&mut *tx)
                .await?;
                // A move to another division holds from the employee's current business date.
                let schedules = crate::pipeline::schedules(&mut tx, company_id, &[id]).await?;
                    let schedule = schedules.get(&id).cloned().unwrap_or_default();
                    Store::set_employee_department(&mut tx, &ctx, id, &schedule, dept, None, &mut scope).await?;
            }
            crate::pipeline::rederive(&mut tx, self.store.backend, &ctx, &scope).await
        }
        .await;
            self.store.settle(tx, result, crate::history::Apply::Commit).await?;
        }
        self.store.sync_users(company_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_is_shown_without_its_user_and_password() {
        assert_eq!(shown_base_url("https://api.example.com/v1.0"), "https://api.example.com/v1.0");
        assert_eq!(shown_base_url("https://user:s3cret@api.example.com/v1.0"), "https://***:***@api.example.com/v1.0");
        assert_eq!(shown_base_url("https://user@api.example.com"), "https://***:***@api.example.com");
        // A password holding `@`: the last one ends the user information, as for the client.
        assert_eq!(shown_base_url("http://u:p@ss@10.0.0.1:8080/x"), "http://***:***@10.0.0.1:8080/x");
        // An `@` after the authority is not user information.
        assert_eq!(shown_base_url("https://api.example.com/v1.0?to=a@b"), "https://api.example.com/v1.0?to=a@b");
        assert_eq!(shown_base_url("https://u:pw@host\\@x/"), "https://***:***@host\\@x/");
    }

    #[test]
    fn a_remote_config_debugs_without_token_or_credentials() {
        let config = RemoteConfig {
            base_url: "https://user:s3cret@api.example.com/v1.0".into(),
            token: "t0ken".into(),
            settle_minutes: 60,
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("t0ken") && !shown.contains("user"), "{shown}");
        assert!(shown.contains("api.example.com/v1.0"), "{shown}");
    }
}
