//! ログ表示: the received logs, with the employee they belong to (the one who held the
//! サービスアカウント at the log's event time, by the link history) and what became of them.

use sqlx::Row;

use crate::{Result, Store};

#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub account: Option<String>,
    /// `logon` or `logoff`.
    pub kind: Option<String>,
    /// Only logs of linked (`Some(true)`) or unlinked (`Some(false)`) users.
    pub linked: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogView {
    pub event_at_ms: i64,
    pub user_name: String,
    pub account: String,
    pub kind: String,
    pub employee_code: Option<String>,
    pub full_name: Option<String>,
    pub connector_version: String,
    pub computer_name: Option<String>,
    pub agent_no: Option<String>,
    /// The PC punch kind this log became, if it is the day's first or last log.
    pub punch_kind: Option<i64>,
}

fn log_view_from_row(r: &sqlx::any::AnyRow) -> Result<LogView> {
    Ok(LogView {
        event_at_ms: r.try_get("event_at_ms")?,
        user_name: r.try_get("user_name")?,
        account: r.try_get("account")?,
        kind: r.try_get("kind")?,
        employee_code: r.try_get("employee_code")?,
        full_name: r.try_get("full_name")?,
        connector_version: r.try_get("connector_version")?,
        computer_name: r.try_get("computer_name")?,
        agent_no: r.try_get("agent_no")?,
        punch_kind: r.try_get("punch_kind")?,
    })
}

impl Store {
    pub async fn logs(&self, company_id: i64, filter: &LogFilter) -> Result<Vec<LogView>> {
        let remote = crate::port::is_remote(&self.pool, company_id).await?;
        // The relation is one of two constant texts, never input. An open end of the time window
        // is bound as the extreme instant, not as NULL: `event_at_ms >= $2 AND event_at_ms < $3`
        // stays an index range on SQLite, which `($2 IS NULL OR …)` would not.
        let sql = format!(
            "SELECT l.event_at_ms, l.user_name, l.account, l.kind, e.code AS employee_code, \
                    e.last_name || ' ' || e.first_name AS full_name, l.connector_version, l.computer_name, l.agent_no, \
                    (SELECT MIN(p.kind) FROM {} p WHERE p.company_id = l.company_id AND p.employee_id = e.id \
                        AND p.at_ms = l.event_at_ms AND p.method = 'PC') AS punch_kind \
             FROM logs l LEFT JOIN link_history h ON h.company_id = l.company_id AND h.account = l.account \
                  AND (h.from_ms IS NULL OR h.from_ms <= l.event_at_ms) AND (h.to_ms IS NULL OR l.event_at_ms < h.to_ms) \
             LEFT JOIN employees e ON e.id = h.employee_id \
             WHERE l.company_id = $1 AND l.event_at_ms >= $2 AND l.event_at_ms < $3 \
               AND ($4 IS NULL OR l.account = $4) AND ($7 IS NULL OR l.kind = $7) \
               AND ($8 IS NULL OR $8 = (e.id IS NOT NULL)) \
             ORDER BY l.event_at_ms DESC, l.id DESC LIMIT $5 OFFSET $6",
            crate::port::held_punches(remote)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(filter.from_ms.unwrap_or(i64::MIN))
            .bind(filter.to_ms.unwrap_or(i64::MAX))
            .bind(filter.account.as_deref())
            .bind(filter.limit.clamp(1, 100_000))
            .bind(filter.offset.max(0))
            .bind(filter.kind.as_deref())
            .bind(filter.linked)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(log_view_from_row).collect()
    }

    /// How many logs the company has received.
    pub async fn log_count(&self, company_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM logs WHERE company_id = $1")
            .bind(company_id)
            .fetch_one(&self.pool)
            .await?)
    }
}
