//! Changes of the masters that decide punches, each with an effective date or moment, and the
//! punches they re-derive: サービスアカウント links, departments' 日付変更時間, employees' 所属,
//! 手入力 punches, and rebuilding the cache from scratch.
//!
//! What must stay true:
//! - **History is kept, never rewritten behind the effective date.** A change holds from its
//!   effective date (or moment, for links) on and replaces what was planned after it; every
//!   day before it keeps what the history said ([`loginrec_rules::Timeline::set_from`],
//!   [`loginrec_rules::relink`]).
//! - **One transaction.** The history rows, the denormalised current values (`lr_users.
//!   service_account`, `departments.day_change_minutes`, `employees.department_id`), the
//!   re-derived punches and the remote outbox change together, under the company's exclusive
//!   lock, or not at all.
//! - **Preview is the change itself, rolled back** ([`Apply::Preview`]): what the screen shows
//!   before saving is exactly what saving does.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use loginrec_rules::validation::ServiceAccount;
use loginrec_rules::{DayChangeTime, LinkInterval, Timeline, business_day_in, relink};
use sqlx::{AnyConnection, Row};

use crate::bulk::{json, json_rows, select_json};
use crate::day_change::day_change_minutes;
use crate::pipeline::{self, CompanyContext, DateRange, Recomputed, Schedules, Scope};
use crate::{Backend, Missing, Refusal, Result, Store, StoreError, now_ms};

/// Whether a change is saved or only shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    Commit,
    /// Computes everything, then rolls back: nothing is saved.
    Preview,
}

/// What a link import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkReport {
    /// Users whose row was in the import (`N件のアカウントを更新`).
    pub updated: usize,
    pub recomputed: Recomputed,
}

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_millisecond())
}

/// Replaces the stored link history of the given accounts, each listed once, `had_history` the
/// ones among them that have some: one DELETE and one INSERT whatever their number. A first
/// import deletes nothing and does not ask.
async fn store_account_links(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
    accounts: &[(&str, &[LinkInterval<i64>])],
    had_history: &[(&str,)],
) -> Result<()> {
    if accounts.is_empty() {
        return Ok(());
    }
    if !had_history.is_empty() {
        let delete = format!(
            "DELETE FROM link_history WHERE company_id = $1 AND account IN (SELECT value->>0 FROM {})",
            json_rows(backend, 2)
        );
        sqlx::query(sqlx::AssertSqlSafe(delete)).bind(company_id).bind(json(had_history)).execute(&mut *conn).await?;
    }
    keep_unheld_accounts(conn, backend, company_id, accounts).await?;
    let rows: Vec<(&str, i64, Option<i64>, Option<i64>)> = accounts
        .iter()
        .flat_map(|(account, intervals)| intervals.iter().map(|i| (*account, i.employee, ms(i.from), ms(i.to))))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO link_history (company_id, account, employee_id, from_ms, to_ms, changed_at_ms) \
         SELECT $1, value->>0, CAST(value->>1 AS BIGINT), CAST(value->>2 AS BIGINT), CAST(value->>3 AS BIGINT), $2 \
         FROM {} ORDER BY j.key",
        json_rows(backend, 3)
    );
    sqlx::query(sqlx::AssertSqlSafe(insert))
        .bind(company_id)
        .bind(now_ms())
        .bind(json(&rows))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keeps `unheld_accounts` (ログ表示's 未連携 candidates) true for accounts whose history is
/// being replaced: an account seen in logs is listed unless its new history is one employee
/// for all time.
async fn keep_unheld_accounts(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
    accounts: &[(&str, &[LinkInterval<i64>])],
) -> Result<()> {
    // A company with no logs yet (its first 連携設定 import) has none to forget, and a list of
    // 100 000 accounts costs PostgreSQL 75 ms to read even so.
    let any_unheld: Option<i64> = sqlx::query_scalar("SELECT 1 FROM unheld_accounts WHERE company_id = $1 LIMIT 1")
        .bind(company_id)
        .fetch_optional(&mut *conn)
        .await?;
    if any_unheld.is_some() {
        let names: Vec<(&str,)> = accounts.iter().map(|(account, _)| (*account,)).collect();
        let delete = format!(
            "DELETE FROM unheld_accounts WHERE company_id = $1 AND account IN (SELECT value->>0 FROM {})",
            json_rows(backend, 2)
        );
        sqlx::query(sqlx::AssertSqlSafe(delete)).bind(company_id).bind(json(&names)).execute(&mut *conn).await?;
    }
    let unheld: Vec<(&str,)> = accounts
        .iter()
        .filter(|(_, intervals)| !intervals.iter().any(|i| i.from.is_none() && i.to.is_none()))
        .map(|(account, _)| (*account,))
        .collect();
    if unheld.is_empty() {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO unheld_accounts (company_id, account) SELECT DISTINCT $1, la.account FROM {} \
         CROSS JOIN log_accounts la WHERE la.company_id = $1 AND la.account = (j.value->>0)",
        json_rows(backend, 2)
    );
    sqlx::query(sqlx::AssertSqlSafe(insert)).bind(company_id).bind(json(&unheld)).execute(&mut *conn).await?;
    Ok(())
}

/// Writes the current links as 連携設定 shows them (`lr_users.service_account`), by user id: every
/// account in `clear` is emptied first, so that two users can swap and an account a removed user
/// still holds can be given; then each user of `set` gets its account. Two statements.
///
/// By primary key rather than by company and code: without statistics (a company's first
/// import) PostgreSQL estimated a company's live users as one row and joined the list to each
/// of them in turn, which took minutes at 30 000 users.
async fn set_current_links(
    conn: &mut AnyConnection,
    backend: Backend,
    clear: &[(i64,)],
    set: &[(i64, &str)],
) -> Result<()> {
    if !clear.is_empty() {
        let sql = format!(
            "UPDATE lr_users SET service_account = NULL WHERE id IN (SELECT CAST(value->>0 AS BIGINT) FROM {})",
            json_rows(backend, 1)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json(clear)).execute(&mut *conn).await?;
    }
    if !set.is_empty() {
        let sql = format!(
            "WITH v AS MATERIALIZED (SELECT CAST(value->>0 AS BIGINT) AS id, value->>1 AS account FROM {}) \
             UPDATE lr_users SET service_account = v.account FROM v WHERE lr_users.id = v.id",
            json_rows(backend, 1)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json(set)).execute(&mut *conn).await?;
    }
    Ok(())
}

/// One account's link history before and after a change.
type Relink = (Vec<LinkInterval<i64>>, Vec<LinkInterval<i64>>);

/// The employee-days changes of accounts' holders from `at` on affect: for each employee who
/// held one before or after, every day from the one holding `at` on (or every day, where the
/// holding now reaches back to the beginning).
async fn scope_of_relinks(
    conn: &mut AnyConnection,
    ctx: &CompanyContext,
    moved: &[Relink],
    at: Timestamp,
) -> Result<(Scope, Schedules)> {
    let employees: Vec<i64> = moved
        .iter()
        .flat_map(|(before, after)| before.iter().chain(after))
        .map(|i| i.employee)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let schedules = pipeline::schedules(conn, ctx.id, &employees).await?;
    let mut scope = Scope::default();
    for (before, after) in moved {
        let whole = after.iter().any(|i| i.from.is_none()) && !before.iter().any(|i| i.from.is_none());
        for employee in before.iter().chain(after).map(|i| i.employee).collect::<BTreeSet<_>>() {
            let from = if whole {
                None
            } else {
                let schedule = schedules.get(&employee).cloned().unwrap_or_default();
                Some(business_day_in(at, &ctx.tz, &schedule))
            };
            scope.add(employee, DateRange { from, to: None });
        }
    }
    Ok((scope, schedules))
}

/// One holder of a サービスアカウント over time, as 連携設定 lists the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkHistoryRow {
    pub account: String,
    pub employee_code: String,
    pub full_name: String,
    /// `None`: from the beginning / still holds.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Every live user of the company by 打刻先アカウント, with its employee: each table read once,
/// rather than a query per row (imports can list 100 000), and matched here by key. Joined in
/// the database, PostgreSQL looked each user's employee up one by one whenever its statistics
/// predated the employees (as they do right after an employee import).
async fn live_users(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
) -> Result<BTreeMap<String, LinkedUser>> {
    let employees: HashMap<String, i64> = select_json::<(String, i64)>(
        conn,
        backend,
        "employee_key, id",
        "FROM employees WHERE company_id = $1",
        company_id,
    )
    .await?
    .into_iter()
    .collect();
    let users: Vec<(i64, String, String, Option<String>)> = select_json(
        conn,
        backend,
        "id, employee_code, employee_key, service_account",
        "FROM lr_users WHERE company_id = $1 AND removed_at_ms IS NULL",
        company_id,
    )
    .await?;
    Ok(users
        .into_iter()
        .filter_map(|(id, employee_code, key, account)| {
            let employee_id = *employees.get(&key)?;
            Some((employee_code.clone(), LinkedUser { id, employee_code, employee_id, account }))
        })
        .collect())
}

/// The live employee behind a ログイン記録 user, by 打刻先アカウント.
struct LinkedUser {
    /// `lr_users.id`.
    id: i64,
    employee_code: String,
    employee_id: i64,
    account: Option<String>,
}

impl Store {
    pub(crate) async fn begin_change(
        &self,
        company_id: i64,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Any>, CompanyContext)> {
        let mut tx = self.pool.begin().await?;
        pipeline::lock_company(&mut tx, self.backend, company_id, true).await?;
        let ctx = CompanyContext { held_exclusively: true, ..CompanyContext::load(&mut tx, company_id).await? };
        Ok((tx, ctx))
    }

    async fn finish_change(&self, tx: sqlx::Transaction<'static, sqlx::Any>, apply: Apply) -> Result<()> {
        match apply {
            Apply::Commit => tx.commit().await?,
            Apply::Preview => tx.rollback().await?,
        }
        Ok(())
    }

    /// 連携設定 import: sets the サービスアカウント of the listed users (by 打刻先アカウント) from
    /// `effective` on (default now); users not listed keep theirs. `None` unlinks. All or
    /// nothing. An account a removed user still holds is taken from it. The logs of every moved
    /// interval are derived again for their old and new holders.
    pub async fn change_links(
        &self,
        company_id: i64,
        links: &[(String, Option<String>)],
        effective: Option<Timestamp>,
        apply: Apply,
    ) -> Result<LinkReport> {
        // The one place links are written: every account is checked here, whichever screen or
        // command it came from.
        for account in links.iter().filter_map(|(_, account)| account.as_deref()) {
            ServiceAccount::parse(account).map_err(|e| StoreError::Refused(Refusal::Account(e)))?;
        }
        let at = effective.unwrap_or_else(Timestamp::now);
        let _guard = self.write_guard().await;
        let (mut tx, ctx) = self.begin_change(company_id).await?;
        let result: Result<_> = async {
            let live = live_users(&mut tx, self.backend, company_id).await?;
            let holders: BTreeMap<&str, &str> =
                live.values().filter_map(|u| u.account.as_deref().map(|a| (a, u.employee_code.as_str()))).collect();
            let mut users: Vec<&LinkedUser> = Vec::new();
            for (code, _) in links {
                users.push(live.get(code).ok_or_else(|| StoreError::NotFound(Missing::User(code.clone())))?);
            }
            let mut listed: BTreeSet<&str> = BTreeSet::new();
            for (code, _) in links {
                if !listed.insert(code.as_str()) {
                    return Err(StoreError::Refused(Refusal::UserTwice(code.clone())));
                }
            }
            // Who holds each account once the import is done: the listed user who gets it.
            let mut new_holder: BTreeMap<String, i64> = BTreeMap::new();
            for ((_, account), user) in links.iter().zip(&users) {
                let Some(account) = account else { continue };
                if new_holder.insert(account.clone(), user.employee_id).is_some() {
                    return Err(StoreError::Refused(Refusal::AccountTwice(account.clone())));
                }
                if let Some(holder) = holders.get(account.as_str()).filter(|h| !listed.contains(*h)) {
                    return Err(StoreError::Refused(Refusal::AccountHeld {
                        account: account.clone(),
                        holder: holder.to_string(),
                    }));
                }
            }
            // Every account whose holder changes: the ones given, and the ones their users leave.
            let mut touched: BTreeMap<String, Option<i64>> = BTreeMap::new();
            for ((_, account), user) in links.iter().zip(&users) {
                if *account == user.account {
                    continue;
                }
                if let Some(old) = &user.account {
                    touched.entry(old.clone()).or_insert_with(|| new_holder.get(old).copied());
                }
                if let Some(new) = account {
                    touched.insert(new.clone(), Some(user.employee_id));
                }
            }
            let accounts: Vec<&str> = touched.keys().map(String::as_str).collect();
            let histories = pipeline::links_of_accounts(&mut tx, company_id, &accounts).await?;
            let moved: Vec<Relink> = touched
                .iter()
                .map(|(account, holder)| {
                    let before = histories.get(account).cloned().unwrap_or_default();
                    let after = relink(&before, at, *holder);
                    (before, after)
                })
                .collect();
            let stored: Vec<(&str, &[LinkInterval<i64>])> =
                touched.keys().zip(&moved).map(|(account, (_, after))| (account.as_str(), after.as_slice())).collect();
            let had_history: Vec<(&str,)> = touched
                .keys()
                .zip(&moved)
                .filter(|(_, (before, _))| !before.is_empty())
                .map(|(account, _)| (account.as_str(),))
                .collect();
            store_account_links(&mut tx, self.backend, company_id, &stored, &had_history).await?;
            // The schedules of every employee in the scope: the derivation below needs them too.
            let (scope, schedules) = scope_of_relinks(&mut tx, &ctx, &moved, at).await?;
            // Users whose account stays are left alone: no one else can be given it.
            let changing: Vec<(&Option<String>, &LinkedUser)> = links
                .iter()
                .zip(&users)
                .map(|((_, account), user)| (account, *user))
                .filter(|(a, u)| **a != u.account)
                .collect();
            let given: BTreeSet<&str> = changing.iter().filter_map(|(account, _)| account.as_deref()).collect();
            let removed_holders: Vec<(i64, String)> = sqlx::query(
                "SELECT id, service_account FROM lr_users WHERE company_id = $1 AND removed_at_ms IS NOT NULL \
                 AND service_account IS NOT NULL",
            )
            .bind(company_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("service_account")?)))
            .collect::<Result<_>>()?;
            let clear: Vec<(i64,)> = changing
                .iter()
                .filter(|(_, user)| user.account.is_some())
                .map(|(_, user)| (user.id,))
                .chain(removed_holders.iter().filter(|(_, a)| given.contains(a.as_str())).map(|(id, _)| (*id,)))
                .collect();
            let set: Vec<(i64, &str)> =
                changing.iter().filter_map(|(account, user)| account.as_deref().map(|a| (user.id, a))).collect();
            set_current_links(&mut tx, self.backend, &clear, &set).await?;
            pipeline::rederive_with(
                &mut tx,
                self.backend,
                &ctx,
                &scope,
                pipeline::Known { schedules: Some(schedules), links: None, ingest: false },
            )
            .await
        }
        .await;
        let recomputed = self.settle(tx, result, apply).await?;
        Ok(LinkReport { updated: links.len(), recomputed })
    }

    /// Every holder each サービスアカウント had, by account then time (at most `limit` rows).
    pub async fn link_history(&self, company_id: i64, limit: i64) -> Result<Vec<LinkHistoryRow>> {
        let rows = sqlx::query(
            "SELECT h.account, e.code, e.last_name, e.first_name, h.from_ms, h.to_ms FROM link_history h \
             JOIN employees e ON e.id = h.employee_id WHERE h.company_id = $1 \
             ORDER BY h.account, CASE WHEN h.from_ms IS NULL THEN 0 ELSE 1 END, h.from_ms LIMIT $2",
        )
        .bind(company_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let last: String = r.try_get("last_name")?;
                let first: String = r.try_get("first_name")?;
                Ok(LinkHistoryRow {
                    account: r.try_get("account")?,
                    employee_code: r.try_get("code")?,
                    full_name: format!("{last} {first}"),
                    from_ms: r.try_get("from_ms")?,
                    to_ms: r.try_get("to_ms")?,
                })
            })
            .collect()
    }

    /// Sets a department's 日付変更時間 from business date `from` on (default: the department's
    /// current business date), inside a change; adds the days of its employees it may move.
    pub(crate) async fn set_department_day_change(
        conn: &mut AnyConnection,
        ctx: &CompanyContext,
        department_id: i64,
        change: DayChangeTime,
        from: Option<Date>,
        scope: &mut Scope,
    ) -> Result<()> {
        let timelines = pipeline::department_timelines(conn, ctx.id).await?;
        let before = timelines.get(&department_id).cloned().unwrap_or_default();
        let from = from.unwrap_or_else(|| business_day_in(Timestamp::now(), &ctx.tz, &before));
        let mut after = before.clone();
        after.set_from(from, change);
        if after == before {
            return Ok(());
        }
        let entries: Vec<(Option<Date>, i64)> =
            after.entries().iter().map(|(d, c)| (*d, day_change_minutes(*c))).collect();
        TimelineTable::DepartmentDayChanges.replace(conn, ctx.id, department_id, &entries).await?;
        sqlx::query("UPDATE departments SET day_change_minutes = $1 WHERE company_id = $2 AND id = $3")
            .bind(last_value(&after).map(day_change_minutes).unwrap_or_default())
            .bind(ctx.id)
            .bind(department_id)
            .execute(&mut *conn)
            .await?;
        // The day before `from` ends where `from` starts, so it may change too.
        let first = if before.is_empty() { None } else { from.yesterday().ok() };
        let members: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT employee_id FROM employee_departments WHERE company_id = $1 AND department_id = $2",
        )
        .bind(ctx.id)
        .bind(department_id)
        .fetch_all(&mut *conn)
        .await?;
        for employee in members {
            scope.add(employee, DateRange { from: first, to: None });
        }
        Ok(())
    }

    /// Moves an employee to a department from business date `from` on (default: the employee's
    /// current business date), inside a change. A new employee's first 所属 holds from the
    /// beginning.
    /// `schedule` is the employee's, as [`pipeline::schedules`] read it in this transaction.
    pub(crate) async fn set_employee_department(
        conn: &mut AnyConnection,
        ctx: &CompanyContext,
        employee_id: i64,
        schedule: &loginrec_rules::EmployeeSchedule,
        department_id: i64,
        from: Option<Date>,
        scope: &mut Scope,
    ) -> Result<()> {
        let Some(moved) = department_move(ctx, schedule, department_id, from, Timestamp::now()) else {
            return Ok(());
        };
        TimelineTable::EmployeeDepartments.replace(conn, ctx.id, employee_id, &moved.entries).await?;
        sqlx::query("UPDATE employees SET department_id = $1 WHERE company_id = $2 AND id = $3")
            .bind(moved.current)
            .bind(ctx.id)
            .bind(employee_id)
            .execute(&mut *conn)
            .await?;
        if let Some(days) = moved.days {
            scope.add(employee_id, days);
        }
        Ok(())
    }

    /// Writes the moves of many employees, keyed by employee id, inside a change: their whole
    /// 所属 histories and current departments, with one statement each whatever their number.
    pub(crate) async fn write_department_moves(
        conn: &mut AnyConnection,
        backend: Backend,
        company_id: i64,
        moves: &BTreeMap<i64, DepartmentMove>,
    ) -> Result<()> {
        if moves.is_empty() {
            return Ok(());
        }
        let timelines: Vec<(i64, &Entries)> = moves.iter().map(|(id, m)| (*id, m.entries.as_slice())).collect();
        TimelineTable::EmployeeDepartments.replace_many(conn, backend, company_id, &timelines).await?;
        let current: Vec<(i64, i64)> = moves.iter().map(|(id, m)| (*id, m.current)).collect();
        let sql = format!(
            "WITH v AS MATERIALIZED (SELECT CAST(value->>0 AS BIGINT) AS id, CAST(value->>1 AS BIGINT) AS dept \
             FROM {}) \
             UPDATE employees SET department_id = v.dept FROM v WHERE employees.company_id = $1 AND employees.id = v.id",
            json_rows(backend, 2)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(json(&current)).execute(&mut *conn).await?;
        Ok(())
    }

    /// Derives every punch of `[from, to]` (unbounded where `None`) from scratch from the stored
    /// logs and histories, and (with [`Apply::Commit`]) writes what differs. Returns the
    /// employee-days that differ from the cache.
    pub async fn rebuild_punches(
        &self,
        company_id: i64,
        from: Option<Date>,
        to: Option<Date>,
        apply: Apply,
    ) -> Result<Recomputed> {
        let _guard = self.write_guard().await;
        let (mut tx, ctx) = self.begin_change(company_id).await?;
        let result: Result<_> = async {
            let employees: Vec<i64> = sqlx::query_scalar("SELECT id FROM employees WHERE company_id = $1 ORDER BY id")
                .bind(company_id)
                .fetch_all(&mut *tx)
                .await?;
            let mut out = Recomputed::default();
            // A few thousand employees per pass keep each pass's reads and memory bounded.
            for chunk in employees.chunks(2000) {
                let mut scope = Scope::default();
                for id in chunk {
                    scope.add(*id, DateRange { from, to });
                }
                out.extend(pipeline::rederive(&mut tx, self.backend, &ctx, &scope).await?);
            }
            Ok(out)
        }
        .await;
        self.settle(tx, result, apply).await
    }

    /// Commits (or, for a preview, rolls back) a change that succeeded, and rolls back one that
    /// failed, explicitly: on SQLite a transaction merely dropped would hold the write lock until
    /// its connection is next used, after the write guard has let the next writer in.
    pub(crate) async fn settle<T>(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
        result: Result<T>,
        apply: Apply,
    ) -> Result<T> {
        match result {
            Ok(value) => {
                self.finish_change(tx, apply).await?;
                Ok(value)
            }
            Err(e) => {
                tx.rollback().await.ok();
                Err(e)
            }
        }
    }
}

fn last_value<T: Copy>(timeline: &Timeline<T>) -> Option<T> {
    timeline.entries().last().map(|(_, v)| *v)
}

/// An employee's 所属 history once moved, as [`department_move`] works it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DepartmentMove {
    /// Every entry of the history, (effective from, department id); `None` is "from the
    /// beginning".
    pub entries: Vec<(Option<Date>, i64)>,
    /// The department the history ends in, kept denormalised in `employees.department_id`.
    pub current: i64,
    /// The days whose punches may move: from the day before the move, which now ends where the
    /// move's first day starts. `None` for an employee who had no 所属 yet.
    pub days: Option<DateRange>,
}

/// The move of an employee to `department_id` from business date `from` on (default: the
/// employee's business date at `now`), or `None` when its 所属 history already says so.
/// `schedule` is the employee's, as [`pipeline::schedules`] read it in the change's transaction.
pub(crate) fn department_move(
    ctx: &CompanyContext,
    schedule: &loginrec_rules::EmployeeSchedule,
    department_id: i64,
    from: Option<Date>,
    now: Timestamp,
) -> Option<DepartmentMove> {
    let before = &schedule.departments;
    let from = from.unwrap_or_else(|| business_day_in(now, &ctx.tz, schedule));
    let mut after = before.clone();
    after.set_from(from, department_id);
    if after == *before {
        return None;
    }
    let days = (!before.is_empty()).then(|| DateRange { from: from.yesterday().ok(), to: None });
    Some(DepartmentMove {
        entries: after.entries().to_vec(),
        current: last_value(&after).unwrap_or(department_id),
        days,
    })
}

/// A stored timeline's rows: (effective from, value); `None` is "from the beginning".
type Entries = [(Option<Date>, i64)];

/// The two effective-dated timelines that are stored as rows.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TimelineTable {
    /// A department's 日付変更時間 (minutes after midnight).
    DepartmentDayChanges,
    /// An employee's 所属 (department id).
    EmployeeDepartments,
}

impl TimelineTable {
    /// Table, owner column, value column.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            TimelineTable::DepartmentDayChanges => ("department_day_changes", "department_id", "day_change_minutes"),
            TimelineTable::EmployeeDepartments => ("employee_departments", "employee_id", "department_id"),
        }
    }

    /// Adds one entry; `None` holds from the beginning.
    pub(crate) async fn insert(
        self,
        conn: &mut AnyConnection,
        company_id: i64,
        owner: i64,
        from: Option<Date>,
        value: i64,
    ) -> Result<()> {
        let (table, owner_column, value_column) = self.names();
        let sql = format!(
            "INSERT INTO {table} (company_id, {owner_column}, effective_from, {value_column}) VALUES ($1, $2, $3, $4)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(company_id)
            .bind(owner)
            .bind(from.map(|d| d.to_string()))
            .bind(value)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Replaces every stored entry of the given owners' timelines, each owner listed once: one
    /// DELETE and one INSERT whatever their number. The entries keep the order given.
    async fn replace_many(
        self,
        conn: &mut AnyConnection,
        backend: Backend,
        company_id: i64,
        timelines: &[(i64, &Entries)],
    ) -> Result<()> {
        let (table, owner_column, value_column) = self.names();
        let owners: Vec<(i64,)> = timelines.iter().map(|(owner, _)| (*owner,)).collect();
        let delete = format!(
            "DELETE FROM {table} WHERE company_id = $1 AND {owner_column} IN \
             (SELECT CAST(value->>0 AS BIGINT) FROM {})",
            json_rows(backend, 2)
        );
        sqlx::query(sqlx::AssertSqlSafe(delete)).bind(company_id).bind(json(&owners)).execute(&mut *conn).await?;
        let entries: Vec<(i64, Option<String>, i64)> = timelines
            .iter()
            .flat_map(|(owner, entries)| {
                entries.iter().map(|(from, value)| (*owner, from.map(|d| d.to_string()), *value))
            })
            .collect();
        let insert = format!(
            "INSERT INTO {table} (company_id, {owner_column}, effective_from, {value_column}) \
             SELECT $1, CAST(value->>0 AS BIGINT), value->>1, CAST(value->>2 AS BIGINT) FROM {} ORDER BY j.key",
            json_rows(backend, 2)
        );
        sqlx::query(sqlx::AssertSqlSafe(insert)).bind(company_id).bind(json(&entries)).execute(&mut *conn).await?;
        Ok(())
    }

    /// Replaces every stored entry of one owner's timeline.
    async fn replace(
        self,
        conn: &mut AnyConnection,
        company_id: i64,
        owner: i64,
        entries: &[(Option<Date>, i64)],
    ) -> Result<()> {
        let (table, owner_column, _) = self.names();
        let delete = format!("DELETE FROM {table} WHERE company_id = $1 AND {owner_column} = $2");
        sqlx::query(sqlx::AssertSqlSafe(delete)).bind(company_id).bind(owner).execute(&mut *conn).await?;
        for (from, value) in entries {
            self.insert(conn, company_id, owner, *from, *value).await?;
        }
        Ok(())
    }
}
