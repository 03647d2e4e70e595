//! The facts behind the manual's FAQ (seed §5), and applying past logs of a newly linked user.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use loginrec_rules::{DayChangeTime, DayLog, bare_account, business_day, derive_day_punches};
use sqlx::Row;

use crate::ingest::EmployeeDay;
use crate::{Company, Result, Store, StoreError};

/// §5.1: a LanScope user name in the logs that no ログイン記録 user is linked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlinkedAccount {
    pub account: String,
    pub logs: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// §5.2.2: one user name seen from several PCs (agents) on one LanScope day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedAccount {
    pub account: String,
    pub day: Date,
    pub agents: Vec<String>,
}

/// A punch the preview of "apply past logs" shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewPunch {
    pub business_date: Date,
    pub clock_in_ms: Option<i64>,
    pub clock_out_ms: Option<i64>,
}

fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store {
    pub async fn unlinked_accounts(&self, company_id: i64) -> Result<Vec<UnlinkedAccount>> {
        let rows = sqlx::query(
            "SELECT l.account, COUNT(*), MIN(l.event_at_ms), MAX(l.event_at_ms) FROM logs l \
             WHERE l.company_id = $1 AND NOT EXISTS (SELECT 1 FROM lr_users u \
                 WHERE u.company_id = l.company_id AND u.service_account = l.account AND u.removed_at_ms IS NULL) \
             GROUP BY l.account ORDER BY l.account LIMIT 500",
        )
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnlinkedAccount {
                    account: r.try_get(0)?,
                    logs: r.try_get(1)?,
                    first_ms: r.try_get(2)?,
                    last_ms: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// User names with logs from more than one agent on one LanScope day since `since_ms`.
    pub async fn shared_accounts(
        &self,
        company: &Company,
        since_ms: i64,
        collection_start: DayChangeTime,
    ) -> Result<Vec<SharedAccount>> {
        let tz = company.tz()?;
        let candidates: Vec<String> = sqlx::query_scalar(
            "SELECT account FROM logs WHERE company_id = $1 AND event_at_ms >= $2 AND agent_no IS NOT NULL \
             GROUP BY account HAVING COUNT(DISTINCT agent_no) > 1 ORDER BY account LIMIT 200",
        )
        .bind(company.id)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for account in candidates {
            let rows = sqlx::query(
                "SELECT event_at_ms, agent_no FROM logs WHERE company_id = $1 AND account = $2 AND event_at_ms >= $3 \
                 AND agent_no IS NOT NULL",
            )
            .bind(company.id)
            .bind(&account)
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
            let mut by_day: BTreeMap<Date, BTreeSet<String>> = BTreeMap::new();
            for r in rows {
                let day = business_day(ts(r.try_get(0)?)?, &tz, collection_start);
                by_day.entry(day).or_default().insert(r.try_get(1)?);
            }
            for (day, agents) in by_day.into_iter().filter(|(_, a)| a.len() > 1) {
                out.push(SharedAccount { account: account.clone(), day, agents: agents.into_iter().collect() });
            }
        }
        Ok(out)
    }

    async fn account_days(
        &self,
        company: &Company,
        account: &str,
    ) -> Result<Option<(i64, DayChangeTime, BTreeMap<Date, Vec<DayLog>>)>> {
        let mut conn = self.pool.acquire().await?;
        let linked = crate::ingest::linked_employees(&mut conn, company.id, &[account]).await?;
        drop(conn);
        let Some(&(employee_id, change)) = linked.get(account) else {
            return Ok(None);
        };
        let tz = company.tz()?;
        let rows = sqlx::query("SELECT event_at_ms, idem_key FROM logs WHERE company_id = $1 AND account = $2")
            .bind(company.id)
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        let mut days: BTreeMap<Date, Vec<DayLog>> = BTreeMap::new();
        for r in rows {
            let at = ts(r.try_get(0)?)?;
            days.entry(business_day(at, &tz, change)).or_default().push(DayLog { at, key: r.try_get(1)? });
        }
        Ok(Some((employee_id, change, days)))
    }

    /// What applying the past logs of a now linked サービスアカウント would punch.
    pub async fn preview_account_punches(&self, company: &Company, account: &str) -> Result<Vec<PreviewPunch>> {
        let Some((_, _, days)) = self.account_days(company, account).await? else {
            return Err(StoreError::NotFound(format!("サービスアカウント {account:?} の紐づけ")));
        };
        Ok(days
            .into_iter()
            .map(|(date, logs)| {
                let p = derive_day_punches(&logs, false);
                PreviewPunch {
                    business_date: date,
                    clock_in_ms: p.clock_in.map(|t| t.as_millisecond()),
                    clock_out_ms: p.clock_out.map(|t| t.as_millisecond()),
                }
            })
            .collect())
    }

    /// Turns the past logs of a linked サービスアカウント into punches (other methods still win).
    pub async fn apply_account_logs(&self, company: &Company, account: &str) -> Result<u64> {
        let Some((employee_id, change, days)) = self.account_days(company, account).await? else {
            return Err(StoreError::NotFound(format!("サービスアカウント {account:?} の紐づけ")));
        };
        let account = bare_account(account).to_string();
        let set: BTreeSet<EmployeeDay> = days
            .keys()
            .map(|date| EmployeeDay { employee_id, account: account.clone(), date: *date, change })
            .collect();
        let tz = company.tz()?;
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let written = self.rederive_days(&mut tx, company.id, &tz, &set).await?;
        if let Some(remote) = self.remote_config(company.id).await? {
            self.enqueue_remote(&mut tx, company.id, &tz, remote.settle_minutes, &set).await?;
        }
        tx.commit().await?;
        Ok(written)
    }
}
