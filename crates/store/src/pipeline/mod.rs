//! The one punch pipeline: every path that changes an input of a punch calls [`rederive`].
//!
//! `punches(employee, business day) = resolve_day(logs, link history, department history,
//! 日付変更時間 history, API punches, 手入力 punches)`, and what the company's attendance system
//! holds is a cache of that function. What must stay true:
//! - **One derivation.** A change (a batch of logs, a link, a department's time, an employee's
//!   move, a manual or API punch, a rebuild) says which employee-days it may affect as a
//!   [`Scope`]; [`rederive`] reads the inputs of exactly those days, derives them with the pure
//!   rules of `loginrec-rules`, and writes only the cached punches that differ, in the caller's
//!   transaction. Storage decides no rule: which log belongs to whom and to which day, and which
//!   method wins, are answered by `holder_at`, `business_day_in` and `resolve_day`.
//! - **A cache that can be checked.** Deriving any scope from scratch yields what is stored when
//!   the cache is right, so `loginrec punches rebuild --dry-run` finds 0 differences.
//! - **Set-based.** A handful of statements per scope, whatever its size: the inputs are read
//!   with one query per kind (chunked), never one per day.
//! - **Serialised per employee.** On PostgreSQL each employee's days are derived under a
//!   transaction-scoped advisory lock taken in key order; master changes take the company's lock
//!   exclusively and ingests take it shared, so a log stored while a link moves is never derived
//!   against the old holder only. SQLite has one writer at a time.
//! - **One port.** What the company's attendance system holds, and how it takes a change, is
//!   asked of [`crate::port::AttendancePunches`]: the embedded module's `punches` table, or in
//!   remote mode the outbox, fed in the same transaction; a punch already sent is never sent
//!   again, and a later difference on it is reported instead.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use loginrec_rules::{
    DayInputs, DayLog, EmployeeSchedule, LinkInterval, LogKind, PunchKind, business_day_in, day_start,
};
use sqlx::AnyConnection;

pub(crate) mod changes;
pub(crate) mod context;
pub(crate) mod read;
mod scope;

pub use changes::{DayChange, Recomputed, SentDifference};
pub(crate) use context::CompanyContext;

pub(crate) use read::{
    DayRows, DayTable, Links, Schedules, department_timelines, links_of_accounts, links_of_holders, schedules,
};
use read::{employee_codes, links_of_employees, ts};
pub(crate) use scope::{DateRange, Scope};

use crate::bulk::{json, json_rows, select_json_given};
use crate::port::{AttendancePunches, Embedded, RemoteOutbox};
use crate::{Backend, Result};

/// Beyond every instant a log can have (jiff's range ends near ±3.2 × 10¹⁴ ms) and exact in a
/// JSON number: the bound of a link interval that never ends.
const OPEN_END_MS: i64 = 1 << 53;

/// Namespace of the advisory locks that serialise punch derivation per employee.
pub(crate) const PUNCH_LOCK_NAMESPACE: i64 = 1 << 56;
/// Namespace of the per-company lock: shared by ingests, exclusive for master changes.
pub(crate) const COMPANY_LOCK_NAMESPACE: i64 = 2 << 56;

/// Takes the company's lock: shared for ingests (they may run side by side), exclusive for a
/// change of masters (it must see every log stored before it, and no ingest may derive against
/// the masters it is replacing).
pub(crate) async fn lock_company(
    conn: &mut AnyConnection,
    backend: Backend,
    company_id: i64,
    exclusive: bool,
) -> Result<()> {
    if backend == Backend::Postgres {
        let sql =
            if exclusive { "SELECT pg_advisory_xact_lock($1)" } else { "SELECT pg_advisory_xact_lock_shared($1)" };
        sqlx::query(sql).bind(COMPANY_LOCK_NAMESPACE | company_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The scope of newly stored logs: each log's day, for the employee who held its account then;
/// with the inputs that placed them, for [`rederive_with`].
pub(crate) async fn scope_of_logs(
    conn: &mut AnyConnection,
    ctx: &CompanyContext,
    logs: &[(String, i64)],
) -> Result<(Scope, Known)> {
    let accounts: Vec<&str> = logs.iter().map(|(a, _)| a.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let holders_links = links_of_holders(conn, ctx.id, &accounts).await?;
    // Every interval of these accounts is there: their holders' whole histories were read.
    let mut links: BTreeMap<&str, Vec<LinkInterval<i64>>> = BTreeMap::new();
    for link in holders_links.values().flatten() {
        links.entry(link.account.as_str()).or_default().push(link.interval.clone());
    }
    let mut holders: Vec<(i64, Timestamp)> = Vec::new();
    for (account, ms) in logs {
        let Some(intervals) = links.get(account.as_str()) else { continue };
        let at = ts(*ms)?;
        if let Some(employee) = loginrec_rules::holder_at(intervals, at) {
            holders.push((*employee, at));
        }
    }
    let employees: Vec<i64> = holders.iter().map(|h| h.0).collect::<BTreeSet<_>>().into_iter().collect();
    let schedules = schedules(conn, ctx.id, &employees).await?;
    let mut scope = Scope::default();
    let mut seen = BTreeSet::new();
    for (employee, at) in holders {
        let schedule = schedules.get(&employee).cloned().unwrap_or_default();
        let day = business_day_in(at, &ctx.tz, &schedule);
        if seen.insert((employee, day)) {
            scope.add_day(employee, day);
        }
    }
    Ok((scope, Known { schedules: Some(schedules), links: Some(holders_links), ingest: false }))
}

/// Inputs of a scope that its caller has already read in this transaction: they change only
/// under the company's exclusive lock, which excludes the caller. Each covers at least the
/// scope's employees.
#[derive(Default)]
pub(crate) struct Known {
    pub schedules: Option<Schedules>,
    pub links: Option<Links>,
    /// The caller is an ingest: it derives once in its transaction, and counts the changes and
    /// shows none. The punches and months it expects new are inserted plainly, a savepoint each
    /// (see [`crate::new_rows`]; a transaction that derives many times would pile up
    /// subtransactions), and the changes are not named by employee code.
    pub ingest: bool,
}

/// Derives every employee-day of `scope` again from the stored inputs and writes the cached
/// punches that differ, inside the caller's transaction. Returns what changed.
pub(crate) async fn rederive(
    conn: &mut AnyConnection,
    backend: Backend,
    ctx: &CompanyContext,
    scope: &Scope,
) -> Result<Recomputed> {
    rederive_with(conn, backend, ctx, scope, Known::default()).await
}

/// [`rederive`], with what the caller has already read of the scope's inputs.
pub(crate) async fn rederive_with(
    conn: &mut AnyConnection,
    backend: Backend,
    ctx: &CompanyContext,
    scope: &Scope,
    known: Known,
) -> Result<Recomputed> {
    if scope.is_empty() {
        return Ok(Recomputed::default());
    }
    let employees = scope.employees();
    if backend == Backend::Postgres && !ctx.held_exclusively {
        // In key order, so that two transactions never wait for each other in a circle. Under
        // the company's exclusive lock no other transaction derives this company's punches, and
        // a lock per employee of a 100 000-employee change would exhaust the lock table.
        let keys: Vec<(i64,)> = employees.iter().map(|id| (PUNCH_LOCK_NAMESPACE | id,)).collect();
        let sql = format!(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT CAST(value->>0 AS BIGINT) AS k FROM {}) AS v ORDER BY k",
            json_rows(backend, 1)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json(&keys)).execute(&mut *conn).await?;
    }
    let schedules = match known.schedules {
        Some(known) => known,
        None => schedules(conn, ctx.id, &employees).await?,
    };
    let inputs: BTreeMap<(i64, Date), DayInputs> = scope_logs(conn, backend, ctx, scope, &schedules, known.links)
        .await?
        .into_iter()
        .map(|(key, logs)| (key, DayInputs { logs: logs.into_iter().map(|l| l.log).collect(), ..DayInputs::default() }))
        .collect();

    let read = DayRows::new(scope, ctx.id, backend)?;
    match ctx.remote_settle_minutes {
        None => {
            hold(conn, ctx, &schedules, &read, inputs, known.ingest, Embedded { plain_inserts: known.ingest }).await
        }
        Some(settle) => hold(conn, ctx, &schedules, &read, inputs, known.ingest, RemoteOutbox::new(settle)).await,
    }
}

/// API records of KING OF TIME's timerecord interface.
const API_TIMERECORDS: DayTable =
    DayTable { table: "api_timerecords", date_column: "date", kind_column: "code", note_column: None };
/// 手入力 punches.
const MANUAL_PUNCHES: DayTable =
    DayTable { table: "manual_punches", date_column: "business_date", kind_column: "kind", note_column: None };

/// A log of an employee-day, and whether it is a logon (else a logoff).
pub(crate) struct ScopeLog {
    pub log: DayLog,
    pub logon: bool,
}

/// The logs of each employee-day of the scope, read through the employees' link histories
/// (`known_links` when the caller has read them): a log counts for the employee who held its
/// account at its time, on the business day its time falls in by the employee's department at
/// that date.
pub(crate) async fn scope_logs(
    conn: &mut AnyConnection,
    backend: Backend,
    ctx: &CompanyContext,
    scope: &Scope,
    schedules: &Schedules,
    known_links: Option<Links>,
) -> Result<BTreeMap<(i64, Date), Vec<ScopeLog>>> {
    let links = match known_links {
        Some(links) => links,
        None => links_of_employees(conn, ctx.id, &scope.employees()).await?,
    };
    let merged = scope.merged();
    let no_schedule = EmployeeSchedule::default();

    // The accounts' event-time segments each employee-range reads its logs from.
    let mut segments: Vec<(i64, &str, i64, i64)> = Vec::new();
    for (employee, ranges) in &merged {
        let schedule = schedules.get(employee).unwrap_or(&no_schedule);
        for range in ranges {
            let start = range.from.map(|d| day_start(d, &ctx.tz, schedule));
            let end = range.to.and_then(|d| d.tomorrow().ok()).map(|d| day_start(d, &ctx.tz, schedule));
            for link in links.get(employee).into_iter().flatten() {
                let lo = max_opt(start, link.interval.from);
                let hi = min_opt(end, link.interval.to);
                if let (Some(lo), Some(hi)) = (lo, hi)
                    && lo >= hi
                {
                    continue;
                }
                // An open end is an instant beyond any log rather than NULL: the bounds stay an
                // index range over the logs' key `(company, account, event time, …)`.
                segments.push((
                    *employee,
                    link.account.as_str(),
                    lo.map(|t| t.as_millisecond()).unwrap_or(-OPEN_END_MS),
                    hi.map(|t| t.as_millisecond()).unwrap_or(OPEN_END_MS),
                ));
            }
        }
    }

    let mut logs: BTreeMap<(i64, Date), Vec<ScopeLog>> = BTreeMap::new();
    if !segments.is_empty() {
        // One JSON value back instead of a row per log: the driver hands rows over one by one.
        // The segments as JSON, not a `Listed` text: a list joined to a table (see `bulk::Listed`).
        let from = format!(
            "FROM (SELECT CAST(value->>0 AS BIGINT) AS employee_id, value->>1 AS account, \
             CAST(value->>2 AS BIGINT) AS lo, CAST(value->>3 AS BIGINT) AS hi FROM {}) AS v \
             CROSS JOIN logs l WHERE l.company_id = $1 \
             AND l.account = v.account AND l.event_at_ms >= v.lo AND l.event_at_ms < v.hi",
            json_rows(backend, 2)
        );
        let found: Vec<(i64, i64, String, String)> = select_json_given(
            conn,
            backend,
            "v.employee_id, l.event_at_ms, l.idem_key, l.kind",
            &from,
            ctx.id,
            json(&segments),
            &[],
        )
        .await?;
        for (employee, at_ms, key, kind) in found {
            let at = ts(at_ms)?;
            let day = business_day_in(at, &ctx.tz, schedules.get(&employee).unwrap_or(&no_schedule));
            if scope.contains(employee, day) {
                logs.entry((employee, day))
                    .or_default()
                    .push(ScopeLog { log: DayLog { at, key }, logon: LogKind::parse(&kind) == Some(LogKind::Logon) });
            }
        }
    }
    Ok(logs)
}

/// Adds the scope's API and 手入力 punches to the days' logs, compares what the company's
/// attendance system holds of the scope's days with what those inputs derive, and has it hold
/// the difference.
async fn hold(
    conn: &mut AnyConnection,
    ctx: &CompanyContext,
    schedules: &Schedules,
    read: &DayRows,
    mut inputs: BTreeMap<(i64, Date), DayInputs>,
    ingest: bool,
    mut system: impl AttendancePunches,
) -> Result<Recomputed> {
    let [api, manual, held] = read.read(conn, [&API_TIMERECORDS, &MANUAL_PUNCHES, system.held_table()]).await?;
    for r in api {
        // Codes 3 and 4 are breaks: they make no 出勤 / 退勤.
        match r.kind {
            Some(PunchKind::ClockIn) => inputs.entry(r.key).or_default().api_clock_ins.push(r.at),
            Some(PunchKind::ClockOut) => inputs.entry(r.key).or_default().api_clock_outs.push(r.at),
            None => {}
        }
    }
    for r in manual {
        let day = inputs.entry(r.key).or_default();
        match r.kind {
            Some(PunchKind::ClockIn) => day.manual.clock_in = Some(r.at),
            Some(PunchKind::ClockOut) => day.manual.clock_out = Some(r.at),
            None => {}
        }
    }
    let held = system.held(held)?;
    let days: BTreeSet<(i64, Date)> = inputs.keys().chain(held.keys()).copied().collect();
    let mut changes = Vec::new();
    for key in days {
        let after = system.takes(inputs.get(&key).map(loginrec_rules::resolve_day).unwrap_or_default());
        let before = held.get(&key).copied().unwrap_or_default();
        if before != after {
            changes.push(DayChange {
                employee_id: key.0,
                employee_code: String::new(),
                business_date: key.1,
                before,
                after,
            });
        }
    }
    // The remote service names employees by key; changes are named by code for those shown.
    let codes = if ingest && !system.names_employees_by_key() {
        BTreeMap::new()
    } else {
        employee_codes(conn, ctx.id, &changes).await?
    };
    let mut out = system.hold(conn, ctx, schedules, &codes, changes).await?;
    crate::attendance::work_months::mark_changed_days(
        conn,
        ctx.id,
        out.changes.iter().map(|c| (c.employee_id, c.business_date)),
        ingest,
    )
    .await?;
    for c in &mut out.changes {
        if let Some((code, _)) = codes.get(&c.employee_id) {
            c.employee_code = code.clone();
        }
    }
    for d in &out.sent_differences {
        tracing::warn!(
            company = ctx.id,
            employee_key = %d.employee_key,
            business_date = %d.business_date,
            kind = d.kind.label_ja(),
            "A punch already sent to the remote service now differs; it is not sent again (see punches rebuild)."
        );
    }
    Ok(out)
}

fn max_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
