//! ログイン記録's users (ユーザー設定) and their サービスアカウント links.
//!
//! The attendance system is the master: [`Store::sync_users`] (連携実行) makes this table
//! follow it, keyed on the employee's immutable key, never on the changeable code.
//!
//! What must stay true:
//! - a user whose employee is deleted is marked removed (`removed_at_ms`), never deleted: when
//!   the employee is restored, the next 連携実行 brings the user back with its サービスアカウント;
//! - removed users are invisible to 連携設定 ([`Store::link_rows`]) and to link imports
//!   ([`Store::apply_links`]); a link import that assigns a サービスアカウント a removed user still
//!   holds takes it from that removed user, from the import's effective moment on;
//! - `service_account` is the current link only: which employee a log belongs to is decided by
//!   the link history (`link_history`, [`crate::history`]), which keeps every past holder.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use crate::bulk::{json, json_rows, select_json};
use crate::{Backend, Result, Store, now_ms};

/// One row of 連携設定: 打刻先アカウント, 姓・名, サービスアカウント.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    pub employee_code: String,
    pub full_name: String,
    pub service_account: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncResult {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

/// Creates users, with no サービスアカウント, for employees that have none.
async fn add_users(conn: &mut AnyConnection, backend: Backend, company_id: i64, rows: &[UserRow<'_>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO lr_users (company_id, employee_key, employee_code, full_name) \
         SELECT $1, value->>0, value->>1, value->>2 FROM {} ORDER BY j.key",
        json_rows(backend, 2)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(json(rows)).execute(&mut *conn).await?;
    Ok(())
}

/// Gives users their employee's code and name, and brings back removed ones.
async fn update_users(conn: &mut AnyConnection, backend: Backend, company_id: i64, rows: &[UserRow<'_>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "WITH v AS MATERIALIZED (SELECT value->>0 AS k, value->>1 AS code, value->>2 AS name FROM {}) \
         UPDATE lr_users SET employee_code = v.code, full_name = v.name, removed_at_ms = NULL FROM v \
         WHERE lr_users.company_id = $1 AND lr_users.employee_key = v.k",
        json_rows(backend, 2)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(json(rows)).execute(&mut *conn).await?;
    Ok(())
}

/// Marks removed, from now, the users with these keys.
async fn remove_users(conn: &mut AnyConnection, backend: Backend, company_id: i64, keys: &[(&str,)]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE lr_users SET removed_at_ms = $2 WHERE company_id = $1 AND employee_key IN (SELECT value->>0 FROM {})",
        json_rows(backend, 3)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(company_id).bind(now_ms()).bind(json(keys)).execute(&mut *conn).await?;
    Ok(())
}

/// A user as 連携実行 compares it with its employee.
struct UserState {
    code: String,
    name: String,
    removed: bool,
}

/// The company's live employees by key: (code, full name as ログイン記録 shows it).
async fn live_employees(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
) -> Result<BTreeMap<String, (String, String)>> {
    let rows: Vec<(String, String, String, String)> = select_json(
        conn,
        backend,
        "employee_key, code, last_name, first_name",
        "FROM employees WHERE company_id = $1 AND deleted_at_ms IS NULL",
        company_id,
    )
    .await?;
    Ok(rows.into_iter().map(|(key, code, last, first)| (key, (code, format!("{last} {first}")))).collect())
}

/// Every user of the company, removed or not, by employee key.
async fn users(conn: &mut AnyConnection, backend: Backend, company_id: i64) -> Result<BTreeMap<String, UserState>> {
    let rows: Vec<(String, String, String, Option<i64>)> = select_json(
        conn,
        backend,
        "employee_key, employee_code, full_name, removed_at_ms",
        "FROM lr_users WHERE company_id = $1",
        company_id,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, code, name, removed)| (key, UserState { code, name, removed: removed.is_some() }))
        .collect())
}

/// A user as 連携実行 writes it: (employee key, code, full name).
type UserRow<'a> = (&'a str, &'a str, &'a str);

/// [`Store::sync_users`] inside the caller's transaction.
pub(crate) async fn sync_users_in(conn: &mut AnyConnection, backend: Backend, company_id: i64) -> Result<SyncResult> {
    let employees = live_employees(conn, backend, company_id).await?;
    let users = users(conn, backend, company_id).await?;
    let mut result = SyncResult::default();
    let (mut added, mut changed): (Vec<UserRow>, Vec<UserRow>) = (Vec::new(), Vec::new());
    for (key, (code, name)) in &employees {
        let row = (key.as_str(), code.as_str(), name.as_str());
        match users.get(key) {
            None => {
                added.push(row);
                result.added += 1;
            }
            Some(user) if user.removed || (&user.code, &user.name) != (code, name) => {
                changed.push(row);
                if user.removed {
                    result.added += 1;
                } else {
                    result.updated += 1;
                }
            }
            Some(_) => {}
        }
    }
    let removed: Vec<(&str,)> =
        users.iter().filter(|(k, u)| !u.removed && !employees.contains_key(*k)).map(|(k, _)| (k.as_str(),)).collect();
    result.removed = removed.len();
    add_users(conn, backend, company_id, &added).await?;
    update_users(conn, backend, company_id, &changed).await?;
    remove_users(conn, backend, company_id, &removed).await?;
    Ok(result)
}

impl Store {
    /// 連携実行: adds users for new employees (with no サービスアカウント yet), renames changed
    /// ones, marks removed those whose employee was deleted and brings back those whose employee
    /// was restored (counted as added). Their logs stay.
    pub async fn sync_users(&self, company_id: i64) -> Result<SyncResult> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let result = sync_users_in(&mut tx, self.backend, company_id).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// The 連携設定 table, by 打刻先アカウント.
    pub async fn link_rows(&self, company_id: i64) -> Result<Vec<LinkRow>> {
        let mut conn = self.pool.acquire().await?;
        // One JSON value rather than a row each: a company's users cross the driver at once.
        let mut rows: Vec<(String, String, Option<String>)> = select_json(
            &mut conn,
            self.backend,
            "employee_code, full_name, service_account",
            "FROM lr_users WHERE company_id = $1 AND removed_at_ms IS NULL",
            company_id,
        )
        .await?;
        // By code as bytes on both engines, whatever the server's collation.
        rows.sort_unstable();
        Ok(rows
            .into_iter()
            .map(|(employee_code, full_name, service_account)| LinkRow { employee_code, full_name, service_account })
            .collect())
    }

    /// Sets the サービスアカウント of the listed users (by 打刻先アカウント) from now on, in one
    /// transaction; users not listed keep theirs. `None` unlinks. All or nothing. See
    /// [`Store::change_links`].
    pub async fn apply_links(&self, company_id: i64, links: &[(String, Option<String>)]) -> Result<usize> {
        Ok(self.change_links(company_id, links, None, crate::history::Apply::Commit).await?.updated)
    }
}
