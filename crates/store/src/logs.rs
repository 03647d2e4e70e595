//! ログ表示: the received logs, with the employee they belong to (the one who held the
//! サービスアカウント at the log's event time, by the link history) and what became of them.

use sqlx::Row;

use crate::bulk::{json, json_rows};
use crate::{Backend, Result, Store};

/// ログ表示 counts the logs that pass its filters up to this many and says "以上" past it: a year
/// of a large company's logs is not counted again for each page.
pub const MATCHING_LOGS_COUNTED: i64 = 1_000;

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
    /// Keyset paging: only logs older (or newer) than this one, instead of an offset that
    /// costs a walk over every log before the page.
    pub cursor: Option<LogCursor>,
}

/// Where a page of ログ表示 starts: the logs [`LogCursor::Older`] or [`LogCursor::Newer`] than
/// the log `(event_at_ms, id)`, its place in ログ表示's order; pages are always returned newest
/// first. Logs of one instant follow the order they were stored in (their ids): every SQLite
/// index ends with the row id, so a page is read from the index by time (`logs_by_time`,
/// `logs_by_kind`) in its order, without the table rows of every log of a busy second to sort
/// them by another column first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogCursor {
    Older(i64, i64),
    Newer(i64, i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogView {
    /// The log's row: with `event_at_ms`, its place in ログ表示's order (a [`LogCursor`]).
    pub id: i64,
    /// The log's idempotency key.
    pub key: String,
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
        id: r.try_get("id")?,
        key: r.try_get("idem_key")?,
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

/// The logs and conditions of ログ表示's filters, shared by the page and its count: the account
/// filter is a case-insensitive partial match on the user name as LanScope wrote it
/// (`CORP\suzuki0002`) or on the bare サービスアカウント. With `accounts` (the number of the
/// parameter that lists them, see [`Store::candidate_accounts`], and how many it lists) only those
/// accounts' logs are read, each through its own index range.
///
/// No table is joined: whether a log's account was held at its time (連携済み / 未連携) is asked
/// of the link history log by log, and who held it is looked up for the page's rows only. Joined
/// here, PostgreSQL planned the joins for the handful of rows it expected of the partial match,
/// and compared every log of a year's ten accounts with every link (3 s a page).
fn filtered_logs(backend: Backend, accounts: Option<(usize, usize)>, kind: bool) -> String {
    // A kind typed is a condition of the index, unless the accounts are read one by one: each
    // account's own index range is the narrower. SQLite reads it from the index by kind and time,
    // given by name: its planner works without statistics in service (see
    // `Store::statistics_as_in_service`) and took the index by time, passing over every log of
    // the other kind (150–290 ms a page at 100 000 employees). PostgreSQL compares it in its
    // index by time, which carries the kind (migration 0028).
    let by_kind = kind && accounts.is_none();
    let (from, only) = match accounts {
        None if by_kind && backend == Backend::Sqlite => ("logs l INDEXED BY logs_by_kind".to_string(), ""),
        None => ("logs l".to_string(), ""),
        // The list's length is written into the statement: PostgreSQL takes a list it cannot see
        // into for 100 rows, and read the whole table rather than 100 accounts' logs.
        Some((param, count)) => (
            format!("(SELECT j.value FROM {} LIMIT {count}) AS j CROSS JOIN logs l", json_rows(backend, param)),
            " AND l.account = (j.value->>0)",
        ),
    };
    let kind = if by_kind { "l.kind = $5" } else { "($5 IS NULL OR l.kind = $5)" };
    format!(
        " FROM {from} \
          WHERE l.company_id = $1{only} AND l.event_at_ms >= $2 AND l.event_at_ms < $3 \
            AND ($4 IS NULL OR lower(l.user_name) LIKE $4 ESCAPE '!' OR lower(l.account) LIKE $4 ESCAPE '!') \
            AND {kind} AND ($6 IS NULL OR $6 = EXISTS (SELECT 1 FROM link_history h WHERE {HELD_AT_ITS_TIME}))"
    )
}

/// The link `h` by which the log `l`'s account was held at the log's time.
const HELD_AT_ITS_TIME: &str = "h.company_id = l.company_id AND h.account = l.account \
    AND (h.from_ms IS NULL OR h.from_ms <= l.event_at_ms) AND (h.to_ms IS NULL OR l.event_at_ms < h.to_ms)";

/// How many days a log's business day may fall before or after the UTC date of its time: its
/// local date is within a day of the UTC date, and its business day is that date or up to three
/// days before it (`loginrec_rules::business_day_in`).
const BUSINESS_DAY_BEFORE_UTC_DATE: i64 = 4;
const BUSINESS_DAY_AFTER_UTC_DATE: i64 = 1;

/// SQL for the UTC date (`YYYY-MM-DD`, as dates are stored) `days` after the instant in the
/// milliseconds column `ms`. ログ表示 looks a log's punch up by it: the punch's employee and an
/// index range of a few dates, instead of every punch the employee ever had (730 a year, for
/// each log of the page: `loginrec-bench year` on SQLite, the unfiltered pages 98 ms → 6 ms).
fn utc_date(backend: Backend, ms: &str, days: i64) -> String {
    let seconds = days * 86_400;
    match backend {
        Backend::Sqlite => format!("date({ms} / 1000 + {seconds}, 'unixepoch')"),
        Backend::Postgres => {
            format!("to_char(to_timestamp({ms} / 1000 + {seconds}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
    }
}

/// At most this many accounts are read one by one; a filter that can match more reads the logs
/// in time order instead, where such matches are dense enough to fill a page soon.
const ACCOUNTS_READ_ONE_BY_ONE: usize = 64;

/// `%text%` for `LIKE … ESCAPE '!'`, lower-cased: what was typed, anywhere in the value.
fn contains_pattern(typed: &str) -> String {
    let mut pattern = String::from("%");
    for c in typed.to_lowercase().chars() {
        if matches!(c, '!' | '%' | '_') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether the trigram index can look `typed` up: it needs three characters.
fn has_trigram(typed: &str) -> bool {
    typed.chars().nth(2).is_some()
}

/// `typed` as one FTS5 phrase: with the trigram tokenizer, the values that contain it, whatever
/// its case.
fn fts_phrase(typed: &str) -> String {
    format!("\"{}\"", typed.replace('"', "\"\""))
}

impl LogFilter {
    /// `[from, to)` of the event times, narrowed to the cursor's side so that the page stays an
    /// index range. An open end is the extreme instant, not NULL: `event_at_ms >= $2 AND
    /// event_at_ms < $3` stays an index range on SQLite, which `($2 IS NULL OR …)` would not.
    fn window(&self) -> (i64, i64) {
        let (mut from, mut to) = (self.from_ms.unwrap_or(i64::MIN), self.to_ms.unwrap_or(i64::MAX));
        match &self.cursor {
            Some(LogCursor::Older(at, _)) => to = to.min(at.saturating_add(1)),
            Some(LogCursor::Newer(at, _)) => from = from.max(*at),
            None => {}
        }
        (from, to)
    }

    /// Binds `$1`…`$6` of [`filtered_logs!`].
    fn bind<'q>(
        &'q self,
        company_id: i64,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        query
            .bind(company_id)
            .bind(self.window().0)
            .bind(self.window().1)
            .bind(self.account.as_deref().map(contains_pattern))
            .bind(self.kind.as_deref())
            .bind(self.linked)
    }
}

impl Store {
    /// The accounts whose logs can pass a filter that few logs pass (a サービスアカウント typed, or
    /// 未連携), when they are few enough to read one by one; `None` to read the logs in time
    /// order. Found among the user names the company's logs came with (`log_accounts`), not
    /// among the logs: an account whose holder held it for all time has no 未連携 log.
    async fn candidate_accounts(&self, company_id: i64, filter: &LogFilter) -> Result<Option<Vec<(String,)>>> {
        if filter.account.is_none() && filter.linked != Some(false) {
            return Ok(None);
        }
        // Each piece is one of a few constant texts, never input.
        let trigrams = self.backend == Backend::Sqlite && filter.account.as_deref().is_some_and(has_trigram);
        // An account is the end of its user name (`bare_account`), so what the typed text is part
        // of an account, it is part of the user name too: the user name alone is compared, and
        // PostgreSQL needs its trigram index only.
        let typed = if trigrams {
            // The trigram index gives the accounts that may match; the comparison decides.
            " AND la.rowid IN (SELECT rowid FROM log_accounts_text WHERE log_accounts_text MATCH $3) \
             AND lower(la.user_name) LIKE $2 ESCAPE '!'"
        } else {
            " AND lower(la.user_name) LIKE $2 ESCAPE '!'"
        };
        let mut sql = if filter.linked == Some(false) {
            // Those are few, and listed by index: no need to look at every account seen.
            let mut sql = String::from("SELECT u.account FROM unheld_accounts u WHERE u.company_id = $1");
            if filter.account.is_some() {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM log_accounts la WHERE la.company_id = u.company_id \
                     AND la.account = u.account{typed})"
                ));
            }
            sql
        } else {
            format!("SELECT DISTINCT la.account FROM log_accounts la WHERE la.company_id = $1{typed}")
        };
        sql.push_str(&format!(" LIMIT {}", ACCOUNTS_READ_ONE_BY_ONE + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id);
        if let Some(account) = &filter.account {
            query = query.bind(contains_pattern(account));
            if trigrams {
                query = query.bind(fts_phrase(account));
            }
        }
        let accounts: Vec<(String,)> =
            query.fetch_all(&self.pool).await?.iter().map(|r| Ok((r.try_get("account")?,))).collect::<Result<_>>()?;
        Ok((accounts.len() <= ACCOUNTS_READ_ONE_BY_ONE).then_some(accounts))
    }

    /// A page of the logs that pass the filters, newest first: `limit` logs from the cursor's,
    /// or after skipping `offset` of them when there is no cursor.
    pub async fn logs(&self, company_id: i64, filter: &LogFilter) -> Result<Vec<LogView>> {
        let accounts = self.candidate_accounts(company_id, filter).await?;
        if accounts.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let remote = crate::port::is_remote(&self.pool, company_id).await?;
        // Each piece is one of a few constant texts, never input.
        let (place, order) = match filter.cursor {
            None => ("", "DESC"),
            Some(LogCursor::Older(..)) => (" AND (l.event_at_ms < $9 OR (l.event_at_ms = $9 AND l.id < $10))", "DESC"),
            Some(LogCursor::Newer(..)) => (" AND (l.event_at_ms > $9 OR (l.event_at_ms = $9 AND l.id > $10))", "ASC"),
        };
        let accounts_param = if filter.cursor.is_some() { 11 } else { 9 };
        // The page's logs first, then who held each one's account and the punch it became.
        let sql = format!(
            "SELECT l.id, l.idem_key, l.event_at_ms, l.user_name, l.account, l.kind, e.code AS employee_code, \
                e.last_name || ' ' || e.first_name AS full_name, \
                COALESCE((SELECT c.version FROM connectors c WHERE c.id = l.connector_id), '') AS connector_version, \
                l.computer_name, l.agent_no, \
                (SELECT MIN(p.kind) FROM {} p WHERE p.company_id = l.company_id AND p.employee_id = e.id \
                    AND p.business_date >= {} AND p.business_date <= {} \
                    AND p.at_ms = l.event_at_ms AND p.method = 'PC') AS punch_kind \
             FROM (SELECT l.id, l.company_id, l.idem_key, l.event_at_ms, l.user_name, l.account, l.kind, \
                   l.connector_id, l.computer_name, l.agent_no{}{place} \
                   ORDER BY l.event_at_ms {order}, l.id {order} LIMIT $7 OFFSET $8) AS l \
             LEFT JOIN link_history h ON {HELD_AT_ITS_TIME} \
             LEFT JOIN employees e ON e.id = h.employee_id \
             ORDER BY l.event_at_ms {order}, l.id {order}",
            crate::port::held_punches(remote),
            utc_date(self.backend, "l.event_at_ms", -BUSINESS_DAY_BEFORE_UTC_DATE),
            utc_date(self.backend, "l.event_at_ms", BUSINESS_DAY_AFTER_UTC_DATE),
            filtered_logs(self.backend, accounts.as_ref().map(|a| (accounts_param, a.len())), filter.kind.is_some()),
        );
        let (at, id) = match filter.cursor {
            Some(LogCursor::Older(at, id) | LogCursor::Newer(at, id)) => (at, id),
            None => (0, 0),
        };
        let mut query = filter
            .bind(company_id, sqlx::query(sqlx::AssertSqlSafe(sql)))
            .bind(filter.limit.clamp(1, 100_000))
            .bind(if filter.cursor.is_some() { 0 } else { filter.offset.max(0) });
        if filter.cursor.is_some() {
            query = query.bind(at).bind(id);
        }
        if let Some(accounts) = &accounts {
            query = query.bind(json(accounts));
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut logs = rows.iter().map(log_view_from_row).collect::<Result<Vec<_>>>()?;
        if matches!(filter.cursor, Some(LogCursor::Newer(..))) {
            logs.reverse();
        }
        Ok(logs)
    }

    /// How many logs pass the filters (their paging aside), counted up to `cap`: past it the page
    /// says "cap 件以上" rather than count a year of logs on each page.
    pub async fn log_count_matching(&self, company_id: i64, filter: &LogFilter, cap: i64) -> Result<i64> {
        let accounts = self.candidate_accounts(company_id, filter).await?;
        if accounts.as_ref().is_some_and(Vec::is_empty) {
            return Ok(0);
        }
        let sql = format!(
            "SELECT COUNT(*) AS logs FROM (SELECT 1{} LIMIT $7) AS m",
            filtered_logs(self.backend, accounts.as_ref().map(|a| (8, a.len())), filter.kind.is_some())
        );
        let whole = LogFilter { cursor: None, ..filter.clone() };
        let mut query = whole.bind(company_id, sqlx::query(sqlx::AssertSqlSafe(sql))).bind(cap.max(0));
        if let Some(accounts) = &accounts {
            query = query.bind(json(accounts));
        }
        Ok(query.fetch_one(&self.pool).await?.try_get("logs")?)
    }

    /// The connectors (version, host) the company's logs came from, each once.
    pub async fn connectors_seen(&self, company_id: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT version, host FROM connectors WHERE company_id = $1 ORDER BY id")
            .bind(company_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("version")?, r.try_get("host")?))).collect()
    }

    /// How many logs the company has received.
    pub async fn log_count(&self, company_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM logs WHERE company_id = $1")
            .bind(company_id)
            .fetch_one(&self.pool)
            .await?)
    }
}
