//! The facts behind the manual's FAQ (seed §5), and the preview of linking an unlinked user.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use loginrec_rules::{DayChangeTime, bare_account, business_day};
use sqlx::Row;

use crate::history::Apply;
use crate::pipeline::Recomputed;
use crate::pipeline::read::ts;
use crate::{Company, Result, Store};

/// §5.1: a LanScope user name in the logs that no ログイン記録 user is linked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlinkedAccount {
    pub account: String,
    pub logs: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// §5.2.1: a department whose 日付変更時間 differs from LanScope's collection start, now or on
/// days that have logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayChangeMismatch {
    pub department_id: i64,
    pub code: String,
    pub name: String,
    pub current: DayChangeTime,
    /// The first business day with logs that was cut at another time (`None`: no logs yet).
    pub first_affected: Option<Date>,
}

/// §5.2.2: one user name seen from several PCs (agents) on one LanScope day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedAccount {
    pub account: String,
    pub day: Date,
    pub agents: Vec<String>,
}

fn unlinked_account_from_row(r: &sqlx::any::AnyRow) -> Result<UnlinkedAccount> {
    Ok(UnlinkedAccount {
        account: r.try_get("account")?,
        logs: r.try_get("logs")?,
        first_ms: r.try_get("first_ms")?,
        last_ms: r.try_get("last_ms")?,
    })
}

impl Store {
    pub async fn unlinked_accounts(&self, company_id: i64) -> Result<Vec<UnlinkedAccount>> {
        let rows = sqlx::query(
            "SELECT l.account, COUNT(*) AS logs, MIN(l.event_at_ms) AS first_ms, MAX(l.event_at_ms) AS last_ms \
             FROM logs l \
             WHERE l.company_id = $1 AND NOT EXISTS (SELECT 1 FROM link_history h \
                 WHERE h.company_id = l.company_id AND h.account = l.account \
                 AND (h.from_ms IS NULL OR h.from_ms <= l.event_at_ms) AND (h.to_ms IS NULL OR l.event_at_ms < h.to_ms)) \
             GROUP BY l.account ORDER BY l.account LIMIT 500",
        )
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(unlinked_account_from_row).collect()
    }

    /// Departments cut at another time than LanScope's collection start: now, or on a day that
    /// has logs of their employees. Fixing the time from `first_affected` on re-derives every day
    /// that was cut wrongly.
    pub async fn day_change_mismatches(
        &self,
        company: &Company,
        collection_start: DayChangeTime,
    ) -> Result<Vec<DayChangeMismatch>> {
        let tz = company.tz()?;
        let mut conn = self.pool.acquire().await?;
        let timelines = crate::pipeline::department_timelines(&mut conn, company.id).await?;
        let departments = self.attendance().department_list(company.id).await?;
        let mut out = Vec::new();
        for d in departments {
            let Some(timeline) = timelines.get(&d.id) else { continue };
            if timeline.entries().iter().all(|(_, c)| *c == collection_start) {
                continue;
            }
            // The first log of anyone who was in the department, by the link history.
            let first_ms: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(l.event_at_ms) FROM logs l JOIN link_history h ON h.company_id = l.company_id \
                 AND h.account = l.account AND (h.from_ms IS NULL OR h.from_ms <= l.event_at_ms) \
                 AND (h.to_ms IS NULL OR l.event_at_ms < h.to_ms) \
                 WHERE l.company_id = $1 AND h.employee_id IN \
                 (SELECT employee_id FROM employee_departments WHERE company_id = $1 AND department_id = $2)",
            )
            .bind(company.id)
            .bind(d.id)
            .fetch_one(&mut *conn)
            .await?;
            let first_log_day =
                first_ms.map(ts).transpose()?.map(|at| loginrec_rules::business_day_in(at, &tz, timeline));
            // The first period cut at another time that reaches a day with logs.
            let entries = timeline.entries();
            let first_affected = first_log_day.and_then(|first| {
                entries.iter().enumerate().find_map(|(i, (from, change))| {
                    let until = entries.get(i + 1).and_then(|(next, _)| *next);
                    let reaches = until.is_none_or(|u| first < u);
                    (*change != collection_start && reaches).then(|| from.map_or(first, |f| f.max(first)))
                })
            });
            if d.day_change != collection_start || first_affected.is_some() {
                out.push(DayChangeMismatch {
                    department_id: d.id,
                    code: d.code,
                    name: d.name,
                    current: d.day_change,
                    first_affected,
                });
            }
        }
        Ok(out)
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
                let day = business_day(ts(r.try_get("event_at_ms")?)?, &tz, collection_start);
                by_day.entry(day).or_default().insert(r.try_get("agent_no")?);
            }
            for (day, agents) in by_day.into_iter().filter(|(_, a)| a.len() > 1) {
                out.push(SharedAccount { account: account.clone(), day, agents: agents.into_iter().collect() });
            }
        }
        Ok(out)
    }

    /// What linking `account` to the user with `employee_code` from now on would change: the
    /// employee-days before → after, computed by making the change and rolling it back.
    pub async fn preview_link(&self, company: &Company, employee_code: &str, account: &str) -> Result<Recomputed> {
        let links = [(employee_code.to_string(), Some(bare_account(account).to_string()))];
        Ok(self.change_links(company.id, &links, None, Apply::Preview).await?.recomputed)
    }
}
