//! 企業 (companies) and their LanScope access tokens.
//!
//! A token is shown once, when issued; only its SHA-256 is stored. Issuing a new token
//! revokes every older one of the company.

use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::{Result, Store, StoreError, now_ms};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub lanscope_enabled: bool,
    pub last_ingest_at_ms: Option<i64>,
    pub connector_version: Option<String>,
    pub connector_host: Option<String>,
    pub connector_collection_start: Option<String>,
    /// Remote mode: punches go to this KING OF TIME-shaped service instead of the embedded module.
    pub remote_base_url: Option<String>,
    /// Why remote sending is paused (token rejected), if it is.
    pub remote_paused_reason: Option<String>,
}

impl Company {
    pub fn tz(&self) -> Result<jiff::tz::TimeZone> {
        crate::time_zone(&self.time_zone)
    }
}

macro_rules! company_columns {
    () => {
        "id, code, name, time_zone, lanscope_enabled, last_ingest_at_ms, connector_version, connector_host, \
         connector_collection_start, remote_base_url, remote_paused_reason"
    };
}

/// Reads the columns of `company_columns!`.
fn company_from_row(row: &sqlx::any::AnyRow) -> Result<Company> {
    Ok(Company {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        time_zone: row.try_get("time_zone")?,
        lanscope_enabled: row.try_get::<i64, _>("lanscope_enabled")? != 0,
        last_ingest_at_ms: row.try_get("last_ingest_at_ms")?,
        connector_version: row.try_get("connector_version")?,
        connector_host: row.try_get("connector_host")?,
        connector_collection_start: row.try_get("connector_collection_start")?,
        remote_base_url: row.try_get("remote_base_url")?,
        remote_paused_reason: row.try_get("remote_paused_reason")?,
    })
}

impl Store {
    pub async fn create_company(&self, code: &str, name: &str, time_zone: &str) -> Result<Company> {
        crate::time_zone(time_zone)?;
        let _guard = self.write_guard().await;
        if self.company_by_code(code).await?.is_some() {
            return Err(StoreError::Taken(crate::Taken::CompanyCode(code.to_string())));
        }
        sqlx::query("INSERT INTO companies (code, name, time_zone, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(code)
            .bind(name)
            .bind(time_zone)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        self.company_by_code(code).await?.ok_or_else(|| StoreError::NotFound(crate::Missing::Company(code.to_string())))
    }

    /// The company of a code as a person types it, in either case.
    pub async fn company_by_code(&self, code: &str) -> Result<Option<Company>> {
        // Either case finds the company: codes are unique regardless of case (migration 0008).
        let sql = concat!("SELECT ", company_columns!(), " FROM companies WHERE lower(code) = lower($1)");
        let row = sqlx::query(sql).bind(code).fetch_optional(&self.pool).await?;
        row.as_ref().map(company_from_row).transpose()
    }

    pub async fn companies(&self) -> Result<Vec<Company>> {
        let sql = concat!("SELECT ", company_columns!(), " FROM companies ORDER BY code");
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(company_from_row).collect()
    }

    /// Enables LanScope integration for the company and issues a new 32-character access
    /// token, revoking the old ones. The token is returned once and never stored.
    pub async fn issue_token(&self, company_id: i64) -> Result<String> {
        let token = crate::tokens::alphanumeric(32);
        let now = now_ms();
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE access_tokens SET revoked_at_ms = $1 WHERE company_id = $2 AND revoked_at_ms IS NULL")
            .bind(now)
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO access_tokens (company_id, token_sha256, created_at_ms) VALUES ($1, $2, $3)")
            .bind(company_id)
            .bind(crate::tokens::digest(&token))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE companies SET lanscope_enabled = 1 WHERE id = $1")
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The company whose live token this is, if the code matches too.
    pub async fn company_for_token(&self, code: &str, token: &str) -> Result<Option<Company>> {
        let digest = crate::tokens::digest(token);
        let row = sqlx::query(
            "SELECT t.token_sha256, c.code FROM access_tokens t JOIN companies c ON c.id = t.company_id \
             WHERE t.token_sha256 = $1 AND t.revoked_at_ms IS NULL AND c.lanscope_enabled = 1",
        )
        .bind(&digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("token_sha256")?;
        let company_code: String = row.try_get("code")?;
        let same: bool = stored.as_bytes().ct_eq(digest.as_bytes()).into();
        if !same || company_code != code {
            return Ok(None);
        }
        self.company_by_code(code).await
    }
}
