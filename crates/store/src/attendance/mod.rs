//! The embedded 勤革時 attendance module: 所属 (departments), 従業員 (employees) and the punches
//! (打刻) of 日別データ and the time card.
//!
//! What must stay true:
//! - department and live employee codes are unique per company; a deleted employee keeps its
//!   row, key and punches (`deleted_at_ms`), and is restored only while no live employee uses
//!   its code;
//! - the settings screens change the attendance tables only: ログイン記録's users follow on
//!   連携実行 ([`Store::sync_users`]), as the manual describes;
//! - a department's 日付変更時間 and an employee's 所属 are effective-dated ([`crate::history`]):
//!   a change holds from its effective business date, earlier days keep what held then, and the
//!   days it moves are derived again in the same transaction;
//! - the punches shown here are the pipeline's cache ([`crate::pipeline`]); a 手入力 punch is an
//!   input of it and survives every recomputation.
//!
//! Its parts: `masters` (所属設定, 従業員設定 and their imports), `timecards` (日別データ and the
//! time card), `work` (what the days add up to), `monthly` (月別データ), `manual` (手入力
//! punches) and `api` (the module as a KING OF TIME-shaped service: API tokens, its employee
//! list, the time records it receives).

use std::collections::BTreeMap;

use jiff::civil::Date;
use loginrec_rules::{DayChangeTime, PunchKind};
use rand::Rng;
use sqlx::Row;

mod api;
mod daily_order;
mod manual;
mod masters;
mod monthly;
mod timecards;
mod work;
pub(crate) mod work_months;

pub use work::{WorkOf, WorkSettings};
pub use work_months::AlertedMonth;

/// The embedded 勤革時 module's tables, reached from a [`Store`]: `store.attendance()`. What
/// ログイン記録 itself keeps (logs, links, administrators, jobs) stays on [`Store`].
#[derive(Clone, Copy)]
pub struct Attendance<'a> {
    store: &'a Store,
}

impl Store {
    pub fn attendance(&self) -> Attendance<'_> {
        Attendance { store: self }
    }
}

pub use api::{ApiDay, ApiEmployeeDay, ApiEmployeeMonth, ApiTimeRecord};
pub use monthly::{MonthlyFilter, MonthlyPage, MonthlyRow, agreement_year_start};

pub(crate) use crate::day_change::{day_change_minutes, minutes_to_day_change};
use crate::history::{Apply, TimelineTable};
use crate::pipeline::{Recomputed, Scope};
use crate::{Missing, Result, Store, StoreError, Taken, now_ms, parse_date};

/// The method of punches an administrator enters by hand.
pub const MANUAL_METHOD: &str = "手入力";

/// The 雇用区分 the 従業員設定 screen offers.
pub const EMPLOYMENT_TYPES: [&str; 4] = ["正社員", "契約社員", "パート", "アルバイト"];

/// A department as 所属設定 lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub day_change: DayChangeTime,
}

/// An employee as 従業員設定 lists it; `deleted_at_ms` is set for deleted ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employee {
    pub id: i64,
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
    pub department_name: String,
    pub employment_type: String,
    pub deleted_at_ms: Option<i64>,
}

impl Employee {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.last_name, self.first_name)
    }
}

/// What 従業員設定 creates or edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeeDetails {
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
    pub employment_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub day_change: DayChangeTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeeInput {
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
}

/// A punch as 日別データ shows it: method, then the instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PunchView {
    pub at_ms: i64,
    pub method: String,
}

impl PunchView {
    /// The method of a day's punch, if it has one, as `day_error` reads it.
    pub fn method_of(punch: Option<&PunchView>) -> Option<&str> {
        punch.map(|p| p.method.as_str())
    }
}

/// How 日別データ is ordered: by a column, then by employee code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DailyOrder {
    #[default]
    Code,
    Name,
    Department,
    /// Days without the punch come last, whichever the direction.
    ClockIn,
    ClockOut,
}

/// Which rows of 日別データ: one business day, optionally one department, one page.
#[derive(Clone, Debug)]
pub struct DailyFilter {
    pub date: Date,
    /// A department code; `None` (or empty, as the screen's すべて sends it) for all.
    pub department_code: Option<String>,
    pub order: DailyOrder,
    pub descending: bool,
    /// `None` for every row.
    pub limit: Option<i64>,
    /// Rows skipped before the page, when it has no cursor.
    pub offset: i64,
    /// Keyset paging: the rows after (or before) this one, read from an index without walking
    /// the rows before it, as an offset does.
    pub cursor: Option<DailyCursor>,
}

/// Where a page of 日別データ starts: the rows [`DailyCursor::After`] or [`DailyCursor::Before`]
/// the row with this key, in the filter's order; a page is always returned in that order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DailyCursor {
    After(DailyKey),
    Before(DailyKey),
}

/// A row's place in 日別データ's orders: what each sorts by ([`DailyRow::key`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DailyKey {
    pub code: String,
    pub last_name: String,
    pub first_name: String,
    pub department_code: String,
    /// The time of the punch the order is by (出勤 or 退勤), `None` without one.
    pub at_ms: Option<i64>,
}

impl DailyFilter {
    /// Every live employee's row of `date`, by code.
    pub fn all(date: Date) -> DailyFilter {
        DailyFilter {
            date,
            department_code: None,
            order: DailyOrder::Code,
            descending: false,
            limit: None,
            offset: 0,
            cursor: None,
        }
    }
}

/// One page of 日別データ and how many rows the filter matches in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyPage {
    pub rows: Vec<DailyRow>,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyRow {
    pub employee_id: i64,
    pub employee_code: String,
    pub last_name: String,
    pub first_name: String,
    pub full_name: String,
    pub department_code: String,
    pub department_name: String,
    pub employment_type: String,
    pub clock_in: Option<PunchView>,
    pub clock_out: Option<PunchView>,
}

impl DailyRow {
    /// The row's place in `order`, for a cursor that starts the next or the previous page.
    pub fn key(&self, order: DailyOrder) -> DailyKey {
        let punch = match order {
            DailyOrder::ClockIn => self.clock_in.as_ref(),
            DailyOrder::ClockOut => self.clock_out.as_ref(),
            _ => None,
        };
        DailyKey {
            code: self.employee_code.clone(),
            last_name: self.last_name.clone(),
            first_name: self.first_name.clone(),
            department_code: self.department_code.clone(),
            at_ms: punch.map(|p| p.at_ms),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimecardRow {
    pub employee_code: String,
    pub business_date: Date,
    pub clock_in: Option<PunchView>,
    pub clock_out: Option<PunchView>,
}

/// An employee with its department, over `employees e JOIN departments d`, as
/// [`employee_from_row`] reads it.
macro_rules! employee_columns {
    () => {
        "e.id, e.code, e.last_name, e.first_name, d.code AS department_code, d.name AS department_name, \
         e.employment_type, e.deleted_at_ms"
    };
}
pub(crate) use employee_columns;

/// Immutable employee keys, 32 hex digits each, in the order they are made: the time in
/// milliseconds, then a count within this run of keys, then random bits. An import's keys go to
/// the end of the key indexes instead of all over them: at 100 000 employees random keys made
/// PostgreSQL's insert of the employees 1.1 s instead of 0.75 s, and every later rewrite of
/// ログイン記録's users pays the same again.
pub(crate) struct EmployeeKeys {
    millis: u64,
    made: u32,
}

impl EmployeeKeys {
    pub(crate) fn new() -> EmployeeKeys {
        let millis = jiff::Timestamp::now().as_millisecond().max(0) as u64;
        EmployeeKeys { millis, made: 0 }
    }

    pub(crate) fn next_key(&mut self) -> String {
        let random: u64 = rand::rng().random::<u64>() & 0xffff_ffff_ffff;
        let key = format!("{:012x}{:08x}{random:012x}", self.millis & 0xffff_ffff_ffff, self.made);
        self.made = self.made.wrapping_add(1);
        key
    }
}

fn department_from_row(r: &sqlx::any::AnyRow) -> Result<Department> {
    Ok(Department {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        day_change: minutes_to_day_change(r.try_get("day_change_minutes")?)?,
    })
}

/// Reads the columns of `employee_columns!`.
impl Attendance<'_> {
    /// How many live employees the company has, in one department or (`None`) in all.
    async fn live_employee_count(&self, company_id: i64, department: Option<&str>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM employees e JOIN departments d ON d.id = e.department_id \
             WHERE e.company_id = $1 AND e.deleted_at_ms IS NULL AND ($2 IS NULL OR d.code = $2)",
        )
        .bind(company_id)
        .bind(department)
        .fetch_one(&self.store.pool)
        .await?)
    }
}

fn employee_from_row(r: &sqlx::any::AnyRow) -> Result<Employee> {
    Ok(Employee {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        last_name: r.try_get("last_name")?,
        first_name: r.try_get("first_name")?,
        department_code: r.try_get("department_code")?,
        department_name: r.try_get("department_name")?,
        employment_type: r.try_get("employment_type")?,
        deleted_at_ms: r.try_get("deleted_at_ms")?,
    })
}

async fn department_id(tx: &mut sqlx::Transaction<'static, sqlx::Any>, company_id: i64, code: &str) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE company_id = $1 AND code = $2")
        .bind(company_id)
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    id.ok_or_else(|| StoreError::NotFound(Missing::DepartmentCode(code.to_string())))
}

/// The live employee (other than `except`) that has this code.
async fn live_code_holder(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    company_id: i64,
    code: &str,
    except: Option<i64>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM employees WHERE company_id = $1 AND code = $2 AND deleted_at_ms IS NULL \
         AND ($3 IS NULL OR id <> $3)",
    )
    .bind(company_id)
    .bind(code)
    .bind(except)
    .fetch_optional(&mut **tx)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::EmployeeKeys;

    #[test]
    fn employee_keys_are_32_hex_digits_in_the_order_they_are_made() {
        let mut keys = EmployeeKeys::new();
        let made: Vec<String> = (0..1000).map(|_| keys.next_key()).collect();
        assert!(made.iter().all(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit())), "{made:?}");
        assert!(made.windows(2).all(|w| w[0] < w[1]), "{made:?}");
        let later = EmployeeKeys::new().next_key();
        assert!(later[..12] >= made[999][..12], "a later run starts no earlier: {later} after {}", made[999]);
    }
}
