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

use sqlx::Row;

use crate::{Result, Store, now_ms};

/// One row of 連携設定: 打刻先アカウント, 姓・名, サービスアカウント.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    pub employee_code: String,
    pub full_name: String,
    pub service_account: Option<String>,
}

fn link_row_from_row(r: &sqlx::any::AnyRow) -> Result<LinkRow> {
    Ok(LinkRow {
        employee_code: r.try_get("employee_code")?,
        full_name: r.try_get("full_name")?,
        service_account: r.try_get("service_account")?,
    })
}

struct UserState {
    code: String,
    name: String,
    removed: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncResult {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

impl Store {
    /// 連携実行: adds users for new employees (with no サービスアカウント yet), renames changed
    /// ones, marks removed those whose employee was deleted and brings back those whose employee
    /// was restored (counted as added). Their logs stay.
    pub async fn sync_users(&self, company_id: i64) -> Result<SyncResult> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let employees: BTreeMap<String, (String, String)> = sqlx::query(
            "SELECT employee_key, code, last_name, first_name FROM employees \
             WHERE company_id = $1 AND deleted_at_ms IS NULL",
        )
        .bind(company_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let last: String = r.try_get("last_name")?;
            let first: String = r.try_get("first_name")?;
            Ok((r.try_get("employee_key")?, (r.try_get("code")?, format!("{last} {first}"))))
        })
        .collect::<Result<_>>()?;
        let users: BTreeMap<String, UserState> = sqlx::query(
            "SELECT employee_key, employee_code, full_name, removed_at_ms FROM lr_users WHERE company_id = $1",
        )
        .bind(company_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let removed: Option<i64> = r.try_get("removed_at_ms")?;
            let user = UserState {
                code: r.try_get("employee_code")?,
                name: r.try_get("full_name")?,
                removed: removed.is_some(),
            };
            Ok((r.try_get("employee_key")?, user))
        })
        .collect::<Result<_>>()?;
        let mut result = SyncResult::default();
        for (key, (code, name)) in &employees {
            match users.get(key) {
                None => {
                    sqlx::query(
                        "INSERT INTO lr_users (company_id, employee_key, employee_code, full_name) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(company_id)
                    .bind(key)
                    .bind(code)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                    result.added += 1;
                }
                Some(user) if user.removed || (&user.code, &user.name) != (code, name) => {
                    sqlx::query(
                        "UPDATE lr_users SET employee_code = $1, full_name = $2, removed_at_ms = NULL \
                         WHERE company_id = $3 AND employee_key = $4",
                    )
                    .bind(code)
                    .bind(name)
                    .bind(company_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                    if user.removed {
                        result.added += 1;
                    } else {
                        result.updated += 1;
                    }
                }
                Some(_) => {}
            }
        }
        let now = now_ms();
        for (key, _) in users.iter().filter(|(k, u)| !u.removed && !employees.contains_key(*k)) {
            sqlx::query("UPDATE lr_users SET removed_at_ms = $1 WHERE company_id = $2 AND employee_key = $3")
                .bind(now)
                .bind(company_id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            result.removed += 1;
        }
        tx.commit().await?;
        Ok(result)
    }

    /// The 連携設定 table, by 打刻先アカウント.
    pub async fn link_rows(&self, company_id: i64) -> Result<Vec<LinkRow>> {
        let rows = sqlx::query(
            "SELECT employee_code, full_name, service_account FROM lr_users \
             WHERE company_id = $1 AND removed_at_ms IS NULL ORDER BY employee_code",
        )
        .bind(company_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(link_row_from_row).collect()
    }

    /// Sets the サービスアカウント of the listed users (by 打刻先アカウント) from now on, in one
    /// transaction; users not listed keep theirs. `None` unlinks. All or nothing. See
    /// [`Store::change_links`].
    pub async fn apply_links(&self, company_id: i64, links: &[(String, Option<String>)]) -> Result<usize> {
        Ok(self.change_links(company_id, links, None, crate::history::Apply::Commit).await?.updated)
    }
}
