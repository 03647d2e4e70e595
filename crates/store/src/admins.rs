//! Administrator accounts, sessions, login rate limiting and the audit trail.
//!
//! Password hashing is not done here (it is CPU work the server runs off the async threads);
//! the store keeps PHC strings. Session ids and CSRF tokens are random 256-bit values; only a
//! digest of the session id is stored, so a copy of the database opens no session.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_ms};

/// The company id of operator (support center) accounts.
pub const OPERATOR: i64 = 0;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    /// [`OPERATOR`] for the support center.
    pub company_id: i64,
    pub login_id: String,
    pub password_hash: String,
}

impl Admin {
    pub fn is_operator(&self) -> bool {
        self.company_id == OPERATOR
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub admin: Admin,
    pub csrf_token: String,
    /// The digest the session is stored under (the cookie's id is never stored).
    pub id_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

fn admin_from_row(r: &AnyRow) -> Result<Admin> {
    Ok(Admin {
        id: r.try_get("id")?,
        company_id: r.try_get("company_id")?,
        login_id: r.try_get("login_id")?,
        password_hash: r.try_get("password_hash")?,
    })
}

fn audit_event_from_row(r: &AnyRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        detail: r.try_get("detail")?,
    })
}

/// Administrators, their sessions and failed logins, and the audit trail of what they change,
/// reached from a [`Store`]: `store.admins()`.
#[derive(Clone, Copy)]
pub struct Admins<'a> {
    store: &'a Store,
}

impl Store {
    pub fn admins(&self) -> Admins<'_> {
        Admins { store: self }
    }
}

impl Admins<'_> {
    /// Creates an administrator, or replaces the password of an existing one.
    pub async fn upsert_admin(&self, company_id: i64, login_id: &str, password_hash: &str) -> Result<()> {
        if login_id.is_empty() || login_id.chars().count() > 64 || login_id.chars().any(char::is_control) {
            return Err(StoreError::Refused(crate::Refusal::LoginId));
        }
        let _guard = self.store.write_guard().await;
        sqlx::query(
            "INSERT INTO admins (company_id, login_id, password_hash, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (company_id, login_id) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(company_id)
        .bind(login_id)
        .bind(password_hash)
        .bind(now_ms())
        .execute(&self.store.pool)
        .await?;
        // A new password ends every session opened with the old one.
        sqlx::query(
            "DELETE FROM sessions WHERE admin_id IN (SELECT id FROM admins WHERE company_id = $1 AND login_id = $2)",
        )
        .bind(company_id)
        .bind(login_id)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn admin(&self, company_id: i64, login_id: &str) -> Result<Option<Admin>> {
        let row = sqlx::query(
            "SELECT id, company_id, login_id, password_hash FROM admins WHERE company_id = $1 AND login_id = $2",
        )
        .bind(company_id)
        .bind(login_id)
        .fetch_optional(&self.store.pool)
        .await?;
        row.as_ref().map(admin_from_row).transpose()
    }

    /// Opens a session; returns the id for the cookie (never stored as is).
    pub async fn create_session(&self, admin_id: i64, ttl_ms: i64) -> Result<String> {
        let id = crate::tokens::random_token();
        let _guard = self.store.write_guard().await;
        sqlx::query("DELETE FROM sessions WHERE expires_at_ms < $1").bind(now_ms()).execute(&self.store.pool).await?;
        sqlx::query("DELETE FROM session_notices WHERE session_sha256 NOT IN (SELECT id_sha256 FROM sessions)")
            .execute(&self.store.pool)
            .await?;
        sqlx::query("INSERT INTO sessions (id_sha256, admin_id, csrf_token, expires_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(crate::tokens::digest(&id))
            .bind(admin_id)
            .bind(crate::tokens::random_token())
            .bind(now_ms() + ttl_ms)
            .execute(&self.store.pool)
            .await?;
        Ok(id)
    }

    pub async fn session(&self, id: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT a.id, a.company_id, a.login_id, a.password_hash, s.csrf_token FROM sessions s \
             JOIN admins a ON a.id = s.admin_id WHERE s.id_sha256 = $1 AND s.expires_at_ms > $2",
        )
        .bind(crate::tokens::digest(id))
        .bind(now_ms())
        .fetch_optional(&self.store.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(Session {
                admin: admin_from_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                id_sha256: crate::tokens::digest(id),
            })),
        }
    }

    /// Leaves `body` for the session's next page, replacing an earlier notice of that kind.
    pub async fn put_notice(&self, session: &Session, kind: &str, body: &str) -> Result<()> {
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        sqlx::query("DELETE FROM session_notices WHERE session_sha256 = $1 AND kind = $2")
            .bind(&session.id_sha256)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO session_notices (session_sha256, kind, body) VALUES ($1, $2, $3)")
            .bind(&session.id_sha256)
            .bind(kind)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session's notice of that kind, removed as it is read: a second read finds none.
    pub async fn take_notice(&self, session: &Session, kind: &str) -> Result<Option<String>> {
        let _guard = self.store.write_guard().await;
        let body: Option<String> =
            sqlx::query_scalar("DELETE FROM session_notices WHERE session_sha256 = $1 AND kind = $2 RETURNING body")
                .bind(&session.id_sha256)
                .bind(kind)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(body)
    }

    pub async fn delete_session(&self, id: &str) -> Result<()> {
        let _guard = self.store.write_guard().await;
        sqlx::query("DELETE FROM session_notices WHERE session_sha256 = $1")
            .bind(crate::tokens::digest(id))
            .execute(&self.store.pool)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(crate::tokens::digest(id))
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    /// One login attempt, counted and judged in one step: under a lock on the two subjects,
    /// reads the recent failures of `pair` (their instants) and of `address` (a count), asks
    /// `judge` whether the attempt must wait, and when it need not, records it as a failure
    /// of both before the password is checked ([`Admins::forgive_login`] takes it back).
    /// Returns the wait `judge` gave, or `None` when the attempt was counted.
    pub async fn count_login_attempt(
        &self,
        pair: &str,
        address: &str,
        window_ms: i64,
        judge: impl FnOnce(&[i64], i64, i64) -> Option<i64>,
    ) -> Result<Option<i64>> {
        let now = now_ms();
        let cutoff = now - window_ms;
        let _guard = self.store.write_guard().await;
        let mut tx = self.store.pool.begin().await?;
        if self.store.backend == crate::Backend::Postgres {
            // Every process takes the same locks in the same order.
            for subject in [pair, address] {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
                    .bind(subject)
                    .fetch_one(&mut *tx)
                    .await?;
            }
        }
        for subject in [pair, address] {
            sqlx::query("DELETE FROM login_failures WHERE subject = $1 AND at_ms <= $2")
                .bind(subject)
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
        }
        let pair_failures: Vec<i64> =
            sqlx::query_scalar("SELECT at_ms FROM login_failures WHERE subject = $1 ORDER BY at_ms")
                .bind(pair)
                .fetch_all(&mut *tx)
                .await?;
        let address_failures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE subject = $1")
            .bind(address)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(wait) = judge(&pair_failures, address_failures, now) {
            tx.rollback().await?;
            return Ok(Some(wait));
        }
        for subject in [pair, address] {
            sqlx::query("INSERT INTO login_failures (subject, at_ms) VALUES ($1, $2)")
                .bind(subject)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(None)
    }

    /// A successful login: the account's failures from that address are forgotten (the
    /// address's own count stays, so one good login does not reopen spraying).
    pub async fn forgive_login(&self, pair: &str) -> Result<()> {
        let _guard = self.store.write_guard().await;
        sqlx::query("DELETE FROM login_failures WHERE subject = $1").bind(pair).execute(&self.store.pool).await?;
        Ok(())
    }

    /// Removes failures older than `before_ms` (the daily purge); returns how many.
    pub async fn purge_login_failures(&self, before_ms: i64) -> Result<u64> {
        let _guard = self.store.write_guard().await;
        let done = sqlx::query("DELETE FROM login_failures WHERE at_ms <= $1")
            .bind(before_ms)
            .execute(&self.store.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Rows of recorded login failures (for `/metrics` and tests).
    pub async fn login_failure_rows(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM login_failures").fetch_one(&self.store.pool).await?)
    }

    pub async fn audit(&self, company_id: i64, actor: &str, action: &str, detail: &str) -> Result<()> {
        let _guard = self.store.write_guard().await;
        sqlx::query("INSERT INTO audit_events (company_id, at_ms, actor, action, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(company_id)
            .bind(now_ms())
            .bind(actor)
            .bind(action)
            .bind(detail)
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    pub async fn audit_events(&self, company_id: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT at_ms, actor, action, detail FROM audit_events WHERE company_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
        )
        .bind(company_id)
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(audit_event_from_row).collect()
    }
}
